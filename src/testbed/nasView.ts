import { posix } from 'node:path';
import { sh, type SshHost } from '../hosts/ssh.js';
import type { TestbedSpec } from './spec.js';

/**
 * How an agent on `host` names the guest disk image `relPath` (relative to the NAS export), as its
 * `--nas-image`. In a lab the hosts mount the export with kernel NFS at `nas.hostMountPath`: a
 * plain path, checked to be readable. Without a kernel NFS client (the local testbed) the agents
 * read it with their own NFSv3 client over the storage network: `nfs://SERVER/EXPORT/PATH`. (An
 * earlier qemu-storage-daemon FUSE view of the image cost ~2.4 core-seconds per GB read.)
 */
export async function nasImageSpec(host: SshHost, testbed: TestbedSpec, relPath: string): Promise<string> {
  if (testbed.nas.hostMountPath) {
    const path = posix.join(testbed.nas.hostMountPath, relPath);
    await host.exec(`test -r ${sh([path])}`).catch(() => {
      throw new Error(
        `${host.name}: NAS image ${path} is not readable — is the NAS export mounted at ${testbed.nas.hostMountPath}?`,
      );
    });
    return path;
  }
  return `nfs://${testbed.nas.server}${posix.join(testbed.nas.exportPath, relPath)}`;
}
