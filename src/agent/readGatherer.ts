import type { Socket } from 'node:net';
import type { TargetStats } from './protocol.js';
import { readIntoReusedBuffer } from '../util/reusedInput.js';

/** Reads from the source are decoded together when they arrive within this long, or add up to this much. */
const COALESCE_MS = 1;
const COALESCE_BYTES = 256 * 1024;
/** Reads land in slabs of this size, reused; a slab with less room than MIN_READ left is retired. */
const SLAB_BYTES = 1 << 20;
const MIN_READ = 64 * 1024;
/** Slabs kept for reuse. */
const MAX_POOLED = 64;

/**
 * Over a paced link the socket delivers a segment or two per read. Reads are gathered for up to
 * COALESCE_MS (or COALESCE_BYTES) and handed on as one batch: one QEMU write and coalesced NAS
 * reads per batch, instead of per-read overhead on every few KiB. A FIN from the source hands on
 * what arrived before it, before the connection is judged.
 *
 * The socket reads straight into reused 1 MiB slabs (readIntoReusedBuffer: no fresh buffer, page
 * faults or garbage per read), one after the other, so a batch is one view of one slab. A full slab
 * is retired through `retire`: the consumer gives it back with `release` once nothing refers to it
 * any more (its batches written, the decoder's unfinished frame copied).
 */
export class ReadGatherer {
  /** The socket to read, pause, resume and write from now on (the accepted one's handle, re-wrapped). */
  readonly socket: Socket;
  private readonly pool: Buffer[] = [];
  private slab: Buffer;
  /** Bytes of `slab` read so far; those from `start` on are gathered, not handed on yet. */
  private at = 0;
  private start = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    peer: Socket,
    private readonly stats: TargetStats,
    /** One batch of reads, in arrival order; throwing stops the gatherer (the error goes to `fail`). */
    private readonly process: (chunks: Buffer[]) => void,
    private readonly fail: (e: Error) => void,
    /** A slab that is full and handed on: `release` it once nothing refers to it. */
    private readonly retire: (slab: Buffer) => void,
  ) {
    this.slab = Buffer.allocUnsafe(SLAB_BYTES);
    const input = readIntoReusedBuffer(peer, this.onRead, this.nextBuffer);
    this.socket = input.socket;
    this.socket.on('end', this.flush);
  }

  /** A slab `retire` handed out, no longer referred to: the socket may read into it again. */
  release(slab: Buffer): void {
    if (this.pool.length < MAX_POOLED) this.pool.push(slab);
  }

  /** The room left in the current slab, a fresh (pooled) slab once it is nearly full. */
  private readonly nextBuffer = (): Buffer => {
    if (this.slab.length - this.at < MIN_READ) {
      this.flush();
      this.retire(this.slab);
      this.slab = this.pool.pop() ?? Buffer.allocUnsafe(SLAB_BYTES);
      this.at = 0;
      this.start = 0;
    }
    return this.slab.subarray(this.at);
  };

  /** A read: in place when it landed in the slab's room, else (Node's own chunk) copied there. */
  private readonly onRead = (chunk: Buffer): void => {
    if (this.stopped) return;
    this.stats.socket_reads++;
    const inPlace = chunk.buffer === this.slab.buffer && chunk.byteOffset === this.slab.byteOffset + this.at;
    if (!inPlace) {
      if (chunk.length > this.slab.length - this.at) this.nextBuffer();
      if (chunk.length > this.slab.length - this.at) {
        // larger than a slab's room (Node's own chunk before the handover): handed on as it is
        this.flush();
        this.handOn([chunk]);
        return;
      }
      chunk.copy(this.slab, this.at);
    }
    this.at += chunk.length;
    // (not before the constructor returned: the consumer is not complete before that)
    if (this.at - this.start >= COALESCE_BYTES && this.socket) this.flush();
    else this.timer ??= setTimeout(this.flush, COALESCE_MS);
  };

  /** Hands on what has been gathered (bound once: it is the timer's callback). */
  private readonly flush = (): void => {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || this.at === this.start) return;
    const chunk = this.slab.subarray(this.start, this.at);
    this.start = this.at;
    this.handOn([chunk]);
  };

  private handOn(chunks: Buffer[]): void {
    this.stats.batches++;
    try {
      this.process(chunks);
    } catch (err) {
      this.stopped = true;
      this.fail(err as Error);
    }
  }

  /** Nothing more is handed on (the migration failed). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
