import { PAGE_SIZE } from '../codec/bytes.js';

/** Slots beyond the retention limit: the refs of the chunk being encoded when the limit is reached. */
const SLACK_PAGES = 1024;

/**
 * The source's retention window: every page sent by reference, kept until the target acknowledges
 * it, so a block that changed on the NAS can still be delivered byte-exact (NEED → PAGE). One ring
 * of page slots (no allocation per page), touched when made, before QEMU connects, so the
 * migration's first refs do not pay for page faults.
 */
export class RetentionRing {
  private readonly ring: Buffer;
  private readonly slots: number;
  /** Seq of the next ref; refs below `acked` are no longer needed. */
  nextSeq = 0;
  acked = 0;

  constructor(retentionPages: number) {
    this.ring = Buffer.allocUnsafe((retentionPages + SLACK_PAGES) * PAGE_SIZE).fill(0);
    this.slots = this.ring.length / PAGE_SIZE;
  }

  /** Refs sent and not yet acknowledged. */
  get unacked(): number {
    return this.nextSeq - this.acked;
  }

  /** Keeps the page of the next ref (seq `nextSeq`): the page at `buf[at .. at + 4096)`. */
  keepAt(buf: Buffer, at: number): void {
    if (this.nextSeq - this.acked >= this.slots)
      throw new Error(`retention window overflow: ${this.nextSeq - this.acked} unacknowledged refs`);
    buf.copy(this.ring, (this.nextSeq % this.slots) * PAGE_SIZE, at, at + PAGE_SIZE);
    this.nextSeq++;
  }

  /** The target has every ref below `upTo`. */
  ack(upTo: number): void {
    if (upTo < this.acked || upTo > this.nextSeq)
      throw new Error(`target acknowledged refs up to #${upTo}, outside ${this.acked}..${this.nextSeq}`);
    this.acked = upTo;
  }

  /** The retained page of ref `seq` (a view into the ring). */
  page(seq: number): Buffer {
    if (seq < this.acked || seq >= this.nextSeq)
      throw new Error(
        `target asked for page #${seq}, which is outside the retention window (${this.acked}..${this.nextSeq - 1})`,
      );
    const slot = (seq % this.slots) * PAGE_SIZE;
    return this.ring.subarray(slot, slot + PAGE_SIZE);
  }
}
