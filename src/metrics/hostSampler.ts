import type { ClientChannel } from 'ssh2';
import { createInterface } from 'node:readline';
import { sh, type SshHost } from '../hosts/ssh.js';

/**
 * Streams `pofbench host sample` (NIC counters, QEMU CPU at 10 Hz) from a host, a row at a time,
 * until ended. `hostPofbench`: the command that runs pofbench on that host (the testbed's).
 */
export async function startHostSampler(
  host: SshHost,
  hostPofbench: string[],
  nics: string[],
  pid: number,
  onRow: (row: unknown) => void,
): Promise<ClientChannel> {
  const cmd = sh([
    ...hostPofbench,
    'host',
    'sample',
    ...nics.flatMap((n) => ['--nic', n]),
    '--pid',
    pid,
    '--interval-ms',
    100,
    '--max-seconds',
    7200,
  ]);
  const ch = await host.spawn(cmd);
  createInterface({ input: ch }).on('line', (line) => {
    try {
      onRow(JSON.parse(line));
    } catch {
      /* ignore partial lines */
    }
  });
  ch.stderr.resume();
  return ch;
}
