import {
  compareKeys,
  groupRecords,
  type ConfigKey,
  type GroupOptions,
  type RecordGroup,
} from '../../analysis/group.js';
import { fieldValues } from '../../analysis/compare.js';
import { median } from '../../analysis/stats.js';
import { workloadFronts } from '../../analysis/workloadFront.js';
import { recordField } from '../../results/record.js';
import type { RunData } from './runSet.js';
import { MiB, round, thin } from './stats.js';

/**
 * Pure extraction of the report's chart data from loaded runs. Warm-up runs are left out
 * everywhere (they are recorded for statistics to discard). Time-series charts show every other
 * run that has the series (a failed run's non-converging progress is worth seeing); charts of
 * per-run measurements use the completed runs, grouped like `pofbench compare` and `pofbench
 * pareto` (scenario + config_id + strategy, src/analysis/group.ts).
 */

/** The runs the report draws: everything but warm-up runs. */
export const reported = (runs: readonly RunData[]): RunData[] => runs.filter((r) => r.record.warmup !== true);

/**
 * Configuration groups of the reported runs (completed runs feed the statistics); `o` as for
 * groupRecords (pool, where the warnings about runs kept apart or merged go).
 */
export const reportGroups = (runs: readonly RunData[], o: GroupOptions = {}): RecordGroup[] =>
  groupRecords(
    reported(runs).map((r) => r.record),
    'stock',
    o,
  );

/**
 * A group's name on a chart axis: the strategy, after the config_id when the scenario is swept,
 * after the scenario when asked (charts that do not facet by scenario).
 */
export function groupName(k: ConfigKey, withScenario = false): string {
  return [withScenario ? k.scenario : undefined, k.config_id, k.strategy].filter((x) => x !== undefined).join(' / ');
}

const medianOf = (xs: number[]): number | undefined => (xs.length ? median(xs) : undefined);

/** When `migrate` was issued: the first QMP sample is taken right after it (ms since epoch). */
export function migrationStartMs(run: RunData): number | undefined {
  return run.qmp[0]?.t;
}

/** When the source stopped being sampled (the migration ended), ms since epoch. */
export function migrationEndMs(run: RunData): number | undefined {
  return run.qmp.length ? run.qmp[run.qmp.length - 1].t : undefined;
}

// ---- 1. migration progress ------------------------------------------------------------------

export interface ProgressPoint {
  run_id: string;
  scenario: string;
  strategy: string;
  status: string;
  /** Seconds since `migrate`. */
  t_s: number;
  remaining_mib: number;
  transferred_mib: number;
  pass: number;
}

/** QMP progress of each run over time (at most `maxPerRun` points per run, evenly thinned). */
export function progressPoints(runs: readonly RunData[], maxPerRun = 400): ProgressPoint[] {
  return reported(runs).flatMap((run) => {
    const t0 = migrationStartMs(run);
    const rows = run.qmp.filter(
      (q) => q.ram && typeof q.ram.remaining === 'number' && typeof q.ram.transferred === 'number',
    );
    if (t0 === undefined) return [];
    const { run_id, scenario, strategy, status } = run.record;
    return thin(rows, maxPerRun).map((q) => ({
      run_id,
      scenario,
      strategy,
      status,
      t_s: round((q.t - t0) / 1000, 3),
      remaining_mib: round(q.ram!.remaining / MiB, 3),
      transferred_mib: round(q.ram!.transferred / MiB, 3),
      pass: q.ram!['dirty-sync-count'],
    }));
  });
}

// ---- 2. link bytes by kind ------------------------------------------------------------------

export const LINKS = ['migration link', 'storage link'] as const;
export type LinkKind = (typeof LINKS)[number];

export interface LinkBar {
  scenario: string;
  config_id?: string;
  strategy: string;
  /** The x-axis name of the group (groupName). */
  group: string;
  link: LinkKind;
  median_mib: number;
  n: number;
}

const linkField: Record<LinkKind, string> = {
  'migration link': 'migration_link_bytes',
  'storage link': 'storage_link_bytes',
};

/** Median bytes per migration on each link, per configuration group (completed runs). */
export function linkBars(runs: readonly RunData[], o: GroupOptions = {}): LinkBar[] {
  return reportGroups(runs, o).flatMap((g) =>
    LINKS.flatMap((link) => {
      const xs = fieldValues(g, linkField[link]);
      const m = medianOf(xs);
      const { scenario, config_id, strategy } = g;
      return m === undefined
        ? []
        : [
            {
              scenario,
              ...(config_id !== undefined ? { config_id } : {}),
              strategy,
              group: groupName(g),
              link,
              median_mib: round(m / MiB, 2),
              n: xs.length,
            },
          ];
    }),
  );
}

// ---- 3. downtime ----------------------------------------------------------------------------

export const DOWNTIMES = ['QMP downtime', 'app-observed downtime'] as const;
export type DowntimeKind = (typeof DOWNTIMES)[number];

export interface DowntimePoint {
  role: 'run' | 'median';
  scenario: string;
  config_id?: string;
  strategy: string;
  group: string;
  measure: DowntimeKind;
  ms: number;
  run_id?: string;
}

const downtimeField: Record<DowntimeKind, string> = {
  'QMP downtime': 'downtime_ms',
  'app-observed downtime': 'app_downtime_ms',
};

/** Each completed run's QMP and app-observed downtime, plus the median per configuration group. */
export function downtimePoints(runs: readonly RunData[], o: GroupOptions = {}): DowntimePoint[] {
  return reportGroups(runs, o).flatMap((g) =>
    DOWNTIMES.flatMap((measure) => {
      const key = {
        scenario: g.scenario,
        ...(g.config_id !== undefined ? { config_id: g.config_id } : {}),
        strategy: g.strategy,
        group: groupName(g),
        measure,
      };
      const pts: DowntimePoint[] = g.completed.flatMap((r) => {
        const ms = recordField(r, downtimeField[measure]);
        return typeof ms === 'number' && Number.isFinite(ms)
          ? [{ role: 'run' as const, ...key, ms, run_id: r.run_id }]
          : [];
      });
      const m = medianOf(pts.map((p) => p.ms));
      return m === undefined ? pts : [...pts, { role: 'median' as const, ...key, ms: m }];
    }),
  );
}

// ---- 4. web latency -------------------------------------------------------------------------

export interface WebPoint {
  role: 'latency' | 'migration start' | 'migration end';
  run_id: string;
  scenario: string;
  strategy: string;
  /** Seconds since `migrate` (since the first web sample when the run never migrated). */
  t_s: number;
  stat?: 'p50' | 'p99';
  ms?: number;
}

/** The web workload's p50/p99 latency over time and each run's migration window; [] when no run has web.jsonl. */
export function webPoints(runs: readonly RunData[], maxPerRun = 600): WebPoint[] {
  return reported(runs).flatMap((run) => {
    if (!run.web?.length) return [];
    const { run_id, scenario, strategy } = run.record;
    const start = migrationStartMs(run);
    const end = migrationEndMs(run);
    const t0 = start ?? run.web[0].t;
    const at = (t: number) => round((t - t0) / 1000, 3);
    const out: WebPoint[] = thin(run.web, maxPerRun).flatMap((w) => [
      { role: 'latency' as const, run_id, scenario, strategy, t_s: at(w.t), stat: 'p50' as const, ms: w.p50_ms },
      { role: 'latency' as const, run_id, scenario, strategy, t_s: at(w.t), stat: 'p99' as const, ms: w.p99_ms },
    ]);
    if (start !== undefined && end !== undefined) {
      out.push(
        { role: 'migration start', run_id, scenario, strategy, t_s: 0 },
        { role: 'migration end', run_id, scenario, strategy, t_s: at(end) },
      );
    }
    return out;
  });
}

// ---- 5. Pareto ------------------------------------------------------------------------------

/** The Pareto chart's objectives (both minimised), as in `pofbench pareto --objectives`. */
export const PARETO_OBJECTIVES = ['total_time_ms', 'migration_link_bytes'] as const;

export interface ParetoPoint {
  /** Fronts are per workload type, as in `pofbench pareto` (src/analysis/workloadFront.ts). */
  workload: string;
  scenario: string;
  config_id?: string;
  strategy: string;
  /** Completed runs behind the medians. */
  n: number;
  /** Median QMP total time, seconds. */
  total_time_s: number;
  /** Median migration-link bytes, MiB. */
  migration_link_mib: number;
  front: boolean;
  /** Labels of the points that dominate this one. */
  dominated_by: string[];
  /** The point's name: `[scenario / ][config_id / ]strategy` (scenario when its workload has several). */
  label: string;
}

/**
 * Medians of total time and migration-link bytes per scenario, config_id and strategy, and the
 * Pareto front of those points within each workload type (both objectives minimised).
 */
export function paretoPoints(runs: readonly RunData[], o: GroupOptions = {}): ParetoPoint[] {
  return workloadFronts(reportGroups(runs, o), PARETO_OBJECTIVES).flatMap((wf) => {
    const withScenario = new Set([...wf.front, ...wf.dominated.map((d) => d.item)].map((p) => p.scenario)).size > 1;
    const label = (k: ConfigKey) => groupName(k, withScenario);
    const point = (p: (typeof wf.front)[number], front: boolean, by: typeof wf.front): ParetoPoint => ({
      workload: wf.workload,
      scenario: p.scenario,
      ...(p.config_id !== undefined ? { config_id: p.config_id } : {}),
      strategy: p.strategy,
      n: p.runs,
      total_time_s: round(p.median.total_time_ms / 1000, 3),
      migration_link_mib: round(p.median.migration_link_bytes / MiB, 2),
      front,
      dominated_by: by.map(label),
      label: label(p),
    });
    return [...wf.front.map((p) => point(p, true, [])), ...wf.dominated.map((d) => point(d.item, false, d.by))].sort(
      (a, b) => compareKeys(a, b),
    );
  });
}
