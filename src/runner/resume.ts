import { stat } from 'node:fs/promises';
import { readRecords } from '../sinks/resultStore.js';
import { UserError } from '../util/errors.js';

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

/**
 * The runs recorded as completed under a results directory (its `<run-id>/run.json` files); failed
 * and interrupted runs are not, so they run again.
 */
export async function completedRuns(dir: string): Promise<RunIdentity[]> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new UserError(`--resume ${dir}: no such results directory`, 'pass the --out directory of the session to resume');
  return (await readRecords(dir)).filter((r) => r.status === 'completed' && typeof r.scenario === 'string' && typeof r.strategy === 'string' && typeof r.repeat === 'number');
}
