import { createInterface } from 'node:readline';
import { sh, type SshHost } from '../hosts/ssh.js';

/** How often the host sampler hands its held rows over (rows are still taken at 10 Hz). */
export const SAMPLER_FLUSH_MS = 5000;

/** A running host sampler: `stop()` ends it and resolves once its last rows were handed to `onRow`. */
export interface HostSamplerHandle {
  stop(): Promise<void>;
}

/**
 * Runs `pofbench host sample` (NIC counters, QEMU CPU at 10 Hz) on a host until stopped; its rows
 * arrive in bursts every SAMPLER_FLUSH_MS (the first at once) and at the end, so the sampling adds
 * no SSH traffic per tick during a migration. `hostPofbench`: the command that runs pofbench on
 * that host (the testbed's).
 */
export async function startHostSampler(
  host: SshHost,
  hostPofbench: string[],
  nics: string[],
  pid: number,
  onRow: (row: unknown) => void,
): Promise<HostSamplerHandle> {
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
    '--flush-ms',
    SAMPLER_FLUSH_MS,
  ]);
  const ch = await host.spawn(cmd);
  const lines = createInterface({ input: ch });
  const ended = new Promise<void>((resolve) => lines.once('close', resolve));
  lines.on('line', (line) => {
    try {
      onRow(JSON.parse(line));
    } catch {
      /* ignore partial lines */
    }
  });
  ch.stderr.resume();
  return {
    // the sampler writes its held rows when its stdin closes; a host gone silent does not hold the run
    stop: async () => {
      ch.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise<void>((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
    },
  };
}
