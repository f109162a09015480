import { posix } from 'node:path';
import { sh } from '../hosts/ssh.js';
import type { SshHost } from '../hosts/ssh.js';
import type { TestbedSpec } from './spec.js';
import type { GuestImage } from '../image/build.js';

/**
 * A fresh copy of the image's data disk on the NAS for one run (`runs/<id>/data.raw`); the local
 * testbed also provisions the image itself on first use. Returns the NFS path and a remover.
 */
export async function prepareNasDisk(
  nas: SshHost,
  testbed: TestbedSpec,
  image: GuestImage,
  id: string,
): Promise<{ nfsPath: string; remove: () => Promise<void> }> {
  const nasBase = posix.join(testbed.nas.localPath, 'images', image.id, 'data.raw');
  const nasRunDir = posix.join(testbed.nas.localPath, 'runs', id);
  const baseReady = (await nas.exec(`test -f ${sh([nasBase])}`, { allowFail: true })).code === 0;
  if (!baseReady) {
    if (testbed.kind !== 'local')
      throw new Error(`nas: ${nasBase} is missing — provision the guest image to the NAS first`);
    // a part file per run: runs on other host pairs may provision the same image at the same time
    const part = `${nasBase}.part-${id}`;
    await nas.exec(
      `mkdir -p ${sh([posix.dirname(nasBase)])} && cp --sparse=always ${sh([image.dataDisk, part])} && ` +
        `mv ${sh([part, nasBase])}`,
      { timeoutMs: 300000 },
    );
  }
  const remove = async () => {
    await nas.exec(`rm -rf ${sh([nasRunDir])}`, { allowFail: true });
  };
  await nas.exec(`mkdir -p ${sh([nasRunDir])} && cp --sparse=always ${sh([nasBase, `${nasRunDir}/data.raw`])}`, {
    timeoutMs: 300000,
  });
  return { nfsPath: posix.join(testbed.nas.exportPath, 'runs', id, 'data.raw'), remove };
}
