/**
 * Index from page content (SHA-256) to a NAS block holding it.
 *
 * `BlockIndex` is the in-memory structure (pure, no I/O); `buildScanIndex` (every block: the oracle)
 * and `buildTraceIndex` (only blocks in a QEMU block trace) fill one from an image file.
 *
 * Prefilter: every indexed block also records a cheap 32-bit fingerprint of its content (eight
 * sampled words, see `pageFingerprint`). `lookup` hashes a page only when some indexed block has the
 * same fingerprint, so pages with nothing to find on the NAS (anonymous memory) cost no SHA-256.
 *
 * Memory: 21-24 bytes per indexed block, in typed arrays: no per-entry JS objects and no Map size
 * limit (block numbers up to 2^32 - 2, i.e. 16 TiB of disk). Two tables (src/codec/blockTable.ts,
 * contentTable.ts): block → key (12-byte slots) and content → block (7-byte slots), each 80-90 %
 * full while the index grows: 19 / 0.8 = 23.75 bytes per block just after a table grew, 19 / 0.9 =
 * 21.1 just before.
 *
 * The key is not the whole SHA-256: it is the fingerprint and the first 32 bits of the SHA-256. Two
 * different contents with the same key would make `lookup` return a block that holds the other
 * content. That can never deliver a wrong page: the reference carries the page's own full SHA-256
 * (`lookup` hashes the page it is given and returns that hash, never a stored one), and the target
 * verifies every NAS block against it and takes the page from the source's retention window on a
 * mismatch. It costs one verify mismatch, with odds of about (indexed blocks sharing the page's
 * fingerprint) / 2^32 per page whose fingerprint is indexed.
 */
import { open } from 'node:fs/promises';
import { PAGE_SIZE, isZeroPage } from './bytes.js';
import { sha256Into } from './sha256.js';
import { BlockTable, FINGERPRINT, HASH_PREFIX, NO_BLOCK } from './blockTable.js';
import { ContentTable } from './contentTable.js';
import type { PageRef } from './encoder.js';

export class BlockIndex {
  private readonly table = new BlockTable();
  private readonly content = new ContentTable(this.table);
  private readonly scratch = Buffer.alloc(32);
  /** What `lookupAt` returns (reused): its hash is the content table's page hash. */
  private readonly lastRef: PageRef = { block: 0, hash: this.content.pageHash };
  lookups = 0;
  hits = 0;

  /** Lookups the fingerprint let through to SHA-256 (hits + false candidates). */
  get hashed(): number {
    return this.content.hashed;
  }

  /** Number of indexed blocks. */
  get size(): number {
    return this.table.size;
  }

  /** Number of distinct contents (that `lookup` can find). */
  get distinct(): number {
    return this.content.distinct;
  }

  /** Fingerprints of indexed blocks (distinct), for tests and statistics. */
  get fingerprints(): number {
    return this.content.fingerprints;
  }

  /** Fingerprints shared by so many blocks that pages with them are hashed at once (statistics). */
  get hotFingerprints(): number {
    return this.content.hotFingerprints;
  }

  /**
   * Blocks indexed but not findable: copies of a content beyond the 16 that are. Such a block is
   * found once it is added again (same content) while fewer copies are findable, or re-hashed.
   */
  get shadows(): number {
    return this.content.shadows;
  }

  /** Bytes of memory the index holds (typed arrays; the few JS objects around them not counted). */
  get bytes(): number {
    return this.table.bytes + this.content.bytes;
  }

  /** Indexes a block with its current content (4096 bytes). Zero blocks are not indexed (and drop an old entry). */
  addBlock(block: number, content: Buffer): boolean {
    if (content.length !== PAGE_SIZE) {
      throw new RangeError(`block ${block}: content of ${content.length} bytes (expected ${PAGE_SIZE})`);
    }
    if (isZeroPage(content)) {
      this.invalidate(block);
      return false;
    }
    sha256Into(content, this.scratch, 0);
    this.addKey(block, pageFingerprint(content), this.scratch.readUInt32LE(0));
    return true;
  }

  /** Indexes consecutive blocks from one buffer (length a multiple of 4096). Returns how many were indexed. */
  addBlocks(firstBlock: number, data: Buffer): number {
    let n = 0;
    for (let o = 0; o + PAGE_SIZE <= data.length; o += PAGE_SIZE) {
      if (this.addBlock(firstBlock + o / PAGE_SIZE, data.subarray(o, o + PAGE_SIZE))) n++;
    }
    return n;
  }

  /**
   * Indexes a block by its key: content fingerprint (`pageFingerprint`) and hash prefix (first 4
   * bytes of the SHA-256, little-endian). For tests and benchmarks with synthetic keys.
   */
  addKey(block: number, fingerprint: number, hashPrefix: number): void {
    if (!Number.isInteger(block) || block < 0 || block >= NO_BLOCK) {
      throw new RangeError(`block ${block}: not a block number the index can hold`);
    }
    const j = this.table.locate(block);
    if (j >= 0) {
      const d = this.table.data;
      const oldFp = d[j + FINGERPRINT];
      const oldPrefix = d[j + HASH_PREFIX];
      if (oldFp === fingerprint >>> 0 && oldPrefix === hashPrefix >>> 0) {
        if (this.content.shadows > 0) this.content.reAdd(block, oldFp, oldPrefix);
        return;
      }
      this.content.remove(block, oldFp, oldPrefix);
      d[j + FINGERPRINT] = fingerprint;
      d[j + HASH_PREFIX] = hashPrefix;
    } else {
      this.table.insert(block, hashPrefix >>> 0, fingerprint >>> 0);
    }
    this.content.add(block, fingerprint >>> 0, hashPrefix >>> 0);
  }

  /** Block with this key (see `addKey`), or undefined; no counters. For tests and benchmarks. */
  lookupKey(fingerprint: number, hashPrefix: number): number | undefined {
    const b = this.content.lookup(fingerprint >>> 0, undefined, 0, hashPrefix >>> 0);
    return b < 0 ? undefined : b;
  }

  /** Drops a block (the guest wrote it, or it changed). */
  invalidate(block: number): boolean {
    const j = this.table.locate(block);
    if (j < 0) return false;
    const d = this.table.data;
    this.content.remove(block, d[j + FINGERPRINT], d[j + HASH_PREFIX]);
    this.table.remove(block);
    return true;
  }

  /** Drops every block overlapping [offset, offset + bytes) of the disk. Returns how many were dropped. */
  invalidateRange(offset: number, bytes: number): number {
    let n = 0;
    for (const b of blocksOfRange(offset, bytes)) if (this.invalidate(b)) n++;
    return n;
  }

  has(block: number): boolean {
    return this.table.locate(block) >= 0;
  }

  /** Indexed blocks, in no particular order (do not change the index while iterating). */
  blocks(): IterableIterator<number> {
    return this.table.blocks();
  }

  /**
   * A block holding this content, with the SHA-256 of the page itself (hashes the page only when
   * its fingerprint is indexed). Any of up to 16 blocks with this content may be returned.
   */
  lookup(page: Buffer): PageRef | undefined {
    if (page.length !== PAGE_SIZE) throw new RangeError(`lookup: a page is ${PAGE_SIZE} bytes, got ${page.length}`);
    const ref = this.lookupAt(page, 0);
    return ref && { block: ref.block, hash: Buffer.from(ref.hash) };
  }

  /**
   * `lookup` of the page at `buf[at .. at + 4096)`, without a view of it unless it is hashed. The
   * encoder's hot path: the result is one reused object whose `hash` is overwritten by the next
   * lookup (copy what you keep; `lookup` returns a fresh one).
   */
  lookupAt(buf: Buffer, at: number): PageRef | undefined {
    this.lookups++;
    const block = this.content.lookup(pageFingerprintAt(buf, at), buf, at, -1);
    if (block < 0) return undefined;
    this.hits++;
    this.lastRef.block = block;
    return this.lastRef;
  }
}

/** Where `pageFingerprint` samples a page: eight 32-bit words spread over the 4 KiB. */
export const FINGERPRINT_OFFSETS: readonly number[] = [0, 516, 1036, 1552, 2068, 2588, 3104, 4092];

/** One sampled word (little-endian, read byte by byte: ~4x cheaper than `readUInt32LE`) mixed in. */
function fingerprintStep(h: number, page: Buffer, o: number): number {
  h = Math.imul(h ^ (page[o] | (page[o + 1] << 8) | (page[o + 2] << 16) | (page[o + 3] << 24)), 0x9e3779b1);
  return h ^ (h >>> 15);
}

/**
 * A cheap 32-bit fingerprint of a 4 KiB page (the eight words at FINGERPRINT_OFFSETS, mixed):
 * equal pages have equal fingerprints; unequal pages usually differ. Costs ~0.05 µs against ~4 µs
 * for SHA-256. Unrolled: the lookup of every page of a migration starts here.
 */
export function pageFingerprint(page: Buffer): number {
  return pageFingerprintAt(page, 0);
}

/** `pageFingerprint` of the page at `buf[at .. at + 4096)`. */
export function pageFingerprintAt(buf: Buffer, at: number): number {
  let h = fingerprintStep(0x811c9dc5, buf, at);
  h = fingerprintStep(h, buf, at + 516);
  h = fingerprintStep(h, buf, at + 1036);
  h = fingerprintStep(h, buf, at + 1552);
  h = fingerprintStep(h, buf, at + 2068);
  h = fingerprintStep(h, buf, at + 2588);
  h = fingerprintStep(h, buf, at + 3104);
  return fingerprintStep(h, buf, at + 4092) >>> 0;
}

/** Block numbers overlapping a byte range of the disk. */
export function* blocksOfRange(offset: number, bytes: number): Generator<number> {
  if (bytes <= 0) return;
  const first = Math.floor(offset / PAGE_SIZE);
  const last = Math.floor((offset + bytes - 1) / PAGE_SIZE);
  for (let b = first; b <= last; b++) yield b;
}

export interface IndexBuild {
  index: BlockIndex;
  /** Blocks in the image (floor(size / 4096); a partial last block is ignored). */
  imageBlocks: number;
  /** Blocks indexed (non-zero). */
  indexBlocks: number;
  /** Blocks read from the image to build it. */
  blocksRead: number;
  buildMs: number;
  /** For a trace index: trace events used, and blocks they touched. */
  traceEvents?: number;
  tracedBlocks?: number;
}

/** Image size in whole 4 KiB blocks. */
export async function imageBlockCount(imagePath: string): Promise<number> {
  const fh = await open(imagePath, 'r');
  try {
    return Math.floor((await fh.stat()).size / PAGE_SIZE);
  } finally {
    await fh.close();
  }
}

/** Hashes every 4 KiB block of the image (the oracle index). Zero blocks are not indexed. */
export async function buildScanIndex(
  imagePath: string,
  opts: { chunkBytes?: number; index?: BlockIndex } = {},
): Promise<IndexBuild> {
  const t0 = performance.now();
  const index = opts.index ?? new BlockIndex();
  const chunk = Math.max(PAGE_SIZE, Math.floor((opts.chunkBytes ?? 4 * 1024 * 1024) / PAGE_SIZE) * PAGE_SIZE);
  const fh = await open(imagePath, 'r');
  let imageBlocks = 0;
  try {
    imageBlocks = Math.floor((await fh.stat()).size / PAGE_SIZE);
    const buf = Buffer.allocUnsafe(chunk);
    for (let b = 0; b < imageBlocks; ) {
      const want = Math.min(chunk, (imageBlocks - b) * PAGE_SIZE);
      const { bytesRead } = await fh.read(buf, 0, want, b * PAGE_SIZE);
      if (bytesRead < PAGE_SIZE) break;
      const n = Math.floor(bytesRead / PAGE_SIZE);
      index.addBlocks(b, buf.subarray(0, n * PAGE_SIZE));
      b += n;
    }
  } finally {
    await fh.close();
  }
  return { index, imageBlocks, indexBlocks: index.size, blocksRead: imageBlocks, buildMs: performance.now() - t0 };
}

/** One guest block request from QEMU's block trace (the `log` trace backend). */
export interface BlockTraceEvent {
  op: 'read' | 'write';
  offset: number;
  bytes: number;
  blk: string;
}

/*
 * QEMU 7.2 `log` backend lines (checked with Debian's qemu-system-x86 7.2, `-trace
 * enable=blk_co_p*,file=LOG`):
 *   blk_co_preadv blk 0x55fe96006860 bs 0x55fe96006bb0 offset 16384 bytes 4096 flags 0x8
 *   blk_co_pwritev blk 0x55fe96006860 bs 0x55fe96006bb0 offset 0 bytes 1024 flags 0x0
 * With `-msg timestamp=on` each line starts with "PID@SECONDS.MICROS:". Offsets are guest disk
 * offsets at the BlockBackend, i.e. image offsets for a raw image. `blk` tells drives apart.
 */
const TRACE_LINE =
  /(?:^|[\s:])blk_co_p(readv|writev)\s+blk\s+(0x[0-9a-fA-F]+|\(nil\))\s+bs\s+\S+\s+offset\s+(\d+)\s+bytes\s+(\d+)/;

export function parseTraceLine(line: string): BlockTraceEvent | undefined {
  const m = TRACE_LINE.exec(line);
  if (!m) return undefined;
  const offset = Number(m[3]);
  const bytes = Number(m[4]);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(bytes) || bytes <= 0) return undefined;
  return { op: m[1] === 'readv' ? 'read' : 'write', offset, bytes, blk: m[2] };
}

export function parseTraceLog(text: string): BlockTraceEvent[] {
  const out: BlockTraceEvent[] = [];
  for (const line of text.split('\n')) {
    const ev = parseTraceLine(line);
    if (ev) out.push(ev);
  }
  return out;
}

/**
 * Indexes only the blocks the guest read or wrote according to a QEMU block trace, hashed from the
 * image's current content (which is what a written block holds after the guest's last write: later
 * events win). `blk` restricts to one drive when the trace has several (the `blk 0x…` pointer).
 */
export async function buildTraceIndex(
  imagePath: string,
  traceLogText: string,
  opts: { blk?: string; index?: BlockIndex } = {},
): Promise<IndexBuild> {
  const t0 = performance.now();
  const index = opts.index ?? new BlockIndex();
  const events = parseTraceLog(traceLogText).filter((e) => !opts.blk || e.blk === opts.blk);
  const fh = await open(imagePath, 'r');
  let imageBlocks = 0;
  let blocksRead = 0;
  const touched = new Set<number>();
  try {
    imageBlocks = Math.floor((await fh.stat()).size / PAGE_SIZE);
    for (const e of events) {
      for (const b of blocksOfRange(e.offset, e.bytes)) {
        if (b < imageBlocks) touched.add(b);
      }
    }
    const sorted = [...touched].sort((a, b) => a - b);
    const maxRun = 256;
    const buf = Buffer.allocUnsafe(maxRun * PAGE_SIZE);
    for (let i = 0; i < sorted.length; ) {
      let j = i + 1;
      while (j < sorted.length && sorted[j] === sorted[j - 1] + 1 && j - i < maxRun) j++;
      const first = sorted[i];
      const n = j - i;
      const { bytesRead } = await fh.read(buf, 0, n * PAGE_SIZE, first * PAGE_SIZE);
      const got = Math.floor(bytesRead / PAGE_SIZE);
      index.addBlocks(first, buf.subarray(0, got * PAGE_SIZE));
      blocksRead += got;
      i = j;
    }
  } finally {
    await fh.close();
  }
  return {
    index,
    imageBlocks,
    indexBlocks: index.size,
    blocksRead,
    buildMs: performance.now() - t0,
    traceEvents: events.length,
    tracedBlocks: touched.size,
  };
}
