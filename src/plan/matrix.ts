import type { Scenario, StrategyName } from '../scenario/types.js';
import { formatValue } from '../scenario/sweep.js';
import { createStrategy } from '../strategy/index.js';
import { refusalError, refusalText } from '../strategy/types.js';
import { UserError } from '../util/errors.js';

/** One migration to run: a configuration, a strategy, a repeat index. */
export interface MatrixRun {
  /** 1-based position in the matrix (configurations in file and grid order × strategies × repeats) */
  n: number;
  scenario: Scenario;
  strategy: StrategyName;
  repeat: number;
}

export interface Matrix {
  runs: MatrixRun[];
  /** what was left out and why (strategy/sweep-value conflicts) */
  notes: string[];
}

export interface MatrixOptions {
  /** overrides each scenario's own `strategies` */
  strategies?: string[];
  /** overrides each scenario's own `repeat` */
  repeat?: number;
}

const under = (field: string, path: string) =>
  field === path || field.startsWith(`${path}.`) || path.startsWith(`${field}.`);

/**
 * Configurations × strategies × repeats. A strategy that refuses a configuration (e.g. pof with
 * xbzrle, multifd or compress) is an error naming the field — unless the refused field is swept:
 * then that strategy skips those grid points and a note says so (the other strategies still run
 * them). Two configurations with the same scenario name and config id are an error.
 */
export function buildMatrix(configs: readonly Scenario[], o: MatrixOptions = {}): Matrix {
  const seen = new Map<string, string>();
  for (const s of configs) {
    const id = `${s.name}\u0000${s.config_id}`;
    const other = seen.get(id);
    if (other !== undefined) {
      throw new UserError(
        `scenario name "${s.name}"${s.config_id ? ` (config ${s.config_id})` : ''} comes twice (${other} and ` +
          `${s.file})`,
        'give each scenario its own name (name: ...) and pass each file once',
      );
    }
    seen.set(id, s.file);
  }
  const runs: MatrixRun[] = [];
  const skipped = new Map<
    string,
    { strategy: string; scenario: string; field: string; why: string; configs: string[] }
  >();
  for (const scenario of configs) {
    const names = o.strategies ?? scenario.strategies;
    const repeats = o.repeat ?? scenario.repeat;
    for (const name of names) {
      const strategy = createStrategy(name);
      const refusal = strategy.refusal?.(scenario);
      if (refusal) {
        const swept = Object.keys(scenario.sweep).find((p) => under(refusal.field, p));
        if (!swept) throw refusalError(scenario, refusal);
        const value = `${swept}=${formatValue(scenario.sweep[swept])}`;
        const key = `${scenario.name}\u0000${strategy.name}\u0000${value}`;
        const why = refusalText(refusal);
        const entry = skipped.get(key) ?? {
          strategy: strategy.name,
          scenario: scenario.name,
          field: value,
          why,
          configs: [],
        };
        entry.configs.push(scenario.config_id);
        skipped.set(key, entry);
        continue;
      }
      for (let repeat = 0; repeat < repeats; repeat++)
        runs.push({ n: runs.length + 1, scenario, strategy: strategy.name, repeat });
    }
  }
  const notes = [...skipped.values()].map(
    (s) =>
      `${s.strategy} skipped for ${s.scenario} ${s.field} (${s.configs.length} ` +
      `configuration${s.configs.length === 1 ? '' : 's'}): ${s.why}`,
  );
  return { runs, notes };
}
