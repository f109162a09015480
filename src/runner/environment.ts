import { release } from 'node:os';
import { destinationRamOf, sourceRamOf, type TestbedSpec } from '../testbed/spec.js';
import type { SshHost } from '../hosts/ssh.js';

/** `environment.json` of a run directory: what the run ran on, next to the exact scenario. */
export interface RunEnvironment {
  qemu_version?: string;
  /** `uname -r` of the controller (this machine) and of the source and destination hosts. */
  kernel: { controller: string; src?: string; dst?: string };
  testbed: string;
  accel: string;
  /** How the source QEMU backed the guest's RAM (TestbedSpec.sourceRam). */
  source_ram: string;
  /** How the destination QEMU backed the guest's RAM (TestbedSpec.destinationRam). */
  destination_ram: string;
  src_host: string;
  dst_host: string;
  pofbench_rev: string;
  node_version: string;
}

async function hostKernel(host: SshHost): Promise<string | undefined> {
  try {
    const r = await host.exec('uname -r', { allowFail: true, timeoutMs: 5000 });
    return r.code === 0 ? r.stdout.trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}

/** Gathers the environment (host kernels over SSH; a host that does not answer is left out). */
export async function collectEnvironment(
  testbed: TestbedSpec,
  hosts: { src: SshHost; dst: SshHost },
  pofbenchRev: string,
): Promise<RunEnvironment> {
  const [src, dst] = await Promise.all([hostKernel(hosts.src), hostKernel(hosts.dst)]);
  return {
    kernel: { controller: release(), src, dst },
    testbed: testbed.kind,
    accel: testbed.accel,
    source_ram: sourceRamOf(testbed),
    destination_ram: destinationRamOf(testbed),
    src_host: testbed.hosts.src.name,
    dst_host: testbed.hosts.dst.name,
    pofbench_rev: pofbenchRev,
    node_version: process.version,
  };
}
