import { stat } from 'node:fs/promises';
import { readRecords } from '../results/runReader.js';
import { UserError } from '../util/errors.js';
import type { Scenario } from '../scenario/types.js';
import {
  describeDiffs,
  paramsDiff,
  paramsHash,
  recordParamsHash,
  runParams,
  type TestbedParams,
} from '../results/params.js';

/** What identifies a run across sessions (never the run id: it holds a timestamp). */
export interface RunIdentity {
  scenario: string;
  config_id?: string;
  strategy: string;
  repeat: number;
}

/** scenario + config_id + strategy + repeat (records from before sweeps have no config_id: ""). */
export function runKey(r: RunIdentity): string {
  return JSON.stringify([r.scenario, r.config_id ?? '', r.strategy, r.repeat]);
}

/** The configuration and strategy of a run: the group warm-up runs are counted in. */
export function groupKey(r: Omit<RunIdentity, 'repeat'>): string {
  return JSON.stringify([r.scenario, r.config_id ?? '', r.strategy]);
}

/** A completed run of the session being resumed: who it is, and what it ran with. */
export interface CompletedRun extends RunIdentity {
  params?: Record<string, unknown>;
  params_hash?: string;
}

/**
 * The runs recorded as completed under a results directory (its `<run-id>/run.json` files); failed
 * and interrupted runs are not, so they run again.
 */
export async function completedRuns(dir: string): Promise<CompletedRun[]> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory())
    throw new UserError(
      `--resume ${dir}: no such results directory`,
      'pass the --out directory of the session to resume',
    );
  return (await readRecords(dir)).filter(
    (r) =>
      r.status === 'completed' &&
      typeof r.scenario === 'string' &&
      typeof r.strategy === 'string' &&
      typeof r.repeat === 'number',
  );
}

/**
 * Resuming continues the same experiment: a completed run of a configuration the scenario files now
 * describe with other parameters (a different link cap, guest size, image, accelerator …) would be
 * counted as done, and its numbers pooled with the new runs'. Refused, naming what changed.
 */
export function assertSameParams(
  completed: readonly CompletedRun[],
  scenarios: readonly Scenario[],
  testbed: TestbedParams,
  imageId: string,
): void {
  for (const s of scenarios) {
    const planned = runParams(s, testbed, imageId);
    const hash = paramsHash(planned);
    const configId = s.config_id ?? '';
    const earlier = completed.find(
      (r) =>
        r.scenario === s.name &&
        (r.config_id ?? '') === configId &&
        r.params !== undefined &&
        recordParamsHash(r) !== hash,
    );
    if (!earlier) continue;
    const diffs = paramsDiff(earlier.params, planned);
    const what = `${s.name}${s.config_id ? ` [${s.config_id}]` : ''}`;
    const labelled = diffs.map((d) => ({ ...d, a: `${d.a ?? '(absent)'} (session)`, b: `${d.b ?? '(absent)'} (now)` }));
    const changed = diffs.length ? describeDiffs(labelled) : `params hash ${recordParamsHash(earlier)} vs ${hash}`;
    throw new UserError(
      `--resume: scenario ${what} was run in this session with other parameters: ${changed}`,
      'resume with the scenario files the session ran, or start a new session (--out)',
    );
  }
}
