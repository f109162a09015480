/**
 * A run directory's time series, `series/<name>.jsonl` (one JSON object a line), and their one
 * reader. The runner writes them (src/results/runDir.ts); the InfluxDB sink and the HTML report read
 * them. Fields a writer could not fill are absent.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** QMP `query-migrate`'s RAM statistics (the fields we read; QEMU sends more). */
export interface QmpRam {
  transferred: number;
  remaining: number;
  mbps: number;
  'dirty-sync-count': number;
  'dirty-pages-rate'?: number;
  [k: string]: unknown;
}

/** One `series/qmp.jsonl` row: QMP `query-migrate` output sampled at 10 Hz, `t` in ms since epoch. */
export interface QmpRow {
  t: number;
  status?: string;
  ram?: QmpRam;
  [k: string]: unknown;
}

/** One `series/host-{src,dst}.jsonl` row (src/hosts/sampleHost.ts): cumulative NIC byte counters. */
export interface HostRow {
  t: number;
  nic?: Record<string, [rx: number, tx: number]>;
}

/** One `series/web.jsonl` row: the web workload's responses that completed in the bucket (t-bucketMs, t]. */
export interface WebRow {
  /** End of the bucket, ms since epoch. */
  t: number;
  /** Latency quantiles of the bucket's successful (2xx) responses, ms; null when there were none. */
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  /** Successful responses per second over the bucket. */
  rps: number;
  /** Successful responses in the bucket. */
  ok: number;
  /** Failed requests: connection errors, timeouts and non-2xx responses. */
  errors: number;
  /** Of those, timeouts. */
  timeouts: number;
  /** Largest gap between two successful responses (or the load start) ending in this bucket, ms. */
  gap_ms: number;
}

/** Parses JSON lines, skipping blank and broken lines (a crash can leave a partial last line) and rows `valid` refuses. */
export function parseJsonl<T>(text: string, valid: (row: unknown) => row is T = (_row): _row is T => true): T[] {
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const row: unknown = JSON.parse(line);
      if (valid(row)) out.push(row);
    } catch {
      /* partial line */
    }
  }
  return out;
}

/** The rows of `series/<name>.jsonl` in `runDir`; undefined when there is no such file. */
export async function readSeriesFile<T>(
  runDir: string,
  name: string,
  valid?: (row: unknown) => row is T,
): Promise<T[] | undefined> {
  let text: string;
  try {
    text = await readFile(join(runDir, 'series', `${name}.jsonl`), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // no such file, or a file where a directory was expected
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  return parseJsonl(text, valid);
}

/** The rows of `series/<name>.jsonl` in `runDir`; none when there is no such file. */
export async function readSeries<T>(runDir: string, name: string, valid?: (row: unknown) => row is T): Promise<T[]> {
  return (await readSeriesFile(runDir, name, valid)) ?? [];
}
