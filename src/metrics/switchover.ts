/**
 * The switchover of one migration, step by step, in ms after the guest stopped on the source:
 * the source QEMU sent its last byte, the last byte left the source agent (pof), the destination
 * QEMU had the last byte, the guest ran on the destination, and a client saw it answer again.
 * QMP `downtime` hides where the time goes; these fields show it.
 */
import type { TimelineEvent } from '../qemu/vm.js';

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
}

export interface SwitchoverFields {
  switchover_src_sent_ms?: number;
  switchover_agent_out_ms?: number;
  switchover_dst_loaded_ms?: number;
  switchover_dst_running_ms?: number;
  switchover_first_reply_ms?: number;
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
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}
