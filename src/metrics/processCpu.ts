/**
 * CPU seconds per process, read from /proc in one exec per host (and locally on the controller),
 * so a run can say where the CPU went during the migration: each QEMU, each agent, the NAS access
 * path, the NFS server and the harness itself. Parsing and arithmetic are pure; the callers do I/O.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { statFieldsAfterComm } from '../util/procStat.js';

export interface ProcCpu {
  pid: number;
  ppid: number;
  comm: string;
  cpuS: number;
}

/** One host's processes of interest at one moment; `machine` tells hosts on one kernel apart (boot id). */
export interface ProcSnapshot {
  machine: string;
  procs: Map<number, ProcCpu>;
  /** why the host could not be read (its components are then left out, never counted as 0) */
  unread?: string;
}

/** Process names whose CPU is read on every host: NFS servers and sshd (the harness's sessions). */
export const WATCHED_NAMES = ['ganesha.nfsd', 'nfsd', 'sshd'] as const;

/** The shell command printing the boot id, then the stat line of each pid and of each process named `names`. */
export function procSnapshotCommand(pids: readonly number[], names: readonly string[] = WATCHED_NAMES): string {
  const ids = pids.filter((p) => Number.isInteger(p) && p > 0).join(' ');
  const found = names.map((n) => `$(pgrep -x ${n.replace(/[^A-Za-z0-9_.-]/g, '')} 2>/dev/null)`).join(' ');
  return `cat /proc/sys/kernel/random/boot_id; for p in ${ids} ${found}; do cat /proc/$p/stat 2>/dev/null; done; true`;
}

/** One /proc/<pid>/stat line → pid, parent, name, user+system CPU seconds (USER_HZ = 100). */
export function parseStatLine(line: string): ProcCpu | undefined {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = statFieldsAfterComm(line);
  const pid = Number(line.slice(0, open).trim());
  const cpuS = (Number(f[11]) + Number(f[12])) / 100;
  if (!Number.isInteger(pid) || !Number.isFinite(cpuS)) return undefined;
  return { pid, ppid: Number(f[1]), comm: line.slice(open + 1, close), cpuS };
}

export function parseProcSnapshot(out: string): ProcSnapshot {
  const [machine = '', ...lines] = out.split('\n');
  const procs = new Map<number, ProcCpu>();
  for (const l of lines) {
    const p = parseStatLine(l);
    if (p) procs.set(p.pid, p);
  }
  return { machine: machine.trim(), procs };
}

/** Every process of this machine (the controller's own view), for the runner's process tree. */
export function localSnapshot(): ProcSnapshot {
  const procs = new Map<number, ProcCpu>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const p = parseStatLine(readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (p) procs.set(p.pid, p);
    } catch {
      /* ended meanwhile */
    }
  }
  let machine = '';
  try {
    machine = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    /* not Linux */
  }
  return { machine, procs };
}

/**
 * Daemons a testbed starts to play a host's role (an sshd per host, the NAS's NFS server): when the
 * runner brought the local testbed up itself they are its descendants, but not the harness.
 */
export const TESTBED_DAEMON_NAMES: readonly string[] = [...WATCHED_NAMES, 'rpcbind'];

/** `root` and all its descendants in a snapshot, except the subtrees of processes `prune` picks. */
export function processTree(s: ProcSnapshot, root: number, prune?: (p: ProcCpu) => boolean): number[] {
  const children = new Map<number, ProcCpu[]>();
  for (const p of s.procs.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) if (!prune?.(c)) walk(c.pid);
  };
  if (s.procs.has(root)) walk(root);
  return out;
}

/** sshd processes serving a connection (their parent is an sshd too): the harness's SSH sessions. */
export function sshdSessions(s: ProcSnapshot): number[] {
  return [...s.procs.values()]
    .filter((p) => p.comm === 'sshd' && s.procs.get(p.ppid)?.comm === 'sshd')
    .map((p) => p.pid);
}

export function pidsNamed(s: ProcSnapshot, names: readonly string[]): number[] {
  return [...s.procs.values()].filter((p) => names.includes(p.comm)).map((p) => p.pid);
}

/**
 * CPU seconds the given processes used between two snapshots: each process in both counts its
 * difference. One that started in between is left out (its start-up is not the window's work; the
 * callers snapshot the processes they care about first), one that ended in between is lost (the
 * POF agents report their own migration CPU instead).
 */
export function cpuBetween(before: ProcSnapshot, after: ProcSnapshot, pids: Iterable<number>): number {
  let sum = 0;
  for (const pid of new Set(pids)) {
    const b = before.procs.get(pid);
    const a = after.procs.get(pid);
    if (a && b && b.comm === a.comm) sum += a.cpuS - b.cpuS;
  }
  return Math.max(0, sum);
}

export const round2 = (x: number): number => Number(x.toFixed(2));
