import type { SourceStats } from './protocol.js';

/** What held QEMU back at a sample: index = `held` of a SourceStats.stream_timeline row. */
const HELD = ['', 'link', 'stream_window', 'retention_window'] as const;

/** One row of the run's `pof-stream` series. */
export interface PofStreamRow {
  t: number;
  /** QEMU stream bytes the source agent read, POF bytes it sent, QEMU bytes the target handed on. */
  qemu_bytes: number;
  pof_bytes: number;
  delivered_bytes: number;
  ref_pages: number;
  /** What kept the source agent from reading QEMU ('' while it read). */
  held_by: (typeof HELD)[number];
}

/**
 * The source agent's stream timeline as series rows: where a pof migration's time went (regions
 * of literal pages at the link's pace, of references at the NAS path's, QEMU's own scans while
 * nothing moves).
 */
export function pofStreamRows(s: Partial<SourceStats>): PofStreamRow[] {
  return (s.stream_timeline ?? []).map(([t, qemu, pof, delivered, refs, held]) => ({
    t,
    qemu_bytes: qemu,
    pof_bytes: pof,
    delivered_bytes: delivered,
    ref_pages: refs,
    held_by: HELD[held] ?? '',
  }));
}
