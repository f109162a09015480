import type { WorkloadSpec } from '../scenario/types.js';
import type { GuestImage } from '../image/build.js';
import type { ImageLayout } from '../image/layout.js';

/**
 * What the guest serves and how the controller loads it (from the web workload's knobs; run by
 * src/metrics/webLoad.ts).
 */
export interface WebLoadSpec {
  port: number;
  /** URL paths on the guest's server and their sizes. */
  files: { path: string; bytes: number }[];
  order: 'round-robin' | 'random';
  objectBytes: number;
  connections: number;
  timeoutS: number;
}

/** A guest workload: how it starts (a guest shell script) and how it tells it is warmed up. */
export interface Workload {
  readonly spec: WorkloadSpec;
  /** Refuses parameters the image cannot satisfy (before anything starts). */
  check(image: ImageLayout, memoryMib: number): void;
  /** Guest shell script that starts the workload in the background and returns at once. */
  startScript(image: GuestImage): string;
  /** Guest shell script printing `ready` once the workload is warmed up. */
  readyScript(): string;
  /** Guest shell script that stops the workload (best effort). */
  stopScript(): string;
  /**
   * Guest shell script printing the workload's own log (e.g. sysbench's output), headed by the
   * clock line of ./clock.ts; run it before, during and after the migration. Absent: no metrics.
   */
  metricsScript?(): string;
  /** Parses metricsScript()'s output into a time series (tolerates a log cut mid-line). */
  parseMetrics?(text: string): WorkloadMetricsRow[];
  /**
   * Load the controller puts on the guest over the vm network from before `migrate` until a few
   * seconds after the guest answers on dst (the web workload). Absent: no controller load.
   */
  controllerLoad?(image: GuestImage): WebLoadSpec;
}

/**
 * One sample of a workload's own metrics. `t_s`: seconds since the workload started (guest
 * uptime at startScript(), see ./clock.ts), at the end of the interval the numbers describe;
 * the other keys are the workload's numbers (names with units, e.g. `mib_s`, `latency_ms_p95`).
 */
export type WorkloadMetricsRow = { t_s: number } & Record<string, number>;

/** Starts `body` (a shell script) detached in the guest, with its output in /tmp/wl.log. */
export function detached(body: string): string {
  return (
    `cat > /tmp/wl.sh <<'POFBENCH_WL'\n${body}\nPOFBENCH_WL\nsh /tmp/wl.sh > /tmp/wl.log 2>&1 < /dev/null ` +
    `&\necho $! > /tmp/wl.pid\necho started`
  );
}

export const STOP_DETACHED =
  'test -f /tmp/wl.pid && kill $(cat /tmp/wl.pid) 2>/dev/null; pkill -P $(cat /tmp/wl.pid 2>/dev/null || echo 0) ' +
  '2>/dev/null; true';

/**
 * Wraps a readiness test (a shell condition) so a workload that died is reported at once as
 * `failed: <its last output>` instead of being waited for until the timeout.
 */
export function readyUnlessDead(condition: string, waitingDetail = ''): string {
  return (
    `if ${condition}; then echo ready; elif kill -0 $(cat /tmp/wl.pid 2>/dev/null || echo 0) 2>/dev/null; then ` +
    `echo "waiting ${waitingDetail}"; else echo "failed: $(tail -c 300 /tmp/wl.log 2>/dev/null | tr '\\n' ' ')"; fi`
  );
}
