/**
 * The workload's own metrics before, during and after the migration (DESIGN.md §5 "Workload"):
 * rows fetched from the guest (Workload.metricsScript/parseMetrics) are put on the host clock and
 * summarised per phase as medians. Pure.
 */
import { parseWorkloadClock } from '../workload/clock.js';
import type { WorkloadMetricsRow } from '../workload/types.js';
import { median } from '../util/quantile.js';

export interface TimedRow {
  t: number;
  phase: 'before' | 'during' | 'after';
  [metric: string]: number | string;
}

/**
 * Maps rows to host time: a row's host time is `fetchedAt - (now - start) + t_s` (all seconds from
 * the guest's uptime; see src/workload/clock.ts), then tags its phase against the migration
 * window [migrateStart, migrateEnd] (host ms).
 */
export function placeRows(
  text: string,
  rows: WorkloadMetricsRow[],
  fetchedAt: number,
  migrateStart: number,
  migrateEnd: number,
): TimedRow[] {
  const clock = parseWorkloadClock(text);
  if (!clock) return [];
  const startHost = fetchedAt - (clock.now_uptime_s - clock.start_uptime_s) * 1000;
  return rows.map((r) => {
    const t = Math.round(startHost + r.t_s * 1000);
    const phase = t < migrateStart ? 'before' : t <= migrateEnd ? 'during' : 'after';
    return { ...r, t, phase };
  });
}

/** `workload_<metric>_<phase>`: the median of each metric per phase (phases without rows are absent). */
export function phaseSummary(rows: TimedRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  const metrics = new Set<string>();
  for (const r of rows)
    for (const k of Object.keys(r))
      if (k !== 't' && k !== 't_s' && k !== 'phase' && typeof r[k] === 'number') metrics.add(k);
  for (const phase of ['before', 'during', 'after'] as const) {
    const inPhase = rows.filter((r) => r.phase === phase);
    if (inPhase.length === 0) continue;
    for (const m of metrics) {
      const xs = inPhase.map((r) => r[m]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (xs.length) out[`workload_${m}_${phase}`] = Number(median(xs).toFixed(3));
    }
    out[`workload_samples_${phase}`] = inPhase.length;
  }
  return out;
}
