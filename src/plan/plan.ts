import type { Scenario } from '../scenario/types.js';
import { buildMatrix, type MatrixOptions, type MatrixRun } from './matrix.js';
import { estimateRun } from './estimate.js';
import { markWarmups, shuffle } from './order.js';
import { groupKey, runKey, type RunIdentity } from './resume.js';

/** One run of a session, in execution order. */
export interface PlannedRun extends MatrixRun {
  /** one of the first --warmup-runs runs of its configuration and strategy (discarded by statistics) */
  warmup: boolean;
  estimate_s: number;
}

export interface SessionPlan {
  /** the runs still to do, in execution order (shuffled when a seed is given) */
  runs: PlannedRun[];
  /** the size of the whole matrix, and how many of it are already completed (resume) */
  total: number;
  completed: number;
  notes: string[];
  seed?: number;
  /** estimated seconds for `runs` */
  estimate_s: number;
}

export interface PlanOptions extends MatrixOptions {
  /** shuffle with this seed; undefined keeps the matrix order */
  seed?: number;
  warmupRuns?: number;
  /** runs already completed (from --resume DIR): left out */
  completed?: RunIdentity[];
}

const identity = (r: MatrixRun): RunIdentity => ({
  scenario: r.scenario.name,
  config_id: r.scenario.config_id,
  strategy: r.strategy,
  repeat: r.repeat,
});

/**
 * What a session runs: configurations × strategies × repeats (buildMatrix), minus runs already
 * completed, in a shuffled order deterministic by the seed, the first `warmupRuns` of each
 * configuration and strategy marked warm-up (finished ones count first), each with its estimate.
 */
export function planSession(configs: readonly Scenario[], o: PlanOptions = {}): SessionPlan {
  const matrix = buildMatrix(configs, o);
  const done = new Set((o.completed ?? []).map(runKey));
  const doneInGroup = new Map<string, number>();
  const todo: MatrixRun[] = [];
  for (const r of matrix.runs) {
    const id = identity(r);
    if (done.has(runKey(id))) doneInGroup.set(groupKey(id), (doneInGroup.get(groupKey(id)) ?? 0) + 1);
    else todo.push(r);
  }
  const ordered = o.seed === undefined ? todo : shuffle(todo, o.seed);
  const warm = markWarmups(
    ordered,
    (r) => groupKey(identity(r)),
    o.warmupRuns ?? 0,
    (g) => doneInGroup.get(g) ?? 0,
  );
  const estimates = new Map<Scenario, number>();
  const runs = ordered.map((r, i) => {
    let e = estimates.get(r.scenario);
    if (e === undefined) estimates.set(r.scenario, (e = estimateRun(r.scenario).total_s));
    return { ...r, warmup: warm[i], estimate_s: e };
  });
  return {
    runs,
    total: matrix.runs.length,
    completed: matrix.runs.length - todo.length,
    notes: matrix.notes,
    seed: o.seed,
    estimate_s: Math.round(runs.reduce((s, r) => s + r.estimate_s, 0) * 10) / 10,
  };
}
