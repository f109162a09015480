/**
 * Side-by-side statistics per configuration (scenario + config_id) and strategy, and the relative
 * change of every other strategy against a baseline strategy. Field names are run.json's.
 */
import { bootstrapMedianCI, madOutliers, relativeChange, summarize, type BootstrapOptions } from './stats.js';
import { metricValue } from './metrics.js';
import { sameConfig, type RecordGroup } from './group.js';

export interface CompareOptions extends BootstrapOptions {
  fields: readonly string[];
  /** Strategy the others are compared against (default "stock"). */
  baseline?: string;
}

export interface CompareRow {
  scenario: string;
  config_id?: string;
  strategy: string;
  /** Completed (non-warm-up) runs. */
  runs: number;
  failed: number;
  /** Runs that carry each field (a field can be absent from some records). */
  n: Record<string, number>;
  median: Record<string, number>;
  q1: Record<string, number>;
  q3: Record<string, number>;
  iqr: Record<string, number>;
  min: Record<string, number>;
  max: Record<string, number>;
  /** Bootstrap percentile interval of the median. */
  ci95: Record<string, [number, number]>;
  /** Values more than 3 scaled MADs from the median (see stats.madOutliers), per field that has some. */
  outliers: Record<string, number[]>;
}

export interface CompareChange {
  scenario: string;
  config_id?: string;
  field: string;
  baseline: string;
  strategy: string;
  baseline_median: number;
  median: number;
  /** median(strategy) / median(baseline) - 1 (0.1 = +10 %); null when the baseline median is 0. */
  change: number | null;
  ci95: [number, number] | null;
  within_noise: boolean;
  note?: string;
  n_baseline: number;
  n: number;
}

export interface Comparison {
  rows: CompareRow[];
  changes: CompareChange[];
}

/** Values of `field` over the group's completed runs (records without it are left out). */
export function fieldValues(g: RecordGroup, field: string): number[] {
  const out: number[] = [];
  for (const r of g.completed) {
    const v = metricValue(r, field);
    if (v !== undefined) out.push(v);
  }
  return out;
}

function keyOf(g: RecordGroup): { scenario: string; config_id?: string } {
  return { scenario: g.scenario, ...(g.config_id !== undefined ? { config_id: g.config_id } : {}) };
}

export function compareRow(g: RecordGroup, fields: readonly string[], o?: BootstrapOptions): CompareRow {
  const row: CompareRow = {
    ...keyOf(g),
    strategy: g.strategy,
    runs: g.completed.length,
    failed: g.failed,
    n: {},
    median: {},
    q1: {},
    q3: {},
    iqr: {},
    min: {},
    max: {},
    ci95: {},
    outliers: {},
  };
  for (const f of fields) {
    const xs = fieldValues(g, f);
    row.n[f] = xs.length;
    if (xs.length === 0) continue;
    const s = summarize(xs);
    row.median[f] = s.median;
    row.q1[f] = s.q1;
    row.q3[f] = s.q3;
    row.iqr[f] = s.iqr;
    row.min[f] = s.min;
    row.max[f] = s.max;
    row.ci95[f] = bootstrapMedianCI(xs, o);
    const out = madOutliers(xs);
    if (out.length) row.outliers[f] = out;
  }
  return row;
}

/**
 * One row per group (in the groups' order) and one change per non-baseline group, field with
 * values on both sides, against the baseline group of the same scenario and config_id.
 */
export function compareGroups(groups: readonly RecordGroup[], o: CompareOptions): Comparison {
  const baseline = o.baseline ?? 'stock';
  const rows = groups.map((g) => compareRow(g, o.fields, o));
  const changes: CompareChange[] = [];
  for (const g of groups) {
    if (g.strategy === baseline) continue;
    const base = groups.find((b) => b.strategy === baseline && sameConfig(b, g));
    if (!base) continue;
    for (const f of o.fields) {
      const a = fieldValues(base, f);
      const b = fieldValues(g, f);
      if (a.length === 0 || b.length === 0) continue;
      const rc = relativeChange(a, b, o);
      changes.push({
        ...keyOf(g),
        field: f,
        baseline,
        strategy: g.strategy,
        baseline_median: summarize(a).median,
        median: summarize(b).median,
        change: rc.change,
        ci95: rc.ci,
        within_noise: rc.within_noise,
        ...(rc.note ? { note: rc.note } : {}),
        n_baseline: a.length,
        n: b.length,
      });
    }
  }
  return { rows, changes };
}
