/**
 * Guest-side clock and process helpers shared by the workloads that report metrics.
 *
 * Times are the guest's /proc/uptime (monotonic in the guest, seconds with 2 decimals): the start
 * script saves it in /tmp/wl.t0, log lines carry uptimes, and metricsScript() heads its output with
 * `@wl-clock start=<uptime at start> now=<uptime now>`, so a row's `t_s` (seconds since the start)
 * maps to host time as `host time when the metrics were fetched - (now - start) + t_s`.
 */

/** Shell expression: the guest's uptime in seconds (e.g. `12.34`). */
export const UPTIME = "$(cut -d' ' -f1 /proc/uptime)";

/** Guest script lines run first by every start script: clears old state, records the start time. */
export const MARK_START = `rm -f /tmp/wl.ready /tmp/wl.metrics /tmp/wl.pids\necho ${UPTIME} > /tmp/wl.t0`;

/** Guest script printing the clock line, then `file` (if it exists). */
export function metricsDump(file: string): string {
  return `echo "@wl-clock start=$(cat /tmp/wl.t0 2>/dev/null || echo 0) now=${UPTIME}"\ncat ${file} 2>/dev/null\ntrue`;
}

export interface WorkloadClock {
  start_uptime_s: number;
  now_uptime_s: number;
}

/** The clock line of a metricsScript() output, if present. */
export function parseWorkloadClock(text: string): WorkloadClock | undefined {
  const m = /^@wl-clock start=(\d+(?:\.\d+)?) now=(\d+(?:\.\d+)?)\s*$/m.exec(text);
  return m ? { start_uptime_s: Number(m[1]), now_uptime_s: Number(m[2]) } : undefined;
}

/** The workload's start uptime from the clock line, or 0 when absent. */
export function clockStart(text: string): number {
  return parseWorkloadClock(text)?.start_uptime_s ?? 0;
}

/** Drops an unterminated last line (a log fetched while being written), then splits into lines. */
export function completeLines(text: string): string[] {
  const lines = text.split('\n');
  lines.pop(); // '' after a final newline, or a partial line
  return lines.map((l) => l.replace(/\r$/, ''));
}

/** Rounds to 3 decimals (uptime differences carry float noise). */
export const r3 = (v: number): number => Math.round(v * 1000) / 1000;

/**
 * Stops the workload: every process started from the PIDs in /tmp/wl.pid and /tmp/wl.pids, with
 * all their descendants. The tree is frozen first (SIGSTOP, collected twice, so a child forked
 * while collecting is caught) because orphans move to init; then TERM, CONT, and KILL for what is
 * left. The guest's busybox has no pkill.
 */
export const STOP_TREE = [
  'tree() { local c; T="$T $1"; for c in $(cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" \'$4 == p { print $1 ' +
    "}'); do tree $c; done; }",
  'collect() { T=; for p in $(cat /tmp/wl.pid /tmp/wl.pids 2>/dev/null); do kill -0 $p 2>/dev/null && tree $p; done; }',
  'collect; [ -n "$T" ] && kill -STOP $T 2>/dev/null',
  'collect; [ -n "$T" ] && kill -STOP $T 2>/dev/null',
  'if [ -n "$T" ]; then kill -TERM $T 2>/dev/null; kill -CONT $T 2>/dev/null; sleep 0.3; kill -9 $T 2>/dev/null; fi',
  // wait (at most ~2 s) until none is left but zombies (busybox init reaps them about once a second)
  'live() { for p in $T; do [ -d /proc/$p ] && ! grep -q "^State:.*Z" /proc/$p/status 2>/dev/null && return 0; done; ' +
    'return 1; }',
  'i=0; while live && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done',
  'true',
].join('\n');
