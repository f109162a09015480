import type { WorkloadSpec } from '../scenario/types.js';
import type { GuestImage } from '../image/build.js';

/** A guest workload: how it starts (a guest shell script) and how it tells it is warmed up. */
export interface Workload {
  readonly spec: WorkloadSpec;
  /** Refuses parameters the image cannot satisfy (before anything starts). */
  check(image: GuestImage, memoryMib: number): void;
  /** Guest shell script that starts the workload in the background and returns at once. */
  startScript(image: GuestImage): string;
  /** Guest shell script printing `ready` once the workload is warmed up. */
  readyScript(): string;
  /** Guest shell script that stops the workload (best effort). */
  stopScript(): string;
}

/** Starts `body` (a shell script) detached in the guest, with its output in /tmp/wl.log. */
export function detached(body: string): string {
  return `cat > /tmp/wl.sh <<'POFBENCH_WL'\n${body}\nPOFBENCH_WL\nsh /tmp/wl.sh > /tmp/wl.log 2>&1 < /dev/null &\necho $! > /tmp/wl.pid\necho started`;
}

export const STOP_DETACHED = 'test -f /tmp/wl.pid && kill $(cat /tmp/wl.pid) 2>/dev/null; pkill -P $(cat /tmp/wl.pid 2>/dev/null || echo 0) 2>/dev/null; true';

/**
 * Wraps a readiness test (a shell condition) so a workload that died is reported at once as
 * `failed: <its last output>` instead of being waited for until the timeout.
 */
export function readyUnlessDead(condition: string, waitingDetail = ''): string {
  return `if ${condition}; then echo ready; elif kill -0 $(cat /tmp/wl.pid 2>/dev/null || echo 0) 2>/dev/null; then echo "waiting ${waitingDetail}"; else echo "failed: $(tail -c 300 /tmp/wl.log 2>/dev/null | tr '\\n' ' ')"; fi`;
}
