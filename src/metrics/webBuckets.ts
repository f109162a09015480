/**
 * The web workload's latency timeline (pure): responses and errors seen by the load generator are
 * cut into fixed buckets (100 ms) by completion time; each bucket becomes one row with its own
 * latency quantiles computed from its samples.
 */
import type { WebRow } from '../results/series.js';

/** A row as the load generator prints it: also the bucket's latencies (sorted, ms), for phase quantiles. */
export interface WebRowWithSamples extends WebRow {
  lat_ms: number[];
}

/**
 * Nearest-rank quantile of ascending `sorted` samples: the smallest sample with at least
 * q·n samples at or below it (q in (0, 1]); undefined for no samples.
 * E.g. [1, 2, 3, 4]: p50 = 2, p99 = 4.
 */
export function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

const r2 = (v: number): number => Math.round(v * 100) / 100;

/**
 * Accumulates responses into buckets of `bucketMs` starting at `startMs`. Feed it with ok() and
 * error() (times in ms since epoch, non-decreasing), and take finished rows with flush(now).
 */
export class WebBucketer {
  private bucketEnd: number;
  private lat: number[] = [];
  private errors = 0;
  private timeouts = 0;
  private gap = 0;
  private lastOk: number;

  constructor(
    startMs: number,
    private readonly bucketMs = 100,
  ) {
    this.bucketEnd = startMs + bucketMs;
    this.lastOk = startMs;
  }

  /** A successful response completed at `tMs` after `latencyMs`. */
  ok(tMs: number, latencyMs: number, out: WebRowWithSamples[] = []): WebRowWithSamples[] {
    this.flush(tMs, out);
    this.lat.push(latencyMs);
    this.gap = Math.max(this.gap, tMs - this.lastOk);
    this.lastOk = tMs;
    return out;
  }

  /** A failed request at `tMs` (a timeout when `timeout`). */
  error(tMs: number, timeout: boolean, out: WebRowWithSamples[] = []): WebRowWithSamples[] {
    this.flush(tMs, out);
    this.errors++;
    if (timeout) this.timeouts++;
    return out;
  }

  /** Closes every bucket that ended at or before `nowMs` (empty ones too), appending their rows to `out`. */
  flush(nowMs: number, out: WebRowWithSamples[] = []): WebRowWithSamples[] {
    while (nowMs >= this.bucketEnd) {
      out.push(this.row());
      this.bucketEnd += this.bucketMs;
    }
    return out;
  }

  /** The open bucket cut at `nowMs` (the last row when the load stops), as if it ended then. */
  finish(nowMs: number, out: WebRowWithSamples[] = []): WebRowWithSamples[] {
    this.flush(nowMs, out);
    const part = nowMs - (this.bucketEnd - this.bucketMs);
    if (part > 0) out.push({ ...this.row(part), t: nowMs });
    this.bucketEnd = nowMs + this.bucketMs;
    return out;
  }

  private row(lengthMs = this.bucketMs): WebRowWithSamples {
    const lat = this.lat.sort((a, b) => a - b).map(r2);
    const q = (p: number) => {
      const v = quantile(lat, p);
      return v === undefined ? null : v;
    };
    const row: WebRowWithSamples = {
      t: this.bucketEnd,
      p50_ms: q(0.5),
      p99_ms: q(0.99),
      max_ms: lat.length ? lat[lat.length - 1] : null,
      rps: r2((lat.length * 1000) / lengthMs),
      ok: lat.length,
      errors: this.errors,
      timeouts: this.timeouts,
      gap_ms: Math.round(this.gap),
      lat_ms: lat,
    };
    this.lat = [];
    this.errors = 0;
    this.timeouts = 0;
    this.gap = 0;
    return row;
  }
}
