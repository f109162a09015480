/**
 * The switchover of one migration, step by step, in ms after the guest stopped on the source:
 * the source QEMU sent its last byte, the last byte left the source agent (pof), the destination
 * QEMU had the last byte, the guest ran on the destination, and a client saw it answer again.
 * QMP `downtime` hides where the time goes; these fields show it.
 */
import type { TimelineEvent } from '../qemu/vm.js';
import { largestTimeGap } from './probe.js';

export interface SwitchoverInput {
  src: TimelineEvent[];
  dst: TimelineEvent[];
  /**
   * pof: when the source agent wrote its last byte to the link, and the target its last byte to QEMU (ms since epoch)
   */
  agentOutAt?: number;
  qemuInAt?: number;
  /** probe replies (ms since epoch) */
  replies: number[];
  /** when `migrate` was issued (ms since epoch): the live phase runs from it to the guest's stop */
  startedAt?: number;
}

export interface SwitchoverFields {
  switchover_src_sent_ms?: number;
  switchover_agent_out_ms?: number;
  switchover_dst_loaded_ms?: number;
  switchover_dst_running_ms?: number;
  switchover_first_reply_ms?: number;
  /**
   * The probe around the switchover: the gap from the last reply before the guest stopped to the first
   * after; and the largest gap while the guest still ran on the source (a guest slowed by the migration,
   * e.g. its vCPU starved of CPU). app_downtime_ms is the largest of all gaps in the migration.
   */
  app_switchover_gap_ms?: number;
  app_live_gap_ms?: number;
}

const last = (events: TimelineEvent[], pick: (e: TimelineEvent) => boolean) => events.filter(pick).pop()?.t;

export function switchoverBreakdown(i: SwitchoverInput): SwitchoverFields {
  const stop = last(i.src, (e) => e.event === 'STOP');
  if (stop === undefined) return {};
  const after = (t: number | undefined) => (t !== undefined && t >= stop ? Math.round(t - stop) : undefined);
  const srcSent = last(i.src, (e) => e.event === 'MIGRATION' && e.status === 'completed');
  const dstLoaded = i.qemuInAt ?? last(i.dst, (e) => e.event === 'MIGRATION' && e.status === 'completed');
  const running = i.dst.find((e) => e.event === 'RESUME' && e.t >= stop)?.t;
  const reply = i.replies.find((t) => t > (running ?? stop));
  const out: SwitchoverFields = {
    switchover_src_sent_ms: after(srcSent),
    switchover_agent_out_ms: after(i.agentOutAt),
    switchover_dst_loaded_ms: after(dstLoaded),
    switchover_dst_running_ms: after(running),
    switchover_first_reply_ms: after(reply),
    ...probeGaps(i.replies, stop, reply, i.startedAt),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/**
 * The switchover's probe gap, and the largest gap of the live phase measured as app_downtime_ms is
 * (replies sorted by time).
 */
function probeGaps(
  replies: number[],
  stop: number,
  firstAfter: number | undefined,
  startedAt: number | undefined,
): Pick<SwitchoverFields, 'app_switchover_gap_ms' | 'app_live_gap_ms'> {
  const before = replies.filter((t) => t <= stop).pop();
  const out: Pick<SwitchoverFields, 'app_switchover_gap_ms' | 'app_live_gap_ms'> = {};
  if (before !== undefined && firstAfter !== undefined) out.app_switchover_gap_ms = Math.round(firstAfter - before);
  if (startedAt !== undefined && before !== undefined)
    out.app_live_gap_ms = Math.round(largestTimeGap(replies, startedAt, before).gapMs);
  return out;
}
