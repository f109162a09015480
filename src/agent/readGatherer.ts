import type { Socket } from 'node:net';
import type { TargetStats } from './protocol.js';

/** Reads from the source are decoded together when they arrive within this long, or add up to this much. */
const COALESCE_MS = 1;
const COALESCE_BYTES = 256 * 1024;

/**
 * Over a paced link the socket delivers a segment or two per read. Reads are gathered for up to
 * COALESCE_MS (or COALESCE_BYTES) and handed on as one batch: one QEMU write and coalesced NAS
 * reads per batch, instead of per-read overhead on every few KiB. A FIN from the source hands on
 * what arrived before it, before the connection is judged.
 */
export class ReadGatherer {
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    peer: Socket,
    private readonly stats: TargetStats,
    /** One batch of reads, in arrival order; throwing stops the gatherer (the error goes to `fail`). */
    private readonly process: (chunks: Buffer[]) => void,
    private readonly fail: (e: Error) => void,
  ) {
    peer.on('data', (d: Buffer) => {
      if (this.stopped) return;
      stats.socket_reads++;
      this.gathered.push(d);
      this.gatheredBytes += d.length;
      if (this.gatheredBytes >= COALESCE_BYTES) this.flush();
      else this.timer ??= setTimeout(this.flush, COALESCE_MS);
    });
    peer.on('end', this.flush);
  }

  /** Hands on what has been gathered (bound once: it is the timer's callback). */
  private readonly flush = (): void => {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || this.gathered.length === 0) return;
    const chunks = this.gathered;
    this.gathered = [];
    this.gatheredBytes = 0;
    this.stats.batches++;
    try {
      this.process(chunks);
    } catch (err) {
      this.stopped = true;
      this.fail(err as Error);
    }
  };

  /** Nothing more is handed on (the migration failed). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
