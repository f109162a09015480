import { posix } from 'node:path';
import { sh, type SshHost } from '../hosts/ssh.js';
import type { TestbedSpec } from './spec.js';

/** A host's read-only view of a guest disk image on the NAS, as a plain file the agents can read. */
export interface NasView {
  path: string;
  /** The process serving the view (qemu-storage-daemon), when there is one: a CPU component of the run. */
  pid?: number;
  close(): Promise<void>;
}

/**
 * Opens the host's view of `relPath` (relative to the NAS export). In a lab the hosts mount the
 * export with kernel NFS at `nas.hostMountPath`; the local testbed has no kernel NFS client, so a
 * qemu-storage-daemon per view exposes the NFS image (libnfs, storage network) as a FUSE file.
 */
export async function openNasView(host: SshHost, testbed: TestbedSpec, relPath: string, dir: string): Promise<NasView> {
  if (testbed.nas.hostMountPath) {
    const path = posix.join(testbed.nas.hostMountPath, relPath);
    await host.exec(`test -r ${sh([path])}`).catch(() => {
      throw new Error(`${host.name}: NAS image ${path} is not readable — is the NAS export mounted at ${testbed.nas.hostMountPath}?`);
    });
    return { path, close: async () => undefined };
  }
  const mountpoint = posix.join(dir, 'nas-view.raw');
  const pidfile = posix.join(dir, 'nas-view.pid');
  const argv = [
    'qemu-storage-daemon',
    '--blockdev', JSON.stringify({ driver: 'nfs', 'node-name': 'nas', server: { type: 'inet', host: testbed.nas.server }, path: posix.join(testbed.nas.exportPath, relPath), 'read-only': true }),
    '--blockdev', JSON.stringify({ driver: 'raw', 'node-name': 'img', file: 'nas', 'read-only': true }),
    '--export', `type=fuse,id=view,node-name=img,mountpoint=${mountpoint},writable=off`,
    '--pidfile', pidfile, '--daemonize',
  ];
  await host.exec(`mkdir -p ${sh([dir])} && touch ${sh([mountpoint])} && ${sh(argv)}`, { timeoutMs: 30000 });
  const pid = Number((await host.exec(`cat ${sh([pidfile])}`)).stdout.trim());
  return {
    path: mountpoint,
    pid,
    close: async () => {
      await host.exec(
        `kill ${pid} 2>/dev/null; for i in $(seq 50); do kill -0 ${pid} 2>/dev/null || break; sleep 0.1; done; kill -9 ${pid} 2>/dev/null; ` +
        `umount ${sh([mountpoint])} 2>/dev/null; rm -f ${sh([mountpoint, pidfile])}`,
        { allowFail: true, timeoutMs: 15000 },
      ).catch(() => undefined);
    },
  };
}
