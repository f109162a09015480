import { join } from 'node:path';
import { pofbenchHome } from '../../util/paths.js';
import type { LocalHost } from './topology.js';

/** Where the local testbed keeps its state (keys, configs, pid files, logs) and the NAS export. */
export function localPaths() {
  const root = join(pofbenchHome(), 'testbed');
  return {
    root,
    specFile: join(root, 'testbed.json'),
    knownHosts: join(root, 'known_hosts'),
    clientKey: join(root, 'ssh', 'id_ed25519'),
    authorizedKeys: join(root, 'ssh', 'authorized_keys'),
    /** One directory per host (`src`, `dst`, `src2`, ..., `nas`): host key, sshd config, pid files, logs. */
    hostDir: (h: LocalHost) => join(root, h),
    nasExport: join(pofbenchHome(), 'nas', 'export'),
    hostRunDir: '/run/pofbench',
  };
}
