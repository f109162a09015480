import { open, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { NasImage } from './nasImage.js';
import { BLOCK } from './nasImage.js';
import type { PageIndex, PageRef } from './codecPort.js';
import { parseTraceLine } from './traceEvents.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
const isZero = (b: Buffer) => b.every((x) => x === 0);

/**
 * Content hash → NAS block, for blocks the guest is likely to hold in RAM. Keys are SHA-256 of the
 * 4 KiB content; a block's entry is dropped when the guest writes it (`invalidate`) and re-added
 * when it is hashed again. Zero blocks are never indexed (QEMU sends zero pages compactly).
 */
export class BlockHashIndex implements PageIndex {
  private readonly byHash = new Map<string, number>();
  private readonly byBlock = new Map<number, string>();

  get size(): number {
    return this.byBlock.size;
  }

  add(block: number, content: Buffer): void {
    if (isZero(content)) {
      this.invalidate(block);
      return;
    }
    const key = sha256(content).toString('latin1');
    const old = this.byBlock.get(block);
    if (old === key) return;
    if (old !== undefined && this.byHash.get(old) === block) this.byHash.delete(old);
    this.byBlock.set(block, key);
    this.byHash.set(key, block);
  }

  invalidate(block: number): void {
    const key = this.byBlock.get(block);
    if (key === undefined) return;
    this.byBlock.delete(block);
    if (this.byHash.get(key) === block) this.byHash.delete(key);
  }

  has(block: number): boolean {
    return this.byBlock.has(block);
  }

  lookup(page: Buffer): PageRef | undefined {
    const hash = sha256(page);
    const block = this.byHash.get(hash.toString('latin1'));
    return block === undefined ? undefined : { block, hash };
  }
}

/** Hashes every block of the image: the oracle index. */
export async function scanIndex(image: NasImage, chunkBlocks = 256): Promise<{ index: BlockHashIndex; ms: number }> {
  const t0 = Date.now();
  const index = new BlockHashIndex();
  for (let b = 0; b < image.blocks; b += chunkBlocks) {
    const n = Math.min(chunkBlocks, image.blocks - b);
    const buf = await image.readBlocks(b, n);
    for (let i = 0; i < n; i++) index.add(b + i, buf.subarray(i * BLOCK, (i + 1) * BLOCK));
  }
  return { index, ms: Date.now() - t0 };
}

/**
 * I/O monitoring: follows QEMU's block trace log while the guest runs. Blocks the guest reads are
 * hashed from the NAS and indexed; blocks it writes are invalidated at once and hashed again a
 * little later (after the write reached the NAS). Costs (NAS bytes read, busy time) are counted.
 */
export class TraceIndexer {
  readonly index = new BlockHashIndex();
  nasReadBytes = 0;
  busyMs = 0;
  linesSeen = 0;
  private offset = 0;
  private partial = '';
  private fh?: FileHandle;
  private timer?: NodeJS.Timeout;
  private readonly pending = new Set<number>();
  private readonly rehashAt = new Map<number, number>();
  private working = false;
  private stopped = false;

  constructor(private readonly logPath: string, private readonly image: NasImage, private readonly log: (l: string) => void = () => undefined,
    private readonly rehashDelayMs = 1000, private readonly pollMs = 100) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.pollMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    void this.fh?.close().catch(() => undefined);
  }

  /** Reads new trace lines, then hashes what is due. Exposed for tests. */
  async tick(): Promise<void> {
    if (this.working || this.stopped) return;
    this.working = true;
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
    } catch (err) {
      this.log(`indexer: ${(err as Error).message}`);
    } finally {
      this.working = false;
    }
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
    const first = Math.floor(ev.offset / BLOCK);
    const last = Math.min(Math.ceil((ev.offset + ev.bytes) / BLOCK), this.image.blocks);
    for (let b = first; b < last; b++) {
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
    for (let i = 0; i < blocks.length && !this.stopped;) {
      let j = i + 1;
      while (j < blocks.length && blocks[j] === blocks[j - 1] + 1 && j - i < 256) j++;
      const buf = await this.image.readBlocks(blocks[i], j - i);
      this.nasReadBytes += buf.length;
      for (let k = i; k < j; k++) {
        if (!this.rehashAt.has(blocks[k])) this.index.add(blocks[k], buf.subarray((k - i) * BLOCK, (k - i + 1) * BLOCK));
      }
      i = j;
    }
    this.busyMs += performance.now() - t0;
  }
}
