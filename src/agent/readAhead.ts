import { PAGE_SIZE } from '../codec/bytes.js';

/** Read-ahead limits of the source agent (see ReadAhead). */
export interface ReadAheadLimits {
  /** QEMU stream bytes read but not yet delivered, at most (the stream window while read-ahead is on). */
  windowBytes: number;
  /** Encoded bytes queued for the link in the agent's memory, at most. */
  linkBytes: number;
  /** Read-ahead ends this many pages before the end of the first pass. */
  tailPages: number;
}

/** QEMU's RAM blocks (idstr → used length, in declaration order) and where its last RAM record was. */
export interface RamPosition {
  blocks: ReadonlyMap<string, number>;
  lastBlock: string | undefined;
  last: { addr: number };
}

/**
 * Whether the source agent may read QEMU's stream far ahead of the link: during the first pre-copy
 * pass only, and not in its last `tailPages` pages.
 *
 * QEMU walks guest RAM in its first pass block by block, in the order the stream declares them, each
 * at rising offsets; the pass ends where the walk goes back. Within it QEMU cannot stop the guest
 * (its switchover decision comes after a pass), so a backlog held by the agent costs no downtime as
 * long as it drains before the pass ends. Read-ahead lets QEMU and the source agent do their work
 * for the pages ahead (reading RAM, hashing, index lookups) while the link still carries the literal
 * pages before them, where on a slow link the CPU otherwise idles, and the link then carries
 * literals while the target reads NAS blocks. From `tailPages` before the pass's end the agent is
 * back to its stream window: QEMU waits for the backlog to drain before it can send the tail, and
 * the tail (at least 9 bytes of stream per page even when all zero) is more than the socket to QEMU
 * holds, so QEMU cannot finish the pass before that. Once off, read-ahead stays off.
 */
export class ReadAhead {
  /** Read-ahead is on (the first pass, before its tail). */
  on: boolean;
  /** QEMU stream bytes read while it was on. */
  bytesRead = 0;
  private lastPage = -1;

  constructor(private readonly limits: ReadAheadLimits | undefined) {
    this.on = limits !== undefined;
  }

  get windowBytes(): number {
    return this.limits?.windowBytes ?? 0;
  }

  get linkBytes(): number {
    return this.limits?.linkBytes ?? 0;
  }

  /** After `bytes` of QEMU stream were parsed: is the walk still in the first pass, before its tail? */
  update(ram: RamPosition, bytes: number): boolean {
    if (!this.on || !this.limits) return false;
    this.bytesRead += bytes;
    if (ram.lastBlock === undefined) return true;
    let page = 0;
    let total = 0;
    for (const [idstr, length] of ram.blocks) {
      if (idstr === ram.lastBlock) page = total + Math.floor(ram.last.addr / PAGE_SIZE);
      total += Math.ceil(length / PAGE_SIZE);
    }
    if (page < this.lastPage || page >= total - this.limits.tailPages) this.on = false;
    this.lastPage = page;
    return this.on;
  }
}
