/**
 * The faults `pofbench faults` injects on the local testbed while a migration runs. Each says what
 * must happen: `fail` (the migration fails cleanly: source VM still running, record failed with the
 * reason) or `complete-or-fail` (either completes with byte-identical RAM, or fails cleanly).
 */
import { posix } from 'node:path';
import type { MigratingContext } from '../runner/migrationRun.js';
import { PofStrategy } from '../strategy/pof.js';
import { sh } from '../hosts/ssh.js';
import { localPaths } from '../testbed/local/localTestbed.js';
import type { StrategyName } from '../scenario/types.js';
import { sleep } from '../util/exec.js';
import { awaitTransferred } from '../qemu/migration.js';

export type Expectation = 'fail' | 'complete-or-fail' | 'complete';

export interface MigrationFault {
  name: string;
  description: string;
  strategies: StrategyName[];
  expect: Expectation;
  /** Extra check on a completed pof run (e.g. the fallback was used). */
  checkCompleted?: (record: Record<string, unknown>) => string | undefined;
  /** Extra check on a failed run (e.g. the record names what died). */
  checkFailed?: (record: { error?: string }) => string | undefined;
  /** Scenario YAML overrides (merged into the fault scenario's migration section). */
  timeoutS?: number;
  /** Link cap for this fault (slower migration = a wider window to inject into). */
  linkCapMbit?: number;
  inject(m: MigratingContext): Promise<void>;
}

/** Waits until the migration has moved some data (so the fault lands mid-stream), at most maxMs. */
async function midStream(m: MigratingContext, bytes = 24 * 1024 * 1024, maxMs = 8000): Promise<void> {
  await awaitTransferred(m.src.qmp, bytes, maxMs);
}

function agent(m: MigratingContext, role: 'source' | 'target') {
  if (!(m.strategy instanceof PofStrategy)) throw new Error('agent faults need the pof strategy');
  const a = m.strategy.agentProcesses().find((p) => p.role === role);
  if (!a) throw new Error(`no ${role} agent running`);
  return a;
}

async function migrationNic(m: MigratingContext): Promise<string> {
  const nic = m.testbed.hosts.src.nics.migration;
  if (!nic) throw new Error('testbed: src has no migration NIC');
  return nic;
}

export const FAULTS: MigrationFault[] = [
  {
    name: 'kill-source-agent',
    description: 'SIGKILL the source agent mid-migration',
    strategies: ['pof'],
    expect: 'fail',
    async inject(m) {
      await midStream(m);
      const a = agent(m, 'source');
      await a.host.exec(`kill -9 ${a.pid}`);
    },
  },
  {
    name: 'kill-target-agent',
    description: 'SIGKILL the target agent mid-migration',
    strategies: ['pof'],
    expect: 'fail',
    async inject(m) {
      await midStream(m);
      const a = agent(m, 'target');
      await a.host.exec(`kill -9 ${a.pid}`);
    },
  },
  {
    name: 'kill-dst-qemu',
    description: 'SIGKILL the destination QEMU mid-migration',
    strategies: ['stock', 'pof'],
    expect: 'fail',
    async inject(m) {
      await midStream(m);
      await m.hosts.dst.exec(`kill -9 ${m.dst.pid}`);
    },
    checkFailed: (r) =>
      /QEMU on \S+ exited/.test(r.error ?? '') ? undefined : 'the record does not say the destination QEMU exited',
  },
  {
    name: 'nas-stall-3s',
    description: 'stop the NAS (SIGSTOP nfs-ganesha) for 3 s mid-migration, then resume it',
    strategies: ['pof'],
    expect: 'complete-or-fail',
    async inject(m) {
      await midStream(m);
      const pidFile = posix.join(localPaths().hostDir('nas'), 'ganesha.pid');
      await m.hosts.nas.exec(`kill -STOP $(cat ${sh([pidFile])})`);
      try {
        await sleep(3000);
      } finally {
        await m.hosts.nas.exec(`kill -CONT $(cat ${sh([pidFile])})`);
      }
    },
  },
  {
    name: 'link-flap-2s',
    description: 'migration link down for 2 s mid-migration',
    strategies: ['stock', 'pof'],
    expect: 'complete-or-fail',
    async inject(m) {
      await midStream(m);
      const nic = await migrationNic(m);
      await m.hosts.src.exec(`ip link set ${sh([nic])} down`);
      try {
        await sleep(2000);
      } finally {
        await m.hosts.src.exec(`ip link set ${sh([nic])} up`);
      }
    },
  },
  {
    name: 'link-down',
    description: 'migration link down for good (until the run has timed out)',
    strategies: ['stock'],
    expect: 'fail',
    timeoutS: 12,
    async inject(m) {
      await midStream(m);
      const nic = await migrationNic(m);
      await m.hosts.src.exec(`ip link set ${sh([nic])} down`);
      // keep it down past the scenario's timeout (12 s), then restore it for the next run
      try {
        await sleep(16000);
      } finally {
        await m.hosts.src.exec(`ip link set ${sh([nic])} up`);
      }
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
    checkCompleted: (r) =>
      Number(r.pof_verify_mismatches) > 0 && r.pof_verify_mismatches === r.pof_fallback_pages
        ? undefined
        : `expected verify mismatches served from the source's window, got ${r.pof_verify_mismatches} mismatches / ` +
          `${r.pof_fallback_pages} fallbacks`,
    async inject(m) {
      const img = sh([posix.join(m.testbed.nas.localPath, 'runs', m.runId, 'data.raw')]);
      // only blocks of the dataset files (the page cache pof references): rewriting ext4 metadata or
      // the journal under a running guest breaks the guest itself (it was seen to reset on the
      // destination), which is not what this fault is about
      const list =
        `for f in $(debugfs -R 'ls /dataset' ${img} 2>/dev/null | grep -o 'f[0-9]*[.]bin' | sort -u); do ` +
        `debugfs -R "blocks /dataset/$f" ${img} 2>/dev/null; done | tr ' ' '\n' | grep . | awk 'NR % 64 == 1'`;
      const blocks = (await m.hosts.nas.exec(list, { timeoutMs: 60000 })).stdout
        .split('\n')
        .filter((b) => /^\d+$/.test(b));
      if (blocks.length < 16)
        throw new Error(`nas-block-changed: only ${blocks.length} dataset blocks found in ${img}`);
      await midStream(m, 4 * 1024 * 1024);
      // overwrite them with random bytes (in place, same size)
      const script =
        `for b in ${blocks.join(' ')}; do dd if=/dev/urandom of=${img} bs=4096 seek=$b count=1 ` +
        `conv=notrunc status=none 2>/dev/null || break; done`;
      await m.hosts.nas.exec(script, { timeoutMs: 60000 });
    },
  },
];
