import { open, type FileHandle } from 'node:fs/promises';
import type { BlockImage } from './nasImage.js';
import { BLOCK } from './nasImage.js';
import { BlockIndex, blocksOfRange, parseTraceLine } from '../codec/blockindex.js';

/**
 * I/O monitoring for the source agent: follows QEMU's block trace log (`-trace
 * enable=blk_co_p*,file=LOG`) while the guest runs. Blocks the guest reads are hashed from the NAS
 * and indexed; blocks it writes are invalidated at once and hashed again a little later (after the
 * write reached the NAS). Costs (NAS bytes read, busy time) are counted for the record.
 *
 * A stale entry can never make a wrong page: the target verifies every block against the hash the
 * source sent, and asks the source for its retained copy on a mismatch.
 */
export class TraceIndexer {
  readonly index = new BlockIndex();
  nasReadBytes = 0;
  busyMs = 0;
  linesSeen = 0;
  private offset = 0;
  private partial = '';
  private fh?: FileHandle;
  private timer?: NodeJS.Timeout;
  private readonly pending = new Set<number>();
  private readonly rehashAt = new Map<number, number>();
  private working: Promise<void> | undefined;
  private stopped = false;
  /** Called after every tick (the source agent publishes its index status from here). */
  onTick?: (indexer: TraceIndexer) => void;

  constructor(
    private readonly logPath: string,
    private readonly image: BlockImage,
    private readonly log: (l: string) => void = () => undefined,
    private readonly rehashDelayMs = 1000,
    private readonly pollMs = 100,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.pollMs);
  }

  /** Stops following; waits for a pass in progress so nothing reads the image afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.working;
    await this.fh?.close().catch(() => undefined);
  }

  /** Reads new trace lines, then hashes what is due. Exposed for tests. */
  tick(): Promise<void> {
    if (this.working || this.stopped) return this.working ?? Promise.resolve();
    this.working = (async () => {
      try {
        await this.readNewLines();
        const now = Date.now();
        for (const [block, at] of this.rehashAt) {
          if (at <= now) {
            this.rehashAt.delete(block);
            this.pending.add(block);
          }
        }
        await this.hashPending();
        this.caughtUp = this.fh !== undefined && this.offset >= (await this.fh.stat()).size && this.pending.size === 0;
        this.onTick?.(this);
      } catch (err) {
        this.log(`indexer: ${(err as Error).message}`);
      } finally {
        this.working = undefined;
      }
    })();
    return this.working;
  }

  /**
   * Caught up: the last tick read the trace log to its end and hashed every block the guest read.
   * (Blocks written less than `rehashDelayMs` ago wait to be hashed again; they do not count.)
   */
  caughtUp = false;
  /** Trace log bytes read so far. */
  get traceBytes(): number {
    return this.offset;
  }

  private async readNewLines(): Promise<void> {
    if (!this.fh) {
      try {
        this.fh = await open(this.logPath, 'r');
      } catch {
        return; // QEMU has not created it yet
      }
    }
    const { size } = await this.fh.stat();
    while (this.offset < size) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, size - this.offset));
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      const text = this.partial + buf.subarray(0, bytesRead).toString('latin1');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    }
  }

  private onLine(line: string): void {
    const ev = parseTraceLine(line);
    if (!ev) return;
    this.linesSeen++;
    for (const b of blocksOfRange(ev.offset, ev.bytes)) {
      if (b >= this.image.blocks) break;
      if (ev.op === 'write') {
        this.index.invalidate(b);
        this.pending.delete(b);
        this.rehashAt.set(b, Date.now() + this.rehashDelayMs);
      } else if (!this.index.has(b) && !this.rehashAt.has(b)) {
        this.pending.add(b);
      }
    }
  }

  /** Reads pending blocks in runs of consecutive blocks (≤ 1 MiB per read) and indexes them. */
  private async hashPending(): Promise<void> {
    if (this.pending.size === 0) return;
    const t0 = performance.now();
    const blocks = [...this.pending].sort((a, b) => a - b);
    this.pending.clear();
    for (let i = 0; i < blocks.length && !this.stopped; ) {
      let j = i + 1;
      while (j < blocks.length && blocks[j] === blocks[j - 1] + 1 && j - i < 256) j++;
      const buf = await this.image.readBlocks(blocks[i], j - i);
      this.nasReadBytes += buf.length;
      for (let k = i; k < j; k++) {
        if (!this.rehashAt.has(blocks[k]))
          this.index.addBlock(blocks[k], buf.subarray((k - i) * BLOCK, (k - i + 1) * BLOCK));
      }
      i = j;
    }
    this.busyMs += performance.now() - t0;
  }
}
