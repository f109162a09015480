import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the pofbench checkout (works from src/ under tsc's dist/ too). */
export const projectRoot: string = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/util -> root, or src/util -> root
  const up = here.includes(`${'/dist/'}`) ? '../../..' : '../..';
  return resolve(here, up);
})();

/** Machine-wide state: built images, local testbed state, NAS export. Override with POFBENCH_HOME. */
export function pofbenchHome(): string {
  return process.env.POFBENCH_HOME ?? '/var/lib/pofbench';
}

export const imagesDir = (): string => join(pofbenchHome(), 'images');
export const testbedStateDir = (): string => join(pofbenchHome(), 'testbed');

/** How a host invokes the pofbench CLI (host-side helpers, agents). */
export function pofbenchCommand(): string[] {
  return [process.execPath, join(projectRoot, 'dist', 'src', 'cli', 'main.js')];
}

/**
 * Node flags of the pofbench processes that run through a migration (the runner via bin/pofbench,
 * the host sampler and the agents via the testbed's host command): no V8 memory reducer, whose
 * idle-time full collections otherwise land in the measured window (see bin/pofbench).
 */
export const POFBENCH_NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];

/** The host command of hosts that see the controller's filesystem (the local testbed). */
export function controllerHostCommand(): string[] {
  const [node, main] = pofbenchCommand();
  return [node, ...POFBENCH_NODE_FLAGS, main];
}
