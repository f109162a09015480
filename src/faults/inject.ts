/**
 * What fault injectors act with: the point in the stream a fault lands at (a share of the guest's
 * RAM sent), and the testbed's agents, NICs and NAS daemon.
 */
import { posix } from 'node:path';
import type { MigratingContext } from '../runner/migrationRun.js';
import { PofStrategy } from '../strategy/pof.js';
import { sh, type SshHost } from '../hosts/ssh.js';
import { localPaths } from '../testbed/local/localTestbed.js';
import { sleep } from '../util/exec.js';

const MiB = 1024 * 1024;

/** Where in the stream a fault landed. */
export interface StreamPoint {
  sentBytes: number;
  ramBytes: number;
  ms: number;
}

/**
 * Waits until the source has sent at least `share` of the guest's RAM with the migration active,
 * and says how far it got. Throws (the fault is then not injected, and the row says so) when the
 * migration ends first: a fault that lands at 0 bytes or after the end proves nothing.
 */
export async function midStream(m: MigratingContext, share = 0.25): Promise<StreamPoint> {
  const t0 = Date.now();
  for (;;) {
    const info = await m.src.qmp.execute<{ status: string; ram?: { transferred: number; total: number } }>(
      'query-migrate',
    );
    const sent = info.ram?.transferred ?? 0;
    const total = info.ram?.total ?? 0;
    if (info.status === 'active' && total > 0 && sent >= share * total)
      return { sentBytes: sent, ramBytes: total, ms: Date.now() - t0 };
    if (['completed', 'failed', 'cancelled'].includes(info.status))
      throw new Error(
        `fault not injected: the migration was ${info.status} at ${(sent / MiB).toFixed(0)} MiB sent, before ` +
          `${Math.round(share * 100)} % of RAM`,
      );
    await sleep(50);
  }
}

export const describePoint = (p: StreamPoint) =>
  `at ${(p.sentBytes / MiB).toFixed(0)} of ${(p.ramBytes / MiB).toFixed(0)} MiB RAM sent`;

export function agent(m: MigratingContext, role: 'source' | 'target') {
  if (!(m.strategy instanceof PofStrategy)) throw new Error('agent faults need the pof strategy');
  const a = m.strategy.agentProcesses().find((p) => p.role === role);
  if (!a) throw new Error(`no ${role} agent running`);
  return a;
}

export function nicOf(m: MigratingContext, link: 'migration' | 'storage'): string {
  const nic = m.testbed.hosts.src.nics[link];
  if (!nic) throw new Error(`testbed: src has no ${link} NIC`);
  return nic;
}

/** Takes a NIC of the source host down for `downMs`, then up again (also when interrupted). */
export async function nicDown(host: SshHost, nic: string, downMs: number): Promise<void> {
  await host.exec(`ip link set ${sh([nic])} down`);
  try {
    await sleep(downMs);
  } finally {
    await host.exec(`ip link set ${sh([nic])} up`);
  }
}

/** Stops the NAS (SIGSTOP nfs-ganesha: it hangs, every NFS call waits) for `ms`, then resumes it. */
export async function nasHung(m: MigratingContext, ms: number): Promise<void> {
  const pidFile = sh([posix.join(localPaths().hostDir('nas'), 'ganesha.pid')]);
  await m.hosts.nas.exec(`kill -STOP $(cat ${pidFile})`);
  try {
    await sleep(ms);
  } finally {
    await m.hosts.nas.exec(`kill -CONT $(cat ${pidFile})`);
  }
}
