import { posix } from 'node:path';
import { sh } from '../hosts/ssh.js';
import type { RemoteVm } from './vm.js';

const MiB = 1024 * 1024;

/**
 * Dumps guest RAM on both hosts (`pmemsave`, guest-physical 0..memory) and compares SHA-256 sums.
 * Below 3 GiB an i440fx guest's RAM is one range starting at 0. The source must have handed the
 * guest over (postmigrate) and the destination hold the complete state (paused).
 */
export async function compareRam(
  src: RemoteVm,
  dst: RemoteVm,
  memoryMib: number,
  hostRunDir: string,
): Promise<{ identical: boolean; ms: number }> {
  if (memoryMib > 3072)
    throw new Error('--verify-ram supports guests up to 3072 MiB (one RAM range below the PCI hole)');
  const t0 = Date.now();
  const srcState = await src.status();
  if (srcState !== 'postmigrate')
    throw new Error(`--verify-ram: the source VM is "${srcState}" after a completed migration (expected postmigrate)`);
  const sums: string[] = [];
  for (const [vm, name] of [
    [src, 'src'],
    [dst, 'dst'],
  ] as const) {
    // /run on a host can be a small tmpfs: dumps go to /var/tmp and are always removed
    const file = `/var/tmp/pofbench-ram-${posix.basename(hostRunDir)}-${name}.bin`;
    try {
      await vm.qmp.execute('pmemsave', { val: 0, size: memoryMib * MiB, filename: file });
      const r = await vm.host.exec(`sha256sum ${sh([file])}`, { timeoutMs: 120000 });
      sums.push(r.stdout.split(' ')[0]);
    } finally {
      if (!process.env.POFBENCH_KEEP_RAM_DUMPS) await vm.host.exec(`rm -f ${sh([file])}`, { allowFail: true });
    }
  }
  return { identical: sums[0] === sums[1] && /^[0-9a-f]{64}$/.test(sums[0]), ms: Date.now() - t0 };
}
