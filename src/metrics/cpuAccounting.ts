/**
 * Where the CPU went during a migration: snapshots of the processes of interest on every host
 * (and the controller) right before `migrate` and once the destination holds the whole state,
 * turned into record fields per component. Processes that exit at the end of the stream (the POF
 * agents) report their own migration CPU in their stats instead.
 */
import type { SshHost } from '../hosts/ssh.js';
import { errorMessage } from '../util/errors.js';
import {
  cpuBetween,
  localSnapshot,
  parseProcSnapshot,
  pidsNamed,
  procSnapshotCommand,
  processTree,
  TESTBED_DAEMON_NAMES,
  type ProcCpu,
  round2,
  sshdSessions,
  type ProcSnapshot,
} from './processCpu.js';

export type HostRole = 'src' | 'dst' | 'nas';
const HOST_ROLES: readonly HostRole[] = ['src', 'dst', 'nas'];

/** A process a run started whose CPU is a component of its own (a NAS view, an agent). */
export interface WatchedProcess {
  host: HostRole;
  role: string;
  pid: number;
}

export interface CpuSnapshots {
  hosts: Record<HostRole, ProcSnapshot>;
  controller: ProcSnapshot;
}

/** The pids a CPU snapshot reads per host: the watched processes and, on src and dst, the host sampler. */
export function pidsByRole(
  watched: WatchedProcess[],
  samplers: Partial<Record<'src' | 'dst', number>>,
): Record<HostRole, number[]> {
  const pids = (role: HostRole) => [
    ...watched.filter((w) => w.host === role).map((w) => w.pid),
    ...(role !== 'nas' && samplers[role] ? [samplers[role]!] : []),
  ];
  return { src: pids('src'), dst: pids('dst'), nas: pids('nas') };
}

/**
 * Reads every host's processes of interest (one exec each) and the controller's. The controller is
 * read on the window's side of the reads (`edge`: 'open' last, 'close' first), so the runner's own
 * work for the snapshot is not counted as the harness's load during the migration.
 */
export async function snapshotCpu(
  hosts: Record<HostRole, SshHost>,
  pids: Record<HostRole, number[]>,
  edge: 'open' | 'close',
): Promise<CpuSnapshots> {
  const closing = edge === 'close' ? localSnapshot() : undefined;
  const roles = HOST_ROLES;
  // a host that does not answer in time (an overloaded machine) costs its CPU fields, never the run
  const snaps = await Promise.all(
    roles.map((r) =>
      hosts[r].exec(procSnapshotCommand(pids[r]), { allowFail: true, timeoutMs: SNAPSHOT_TIMEOUT_MS }).then(
        (out): ProcSnapshot => parseProcSnapshot(out.stdout),
        (err): ProcSnapshot => ({ machine: '', procs: new Map(), unread: `${r} (${edge}): ${errorMessage(err)}` }),
      ),
    ),
  );
  return {
    hosts: Object.fromEntries(roles.map((r, i) => [r, snaps[i]])) as Record<HostRole, ProcSnapshot>,
    controller: closing ?? localSnapshot(),
  };
}

/** Longest wait for one host's CPU snapshot. */
const SNAPSHOT_TIMEOUT_MS = 10000;

export interface CpuComponents {
  /** per-role CPU seconds of the watched processes, e.g. `dst_nas_view_cpu_s` */
  roles: Record<string, number>;
  nfs_server_cpu_s?: number;
  /** the harness: the runner and its children, the host samplers, the SSH sessions serving it */
  harness_cpu_s?: number;
  /** its parts: the runner process tree on the controller, the host samplers, the sshd sessions */
  harness_runner_cpu_s?: number;
  harness_sampler_cpu_s?: number;
  harness_sshd_cpu_s?: number;
  /** the harness as a share of one core over the window (%) */
  harness_core_pct?: number;
  /** the host snapshots that could not be read, with why: the components that need them are left out */
  unread?: string;
}

/**
 * CPU seconds per component between two snapshot sets. A machine seen from several hosts (the
 * local testbed: one kernel) is counted once per process.
 */
export function cpuComponents(
  before: CpuSnapshots,
  after: CpuSnapshots,
  o: {
    watched: WatchedProcess[];
    samplers: Partial<Record<HostRole, number>>;
    controllerPid: number;
    windowMs: number;
  },
): CpuComponents {
  const read = (h: HostRole): boolean => !before.hosts[h].unread && !after.hosts[h].unread;
  const unread = HOST_ROLES.flatMap((h) => [before.hosts[h].unread, after.hosts[h].unread]).filter(Boolean);
  const roles: Record<string, number> = {};
  for (const w of o.watched) {
    if (!read(w.host)) continue;
    roles[`${w.role}_cpu_s`] = round2(
      (roles[`${w.role}_cpu_s`] ?? 0) + cpuBetween(before.hosts[w.host], after.hosts[w.host], [w.pid]),
    );
  }
  const nas = before.hosts.nas;
  const nfsPids = pidsNamed(nas, ['ganesha.nfsd', 'nfsd']);
  const nfs = nfsPids.length && read('nas') ? round2(cpuBetween(nas, after.hosts.nas, nfsPids)) : undefined;
  const measured = { roles, ...(nfs !== undefined ? { nfs_server_cpu_s: nfs } : {}) };
  // a host's samplers and sshd sessions cannot be counted: no harness figure rather than a low one
  if (unread.length) return { ...measured, unread: unread.join('; ') };

  // harness: counted once per (machine, pid)
  const counted = new Set<string>();
  const part = (b: ProcSnapshot, a: ProcSnapshot, pids: number[]): number => {
    const fresh = pids.filter((p) => !counted.has(`${a.machine}/${p}`));
    for (const p of fresh) counted.add(`${a.machine}/${p}`);
    return cpuBetween(b, a, fresh);
  };
  // the runner's tree without the testbed's daemons and the watched processes (a runner that brought
  // the local testbed up is their ancestor): those are counted as their roles and host parts
  const machine = after.controller.machine;
  const watchedHere = new Set(o.watched.filter((w) => after.hosts[w.host].machine === machine).map((w) => w.pid));
  const prune = (p: ProcCpu): boolean => watchedHere.has(p.pid) || TESTBED_DAEMON_NAMES.includes(p.comm);
  const ctlPids = [
    ...new Set([
      ...processTree(before.controller, o.controllerPid, prune),
      ...processTree(after.controller, o.controllerPid, prune),
    ]),
  ];
  const runner = part(before.controller, after.controller, ctlPids);
  let samplers = 0;
  let sshd = 0;
  for (const r of HOST_ROLES) {
    const sampler = o.samplers[r];
    if (sampler) samplers += part(before.hosts[r], after.hosts[r], [sampler]);
    sshd += part(before.hosts[r], after.hosts[r], sshdSessions(after.hosts[r]));
  }
  const harness = runner + samplers + sshd;
  return {
    ...measured,
    harness_cpu_s: round2(harness),
    harness_runner_cpu_s: round2(runner),
    harness_sampler_cpu_s: round2(samplers),
    harness_sshd_cpu_s: round2(sshd),
    ...(o.windowMs > 0 ? { harness_core_pct: Number(((100 * harness) / (o.windowMs / 1000)).toFixed(1)) } : {}),
  };
}
