import { sha256Into, sha256Matches } from '../codec/sha256.js';
import type { Hint } from './refHints.js';
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

/** A hinted block read ahead of its ref: its page and the page's SHA-256 once `ready` (none: the read failed). */
export interface Prefetched {
  seq: number;
  block: number;
  page?: Buffer;
  digest?: Buffer;
  ready: Promise<void>;
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
    const reads = this.runs(refs).map((run) =>
      this.readRun(run).then((buf) => {
        if (buf) runBuffers.push(buf);
      }),
    );
    this.stats.nas_reads += reads.length;
    return reads;
  }

  /**
   * Starts reading hinted blocks ahead of their refs, in runs as `readRefs` does, and hashes each
   * page once read; verification against the ref's hash is the caller's, when the ref arrives. A
   * failed read marks the NAS down and leaves the page out. The buffers are not pooled: their pages
   * wait for refs that come later.
   */
  prefetch(hints: Hint[]): Prefetched[] {
    const all = hints.map((h): Prefetched => ({ seq: h.seq, block: h.block, ready: Promise.resolve() }));
    for (const run of this.runs(all)) {
      const ready = this.prefetchRun(run);
      for (const p of run) p.ready = ready;
      this.stats.nas_reads++;
    }
    return all;
  }

  private async prefetchRun(run: Prefetched[]): Promise<void> {
    if (this.source.nasDown) return;
    const first = run[0].block;
    const count = run[run.length - 1].block - first + 1;
    let buf: Buffer;
    try {
      buf = await this.read(first, count, Buffer.allocUnsafe(count * BLOCK));
    } catch (err) {
      this.source.markNasDown(err as Error);
      return;
    }
    const digests = Buffer.allocUnsafe(run.length * 32);
    for (let i = 0; i < run.length; i++) {
      const p = run[i];
      const at = (p.block - first) * BLOCK;
      p.page = buf.subarray(at, at + BLOCK);
      sha256Into(p.page, digests, i * 32);
      p.digest = digests.subarray(i * 32, i * 32 + 32);
    }
    this.stats.prefetched_pages += run.length;
  }

  /** `items` sorted by block, cut into runs of adjacent (or equal) blocks of at most `maxRun` blocks. */
  private runs<T extends { block: number }>(items: T[]): T[][] {
    const maxRun = this.o.maxRun;
    const sorted = items.length > 1 ? [...items].sort((a, b) => a.block - b.block) : items;
    const runs: T[][] = [];
    for (let i = 0; i < sorted.length; ) {
      let j = i + 1;
      while (
        j < sorted.length &&
        sorted[j].block - sorted[i].block < maxRun &&
        sorted[j].block - sorted[j - 1].block <= 1
      )
        j++;
      runs.push(sorted.slice(i, j));
      i = j;
    }
    return runs;
  }

  /** Reads `count` blocks from `first` into `into`, within the concurrency bound and the read deadline. */
  private async read(first: number, count: number, into: Buffer): Promise<Buffer> {
    while (this.inFlight >= this.o.concurrency) await new Promise<void>((r) => this.slots.push(r));
    this.inFlight++;
    try {
      return await this.deadlines.within(this.image.readBlocks(first, count, into));
    } finally {
      this.inFlight--;
      this.slots.shift()?.();
    }
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
    let buf: Buffer;
    const slab = this.pool.pop() ?? Buffer.allocUnsafe(this.o.maxRun * BLOCK);
    try {
      buf = await this.read(first, count, slab);
    } catch (err) {
      this.pool.push(slab);
      this.source.markNasDown(err as Error);
      return void (await this.source.unavailable(run));
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
