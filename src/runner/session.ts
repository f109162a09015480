import { execa } from 'execa';
import { join } from 'node:path';
import type { Scenario } from '../scenario/types.js';
import type { TestbedSpec } from '../testbed/spec.js';
import type { GuestImage } from '../image/build.js';
import { SshHost } from '../hosts/ssh.js';
import { createStrategy } from '../strategy/index.js';
import { planSession, type PlannedRun, type SessionPlan } from '../plan/plan.js';
import { etaSeconds, formatDuration } from '../plan/estimate.js';
import { defaultSeed } from '../plan/order.js';
import { assertSameParams, completedRuns } from '../plan/resume.js';
import type { TestbedHosts } from '../testbed/hosts.js';
import { runMigration, type MigrationRunOptions } from './migrationRun.js';
import { shardRuns } from './shard.js';
import type { RunRecord } from '../results/record.js';
import { Progress } from '../util/progress.js';
import { projectRoot } from '../util/paths.js';
import { errorMessage } from '../util/errors.js';
import { sleep } from '../util/exec.js';
import { checkScenarioWorkloads } from '../workload/check.js';
import { guardExits } from './exitPaths.js';

export async function pofbenchRevision(): Promise<string> {
  const rev = await execa('git', ['-C', projectRoot, 'rev-parse', '--short=12', 'HEAD'], { reject: false });
  if (rev.exitCode !== 0) return 'unknown';
  const dirty = await execa('git', ['-C', projectRoot, 'status', '--porcelain', '--untracked-files=no'], {
    reject: false,
  });
  return `${String(rev.stdout).trim()}${String(dirty.stdout).trim() ? '-dirty' : ''}`;
}

export async function connectHosts(testbed: TestbedSpec): Promise<TestbedHosts> {
  const opts = { controllerNetns: testbed.controllerNetns };
  const [src, dst, nas] = await Promise.all(
    (['src', 'dst', 'nas'] as const).map((r) => SshHost.connect(testbed.hosts[r].name, testbed.hosts[r].ssh, opts)),
  );
  return { src, dst, nas };
}

export interface SessionOptions {
  /** the configurations to run (loadScenarios: documents × sweep points) */
  scenarios: Scenario[];
  /** overrides each scenario's own strategies */
  strategies?: string[];
  /** overrides each scenario's own repeat */
  repeat?: number;
  /** seed of the shuffled run order (default: from the clock; printed so the order can be reproduced) */
  seed?: number;
  /** the first N runs of each configuration and strategy are recorded `warmup: true` */
  warmupRuns?: number;
  /** skip runs recorded as completed in outDir (scenario + config_id + strategy + repeat); rerun the rest */
  resume?: boolean;
  testbed: TestbedSpec;
  image: GuestImage;
  outDir: string;
  quiet?: boolean;
  /**
   * Called after each run with its record and run directory (e.g. a results sink). Its failure is
   * logged and never changes or loses the record.
   */
  onRecord?: (record: RunRecord, runDir: string) => Promise<void>;
  /** Compare source and destination RAM byte for byte at switchover (dst starts paused). */
  verifyRam?: boolean;
  /**
   * Called after an interrupt (SIGINT/SIGTERM/SIGHUP, or an uncaught error: the reason, e.g. "SIGHUP" or "error: …"),
   * once the runs in flight wrote their records, right before the process exits.
   */
  onInterrupted?: (signal: string, records: readonly RunRecord[]) => Promise<void>;
  /** Fault injection: called once each migration has started (see src/faults). */
  onMigrating?: MigrationRunOptions['onMigrating'];
  /**
   * --parallel-pairs: every host pair of the testbed file. With more than one, the runs are
   * sharded across them (src/runner/shard.ts), each run on one pair, pairs side by side; records
   * carry `pair`. `testbed` is then unused.
   */
  pairs?: TestbedSpec[];
}

/** Refuses, before anything starts, what a scenario cannot run with these options and this image. */
function assertRunnable(o: SessionOptions): void {
  checkScenarioWorkloads(o.scenarios, o.image, o);
}

/** The plan's notes, size, seed and estimate on the progress output. */
function announcePlan(progress: Progress, plan: SessionPlan, o: SessionOptions, seed: number): void {
  for (const note of plan.notes) progress.phase(`note: ${note}`);
  progress.phase(
    `${plan.runs.length} runs` +
      `${o.resume ? ` (${plan.completed} of ${plan.total} already completed in ${o.outDir})` : ''}, ` +
      `shuffled with seed ${seed} (reproduce the order with --seed ${seed}), estimated ` +
      `${formatDuration(plan.estimate_s)}`,
  );
}

/** SSH connections to every pair's hosts; none left open when one fails. */
async function connectPairs(testbeds: TestbedSpec[], pairHosts: TestbedHosts[], closeAll: () => void): Promise<void> {
  try {
    for (const tb of testbeds) pairHosts.push(await connectHosts(tb));
  } catch (err) {
    closeAll();
    throw err;
  }
}

/** What the shards of one session share while they run. */
interface SessionRun {
  o: SessionOptions;
  plan: SessionPlan;
  testbeds: TestbedSpec[];
  shards: PlannedRun[][];
  pairHosts: TestbedHosts[];
  rev: string;
  progress: Progress;
  inFlight: Map<number, () => Promise<void>>;
  running: Set<Promise<RunRecord>>;
  records: RunRecord[];
  /** the ETA's inputs: estimates left and done, seconds measured, runs started */
  eta: { remainingEst: number; doneEst: number; doneS: number; started: number };
  interrupted: () => boolean;
  interruptedBy: () => string | undefined;
}

/** Runs shard k's runs one after the other on pair k (stops starting runs once interrupted). */
async function runShard(s: SessionRun, k: number): Promise<void> {
  const { o, plan, testbeds, progress, eta } = s;
  const pairTag = testbeds.length > 1 ? ` pair ${testbeds[k].pair ?? k}` : '';
  for (const run of s.shards[k]) {
    if (s.interrupted()) return;
    const i = eta.started++;
    const { scenario } = run;
    const etaText = formatDuration(etaSeconds(eta.remainingEst, eta.doneEst, eta.doneS) / testbeds.length);
    const where = `[${i + 1}/${plan.runs.length}, ETA ${etaText}]${pairTag}`;
    progress.phase(
      `${where} ${scenario.name}${scenario.config_id ? ` ${scenario.config_id}` : ''} ${run.strategy} repeat ` +
        `${run.repeat}${run.warmup ? ' (warm-up)' : ''}`,
    );
    const t0 = Date.now();
    const pending = runMigration({
      scenario,
      // one instance per run: a strategy holds its run's agents, and runs on other pairs overlap this one
      strategy: createStrategy(run.strategy),
      repeat: run.repeat,
      warmup: run.warmup,
      testbed: testbeds[k],
      hosts: s.pairHosts[k],
      image: o.image,
      outDir: o.outDir,
      pofbenchRev: s.rev,
      progress: new Progress(`[${i + 1}/${plan.runs.length}${pairTag}] `, o.quiet),
      onCleanup: (fn) => {
        if (fn) s.inFlight.set(k, fn);
        else s.inFlight.delete(k);
      },
      verifyRam: o.verifyRam,
      onMigrating: o.onMigrating,
      interruptedBy: s.interruptedBy,
    });
    s.running.add(pending);
    const record = await pending.finally(() => s.running.delete(pending));
    eta.doneS += (Date.now() - t0) / 1000;
    eta.doneEst += run.estimate_s;
    eta.remainingEst -= run.estimate_s;
    s.records.push(record);
    await sinkRecord(s, record);
  }
}

/** Hands a record to the session's sink; its failure is logged, never loses the record. */
async function sinkRecord(s: SessionRun, record: RunRecord): Promise<void> {
  try {
    await s.o.onRecord?.(record, join(s.o.outDir, record.run_id));
  } catch (err) {
    s.progress.phase(
      `[${record.run_id}] results sink failed (the record stays in ${s.o.outDir}): ${errorMessage(err)}`,
    );
  }
}

/**
 * Runs every configuration × strategy × repeat on one testbed, in a shuffled order deterministic
 * by the seed (src/plan/plan.ts), skipping runs already completed in outDir when resuming.
 * Everything is validated before the first VM starts; an interrupt (SIGINT/SIGTERM) cleans up the
 * run in flight and keeps finished records. Progress shows the run's position, scenario, config,
 * strategy, repeat, phase and an ETA (the plan estimate corrected by measured durations).
 * Returns the records of this session (failed ones included).
 */
export async function runSession(o: SessionOptions): Promise<RunRecord[]> {
  const seed = o.seed ?? defaultSeed();
  const completed = o.resume ? await completedRuns(o.outDir) : [];
  assertSameParams(completed, o.scenarios, o.testbed, o.image.id);
  const plan = planSession(o.scenarios, {
    strategies: o.strategies,
    repeat: o.repeat,
    seed,
    warmupRuns: o.warmupRuns,
    completed,
  });
  assertRunnable(o);
  const progress = new Progress('', o.quiet);
  announcePlan(progress, plan, o, seed);
  if (plan.runs.length === 0) return [];
  const rev = await pofbenchRevision();
  // --parallel-pairs: each run on one pair, pairs run side by side (they never share a migration link)
  const testbeds = o.pairs && o.pairs.length > 1 ? o.pairs : [o.testbed];
  const shards = shardRuns(plan.runs, testbeds.length);
  if (testbeds.length > 1)
    progress.phase(
      `${testbeds.length} host pairs in parallel: ` +
        `${testbeds.map((t, k) => `pair ${t.pair ?? k} ${shards[k].length} runs`).join(', ')}`,
    );
  const pairHosts: TestbedHosts[] = [];
  const closeAll = () => {
    for (const hs of pairHosts) for (const h of Object.values(hs)) h.close();
  };
  await connectPairs(testbeds, pairHosts, closeAll);
  const inFlight = new Map<number, () => Promise<void>>();
  const running = new Set<Promise<RunRecord>>();
  // every early exit (signals incl. SIGHUP, an uncaught error such as a full disk) cleans up once (./exitPaths.ts)
  const guard = guardExits({
    cleanupInFlight: async () => {
      await Promise.all([...inFlight.values()].map((fn) => fn().catch(() => undefined)));
    },
    // the interrupted runs fail fast and write their records with the reason; a tick lets each shard take its record
    runsSettled: () => Promise.allSettled(running).then(() => sleep(0)),
    lastWords: async (reason) => o.onInterrupted?.(reason, records),
    close: closeAll,
    log: (l) => progress.phase(l),
  });
  const records: RunRecord[] = [];
  const eta = { remainingEst: plan.estimate_s, doneEst: 0, doneS: 0, started: 0 };
  const shared = { o, plan, testbeds, shards, pairHosts, rev, progress, inFlight, running, records, eta };
  const session: SessionRun = {
    ...shared,
    interrupted: () => guard.reason() !== undefined,
    interruptedBy: guard.reason,
  };
  try {
    await Promise.all(shards.map((_, k) => runShard(session, k)));
  } finally {
    if (!guard.reason()) guard.dispose();
    closeAll();
  }
  return records;
}
