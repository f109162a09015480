/**
 * The web workload's record fields (pure): the load generator's 100 ms rows (./webBuckets.ts)
 * summarised before / during / after the migration, and the longest stretch without a successful
 * response — what a user of the guest's web server saw of the migration.
 */
import { quantile, type WebRowWithSamples } from './webBuckets.js';
import type { WebRunFields } from '../results/record.js';

export type WebPhase = 'before' | 'during' | 'after';

/** Host times (ms since epoch) that cut the load into phases. */
export interface WebWindow {
  /** `migrate` was issued. */
  migrateStart: number;
  /** The guest answered on the destination (end of the user-visible migration). */
  migrateEnd: number;
  /** The load generator stopped (its last row ends here). */
  loadEnd: number;
  bucketMs?: number;
}

/**
 * A row's phase: `before` when its bucket ended by `migrateStart`, `during` when the bucket
 * overlaps [migrateStart, migrateEnd], `after` when it started after `migrateEnd`.
 */
export function webPhase(t: number, w: WebWindow): WebPhase {
  if (t <= w.migrateStart) return 'before';
  return t - (w.bucketMs ?? 100) < w.migrateEnd ? 'during' : 'after';
}

const r2 = (v: number): number => Math.round(v * 100) / 100;

/** The web load's record fields (src/results/record.ts); the whole-load counts are always there. */
export type WebSummary = WebRunFields &
  Required<Pick<WebRunFields, 'web_requests' | 'web_errors' | 'web_timeouts' | 'web_stall_ms'>>;

/**
 * `web_requests` (successful responses), `web_errors`, `web_timeouts` over the whole load;
 * per phase the mean rps of its rows and the p99 of all its responses (nearest rank); the largest
 * latency during the migration; and `web_stall_ms`, the largest gap between successful responses
 * that ends after `migrateStart` (a gap still open when the load stopped counts up to `loadEnd`).
 */
export function webSummary(rows: readonly WebRowWithSamples[], w: WebWindow): WebSummary {
  const out: WebSummary = {
    web_requests: rows.reduce((s, r) => s + r.ok, 0),
    web_errors: rows.reduce((s, r) => s + r.errors, 0),
    web_timeouts: rows.reduce((s, r) => s + r.timeouts, 0),
    web_stall_ms: 0,
  };
  for (const phase of ['before', 'during', 'after'] as const) {
    const inPhase = rows.filter((r) => webPhase(r.t, w) === phase);
    if (inPhase.length === 0) continue;
    out[`web_rps_${phase}`] = r2(inPhase.reduce((s, r) => s + r.rps, 0) / inPhase.length);
    const lat = inPhase.flatMap((r) => r.lat_ms).sort((a, b) => a - b);
    const p99 = quantile(lat, 0.99);
    if (p99 !== undefined) out[`web_p99_ms_${phase}`] = p99;
    if (phase === 'during' && lat.length) out.web_max_latency_ms = lat[lat.length - 1];
  }
  let stall = 0;
  for (const r of rows) if (r.t > w.migrateStart) stall = Math.max(stall, r.gap_ms);
  const lastOk = [...rows].reverse().find((r) => r.ok > 0);
  // no successful response after the last one seen: the gap runs to the end of the load
  const openFrom = lastOk ? lastOk.t : rows[0] ? rows[0].t - (w.bucketMs ?? 100) : w.loadEnd;
  if (w.loadEnd > w.migrateStart) stall = Math.max(stall, w.loadEnd - openFrom);
  out.web_stall_ms = Math.round(stall);
  return out;
}

/** The row as written to `series/web.jsonl` (without the samples). */
export function seriesRow(r: WebRowWithSamples): Omit<WebRowWithSamples, 'lat_ms'> {
  const { lat_ms: _samples, ...row } = r;
  return row;
}
