/**
 * What fault injectors act with: the point in the stream a fault lands at (a share of the guest's
 * RAM sent), and the testbed's agents, NICs and NAS daemon.
 */
import { posix } from 'node:path';
import type { MigratingContext } from '../runner/migrationRun.js';
import { sh, type SshHost } from '../hosts/ssh.js';
import { localPaths } from '../testbed/local/localTestbed.js';
import { sleep } from '../util/exec.js';
import { awaitShareSent, type StreamPoint } from '../qemu/migration.js';

export type { StreamPoint };

const MiB = 1024 * 1024;

/**
 * Waits until the source has sent at least `share` of the guest's RAM with the migration active (the
 * one migrate procedure's wait, src/qemu/migration.ts); throws when the migration ends first.
 */
export const midStream = (m: MigratingContext, share = 0.25): Promise<StreamPoint> => awaitShareSent(m.src.qmp, share);

export const describePoint = (p: StreamPoint) =>
  `at ${(p.sentBytes / MiB).toFixed(0)} of ${(p.ramBytes / MiB).toFixed(0)} MiB RAM sent`;

export function agent(m: MigratingContext, role: 'source' | 'target') {
  if (!m.strategy.agentProcesses) throw new Error(`agent faults need a strategy with agents (not ${m.strategy.name})`);
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
