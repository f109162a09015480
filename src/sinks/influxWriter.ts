import { InfluxDB, HttpError, setLogger } from '@influxdata/influxdb-client';
import { PRECISION } from './influxPoints.js';

/** Where points go. `token` is optional: unauthenticated servers (and VictoriaMetrics) take none. */
export interface InfluxConfig {
  url: string;
  token?: string;
  org: string;
  bucket: string;
}

/** Batching and retry settings handed to the client's WriteApi. */
export interface WriteTuning {
  batchSize: number;
  maxRetries: number;
  minRetryDelayMs: number;
  maxRetryDelayMs: number;
  /** Per HTTP request. */
  timeoutMs: number;
}

export const DEFAULT_TUNING: WriteTuning = {
  batchSize: 5000,
  maxRetries: 3,
  minRetryDelayMs: 500,
  maxRetryDelayMs: 4000,
  timeoutMs: 10000,
};

export interface WriteOutcome {
  /** Lines the server accepted. */
  sent: number;
  /** Lines not accepted after every retry, in their original order. */
  unsent: string[];
  /** Why (the last error), when something was not sent. */
  error?: string;
}

// The client logs every failed attempt to the console; we report one line per write instead.
setLogger({
  error: (message, err) => {
    if (process.env.POFBENCH_DEBUG) console.error(`influx: ${message}`, err ?? '');
  },
  warn: (message, err) => {
    if (process.env.POFBENCH_DEBUG) console.error(`influx: ${message}`, err ?? '');
  },
});

export function describeError(err: unknown): string {
  if (err instanceof HttpError)
    return (
      `HTTP ${err.statusCode}` +
      `${err.body ? `: ${err.body.trim().split('\n')[0].slice(0, 200)}` : err.message ? `: ${err.message}` : ''}`
    );
  const e = err as { message?: string; code?: string; errors?: { message?: string }[] };
  return e?.message || e?.errors?.[0]?.message || e?.code || String(err);
}

/** Whether the client will retry this failure itself (its rule: any non-HTTP error, HTTP ≥ 429). */
const retriable = (err: Error) => !(err instanceof HttpError) || err.statusCode >= 429;

/**
 * Writes line protocol through the official client (batches of `batchSize`, the client's own
 * retries with exponential back-off) and waits until every batch is either accepted or given up on.
 * Never throws for a server problem: what could not be sent comes back in `unsent`.
 */
export async function writeLines(
  cfg: InfluxConfig,
  lines: string[],
  tuning: WriteTuning = DEFAULT_TUNING,
): Promise<WriteOutcome> {
  if (lines.length === 0) return { sent: 0, unsent: [] };
  const notAccepted = new Map<string, number>();
  for (const l of lines) notAccepted.set(l, (notAccepted.get(l) ?? 0) + 1);
  let open = lines.length; // lines neither accepted nor given up on
  let sent = 0;
  let lastError: string | undefined;
  let allSettled!: () => void;
  const settled = new Promise<void>((r) => {
    allSettled = r;
  });
  const settle = (n: number) => {
    open -= n;
    if (open <= 0) allSettled();
  };

  const api = new InfluxDB({ url: cfg.url, token: cfg.token || undefined, timeout: tuning.timeoutMs }).getWriteApi(
    cfg.org,
    cfg.bucket,
    PRECISION,
    {
      batchSize: tuning.batchSize,
      flushInterval: 0,
      maxRetries: tuning.maxRetries,
      minRetryDelay: tuning.minRetryDelayMs,
      maxRetryDelay: tuning.maxRetryDelayMs,
      exponentialBase: 2,
      // bounded by maxRetries and the request timeout instead (see the wait below)
      maxRetryTime: 24 * 3600 * 1000,
      maxBufferLines: lines.length + 1,
      writeSuccess(ok: string[]) {
        for (const l of ok) notAccepted.set(l, (notAccepted.get(l) ?? 1) - 1);
        sent += ok.length;
        settle(ok.length);
      },
      writeFailed(err: Error, failed: string[], attempt: number) {
        lastError = describeError(err);
        if (attempt > tuning.maxRetries || !retriable(err)) settle(failed.length);
        return undefined; // let the client retry as configured
      },
      writeRetrySkipped(entry: { lines: string[] }) {
        lastError = 'client retry buffer overflow';
        settle(entry.lines.length);
      },
    },
  );
  api.writeRecords(lines);
  api.flush().catch(() => undefined); // failures are seen in writeFailed; retries run on their own
  // Belt and braces: every attempt is bounded by the request timeout and every delay by maxRetryDelay.
  const bound = (tuning.maxRetries + 1) * (tuning.timeoutMs + tuning.maxRetryDelayMs) + 5000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    settled.then(() => false),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(true), bound);
    }),
  ]);
  clearTimeout(timer);
  api.dispose();
  if (timedOut) lastError = `${lastError ? `${lastError}; ` : ''}gave up after ${Math.round(bound / 1000)} s`;

  const unsent: string[] = [];
  for (const l of lines) {
    const n = notAccepted.get(l) ?? 0;
    if (n > 0) {
      unsent.push(l);
      notAccepted.set(l, n - 1);
    }
  }
  return unsent.length ? { sent, unsent, error: lastError ?? 'not accepted' } : { sent, unsent };
}
