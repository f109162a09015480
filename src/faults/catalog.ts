/**
 * The faults `pofbench faults` injects on the local testbed while a migration runs. Each says what
 * must happen — `fail` (the migration fails cleanly: record failed with the stated reason, source VM
 * still running unless the fault killed it), `complete-or-fail` (completes with byte-identical RAM,
 * or fails with the stated reason), `complete` — and lands once a share of the guest's RAM was sent.
 */
import { posix } from 'node:path';
import type { MigratingContext } from '../runner/migrationRun.js';
import { sh } from '../hosts/ssh.js';
import type { StrategyName } from '../scenario/types.js';
import { sleep } from '../util/exec.js';
import { agent, nasHung, nicDown, nicOf } from './inject.js';

export type Expectation = 'fail' | 'complete-or-fail' | 'complete';

export interface MigrationFault {
  name: string;
  description: string;
  strategies: StrategyName[];
  expect: Expectation;
  /** What a failed run's error (in its run.json) must say: the fault, not any failure, ended it. */
  reason?: RegExp;
  /** The source VM after a failed run: running (default), gone (the fault killed it), any (cannot be known). */
  srcAfter?: 'running' | 'gone' | 'any';
  /** Extra check on a completed run (e.g. the fallback was used). */
  checkCompleted?: (record: Record<string, unknown>) => string | undefined;
  timeoutS?: number;
  /** Link cap for this fault (slower migration = a wider window to inject into). */
  linkCapMbit?: number;
  /** Runs in the session (the fault goes into the first only; every later one must complete). Default 1. */
  runs?: number;
  /** Share of the guest's RAM sent before the fault lands (default 0.25). */
  atRamShare?: number;
  /** Before the wait for the stream point (e.g. what to corrupt); its result goes to `act`. */
  prepare?: (m: MigratingContext) => Promise<unknown>;
  /** The fault itself; says what it did. */
  act(m: MigratingContext, prepared: unknown): Promise<string>;
}

/** The run failed in the migration itself (not at boot, not in set-up). */
const IN_MIGRATION = /^migration (failed|did not complete)|^destination: incoming migration failed/;
/** A deadline long enough for an injected hang to outlast: the fault holds past it. */
const HELD_TIMEOUT_S = 12;
const heldMs = (timeoutS: number) => (timeoutS + 4) * 1000;

const killAgent = (role: 'source' | 'target'): MigrationFault => ({
  name: `kill-${role}-agent`,
  description: `SIGKILL the ${role} agent mid-migration`,
  strategies: ['pof'],
  expect: 'fail',
  reason: IN_MIGRATION,
  async act(m) {
    const a = agent(m, role);
    await a.host.exec(`kill -9 ${a.pid}`);
    return `killed the ${role} agent (pid ${a.pid})`;
  },
});

const flaps = (n: number, downMs: number, upMs: number): MigrationFault => ({
  name: n === 1 ? `link-flap-${downMs / 1000}s` : `link-flap-${n}x`,
  description:
    n === 1
      ? `migration link down for ${downMs / 1000} s mid-migration`
      : `migration link down ${n} times (${downMs / 1000} s down, ${upMs / 1000} s up)`,
  strategies: ['stock', 'pof'],
  expect: 'complete-or-fail',
  reason: IN_MIGRATION,
  async act(m) {
    const nic = nicOf(m, 'migration');
    for (let i = 0; i < n; i++) {
      if (i) await sleep(upMs);
      await nicDown(m.hosts.src, nic, downMs);
    }
    return `${nic} down ${n}× ${downMs} ms`;
  },
});

export const FAULTS: MigrationFault[] = [
  killAgent('source'),
  killAgent('target'),
  {
    name: 'kill-dst-qemu',
    description: 'SIGKILL the destination QEMU mid-migration',
    strategies: ['stock', 'pof'],
    expect: 'fail',
    reason: /QEMU on \S+ exited/,
    async act(m) {
      await m.hosts.dst.exec(`kill -9 ${m.dst.pid}`);
      return `killed dst QEMU (pid ${m.dst.pid})`;
    },
  },
  {
    name: 'kill-src-qemu',
    description: 'SIGKILL the source QEMU mid-migration (the guest is lost: the run fails, nothing is left)',
    strategies: ['stock', 'pof'],
    expect: 'fail',
    srcAfter: 'gone',
    reason: /QMP|closed|ECONNRESET|EPIPE/i,
    async act(m) {
      await m.hosts.src.exec(`kill -9 ${m.src.pid}`);
      return `killed src QEMU (pid ${m.src.pid})`;
    },
  },
  {
    name: 'nas-stall-3s',
    description: 'stop the NAS (SIGSTOP nfs-ganesha) for 3 s mid-migration, then resume it',
    strategies: ['pof'],
    expect: 'complete-or-fail',
    reason: IN_MIGRATION,
    async act(m) {
      await nasHung(m, 3000);
      return 'NAS hung 3 s';
    },
  },
  {
    name: 'nas-down',
    description: 'NAS hung for good (SIGSTOP nfs-ganesha past the run timeout): pof degrades or fails cleanly',
    strategies: ['pof'],
    expect: 'complete-or-fail',
    reason: IN_MIGRATION,
    timeoutS: HELD_TIMEOUT_S,
    async act(m) {
      await nasHung(m, heldMs(HELD_TIMEOUT_S));
      return `NAS hung ${heldMs(HELD_TIMEOUT_S) / 1000} s (past the ${HELD_TIMEOUT_S} s timeout)`;
    },
  },
  {
    name: 'storage-link-cut',
    description: "source's storage link down for good (past the run timeout): guest disk and NAS reads cut",
    strategies: ['stock', 'pof'],
    expect: 'complete-or-fail',
    reason: IN_MIGRATION,
    timeoutS: HELD_TIMEOUT_S,
    async act(m) {
      const nic = nicOf(m, 'storage');
      await nicDown(m.hosts.src, nic, heldMs(HELD_TIMEOUT_S));
      return `${nic} down ${heldMs(HELD_TIMEOUT_S) / 1000} s`;
    },
  },
  flaps(1, 2000, 0),
  flaps(5, 1000, 1000),
  {
    name: 'link-down',
    description: 'migration link down for good (past the run timeout)',
    strategies: ['stock', 'pof'],
    expect: 'fail',
    reason: IN_MIGRATION,
    timeoutS: HELD_TIMEOUT_S,
    async act(m) {
      const nic = nicOf(m, 'migration');
      await nicDown(m.hosts.src, nic, heldMs(HELD_TIMEOUT_S));
      return `${nic} down ${heldMs(HELD_TIMEOUT_S) / 1000} s`;
    },
  },
  {
    name: 'ssh-drop',
    description: "the runner's SSH connection to the source host dropped mid-run (its sshd session killed)",
    strategies: ['stock'],
    expect: 'fail',
    srcAfter: 'any',
    runs: 2,
    reason: /closed|Not connected|ECONNRESET|exit -1|QMP/i,
    async act(m) {
      // the shell's parent is the sshd process serving this connection: the whole connection drops
      await m.hosts.src.exec('kill -9 $PPID', { allowFail: true }).catch(() => undefined);
      return `dropped the SSH connection to ${m.hosts.src.name}`;
    },
  },
  {
    name: 'nas-block-changed',
    description:
      'referenced NAS blocks change between reference and fetch (every 64th block of the dataset files rewritten on ' +
      'the NAS)',
    strategies: ['pof'],
    expect: 'complete',
    linkCapMbit: 300,
    atRamShare: 0.02,
    checkCompleted: (r) =>
      Number(r.pof_verify_mismatches) > 0 && r.pof_verify_mismatches === r.pof_fallback_pages
        ? undefined
        : `expected verify mismatches served from the source's window, got ${r.pof_verify_mismatches} mismatches / ` +
          `${r.pof_fallback_pages} fallbacks`,
    prepare: datasetBlocks,
    async act(m, blocks) {
      const list = blocks as string[];
      // overwrite them with random bytes (in place, same size)
      const script =
        `for b in ${list.join(' ')}; do dd if=/dev/urandom of=${runImage(m)} bs=4096 seek=$b count=1 ` +
        `conv=notrunc status=none 2>/dev/null || break; done`;
      await m.hosts.nas.exec(script, { timeoutMs: 60000 });
      return `${list.length} dataset blocks rewritten`;
    },
  },
];

const runImage = (m: MigratingContext) => sh([posix.join(m.testbed.nas.localPath, 'runs', m.runId, 'data.raw')]);

/**
 * Every 64th block of the dataset files in the run's disk image on the NAS. Only the dataset (the page
 * cache pof references): rewriting ext4 metadata or the journal under a running guest breaks the guest
 * itself (it was seen to reset on the destination), which is not what the fault is about.
 */
async function datasetBlocks(m: MigratingContext): Promise<string[]> {
  const img = runImage(m);
  const list =
    `for f in $(debugfs -R 'ls /dataset' ${img} 2>/dev/null | grep -o 'f[0-9]*[.]bin' | sort -u); do ` +
    `debugfs -R "blocks /dataset/$f" ${img} 2>/dev/null; done | tr ' ' '\n' | grep . | awk 'NR % 64 == 1'`;
  const blocks = (await m.hosts.nas.exec(list, { timeoutMs: 60000 })).stdout.split('\n').filter((b) => /^\d+$/.test(b));
  if (blocks.length < 16) throw new Error(`nas-block-changed: only ${blocks.length} dataset blocks found in ${img}`);
  return blocks;
}
