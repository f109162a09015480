import { sha256Matches } from '../codec/sha256.js';
import { BLOCK, type BlockImage } from './nasImage.js';
import type { TargetStats } from './protocol.js';
import type { RefPart, SourcePages } from './sourcePages.js';

export interface NasReaderOptions {
  /** NAS reads in flight at most. */
  concurrency: number;
  /** Most blocks per NAS request. */
  maxRun: number;
  /** Deadline of one NAS read; past it the NAS counts as down. */
  timeoutMs: number;
}

/**
 * The target's NAS reads: a batch's refs sorted by block, so that pages of one file (scattered over
 * guest RAM, contiguous on the disk) are read with a few requests of up to `maxRun` blocks rather
 * than one per page; refs to one block share its read. Every page is verified against the hash the
 * source sent; a mismatch, or a NAS that fails, is served by the source (SourcePages). Read buffers
 * are reused: fewer large allocations, far less GC.
 */
export class NasReader {
  private inFlight = 0;
  private readonly deadlines: ReadDeadlines;
  private readonly slots: (() => void)[] = [];
  private readonly pool: Buffer[] = [];

  constructor(
    private readonly image: BlockImage,
    private readonly source: SourcePages,
    private readonly stats: TargetStats,
    private readonly o: NasReaderOptions,
  ) {
    this.deadlines = new ReadDeadlines(o.timeoutMs);
  }

  /** Starts the reads of `refs`; each read's buffer goes to `runBuffers` (give them back with `release`). */
  readRefs(refs: RefPart[], runBuffers: Buffer[]): Promise<void>[] {
    const maxRun = this.o.maxRun;
    const sorted = refs.length > 1 ? [...refs].sort((a, b) => a.block - b.block) : refs;
    const reads: Promise<void>[] = [];
    for (let i = 0; i < sorted.length; ) {
      let j = i + 1;
      while (
        j < sorted.length &&
        sorted[j].block - sorted[i].block < maxRun &&
        sorted[j].block - sorted[j - 1].block <= 1
      )
        j++;
      reads.push(
        this.readRun(sorted.slice(i, j)).then((buf) => {
          if (buf) runBuffers.push(buf);
        }),
      );
      i = j;
    }
    this.stats.nas_reads += reads.length;
    return reads;
  }

  /** Read buffers whose pages have been copied out: back to the pool. */
  release(buffers: Buffer[]): void {
    for (const r of buffers) if (this.pool.length < this.o.concurrency) this.pool.push(r);
  }

  /**
   * Reads the blocks of a run of refs (sorted by block, adjacent or shared) with one NAS request,
   * bounded by `concurrency` requests in flight, and verifies the block of every ref against the
   * hash the source sent. Resolves to the (reusable) buffer the run was read into, once
   * every page of the run is in.
   */
  private async readRun(run: RefPart[]): Promise<Buffer | undefined> {
    if (this.source.nasDown) return void (await this.source.unavailable(run));
    const first = run[0].block;
    const count = run[run.length - 1].block - first + 1;
    while (this.inFlight >= this.o.concurrency) await new Promise<void>((r) => this.slots.push(r));
    this.inFlight++;
    let buf: Buffer;
    const slab = this.pool.pop() ?? Buffer.allocUnsafe(this.o.maxRun * BLOCK);
    try {
      buf = await this.deadlines.within(this.image.readBlocks(first, count, slab));
    } catch (err) {
      this.pool.push(slab);
      this.source.markNasDown(err as Error);
      return void (await this.source.unavailable(run));
    } finally {
      this.inFlight--;
      this.slots.shift()?.();
    }
    for (const r of run) {
      const at = (r.block - first) * BLOCK;
      const page = buf.subarray(at, at + BLOCK);
      r.page = sha256Matches(page, r.hash, 0) ? page : await this.source.mismatch(r);
    }
    return slab;
  }
}

/**
 * The deadline of every NAS read in flight, checked by one interval timer while reads are pending
 * (not a timer and a promise race per read: thousands of reads per second). A read fails within
 * `ms` to 1.25 `ms` of its start; the read itself may still finish later, unseen.
 */
class ReadDeadlines {
  private readonly pending = new Set<{ at: number; reject: (e: Error) => void }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  within<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = { at: Date.now() + this.ms, reject };
      this.pending.add(entry);
      this.timer ??= setInterval(this.check, Math.max(5, this.ms / 4));
      p.then(
        (v) => {
          this.pending.delete(entry);
          resolve(v);
        },
        (e) => {
          this.pending.delete(entry);
          reject(e);
        },
      );
    });
  }

  private readonly check = (): void => {
    const now = Date.now();
    for (const e of this.pending) {
      if (now < e.at) continue;
      this.pending.delete(e);
      e.reject(new Error(`NAS read took longer than ${this.ms} ms`));
    }
    if (this.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  };
}
