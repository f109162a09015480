/**
 * QEMU stream → POF stream, incremental and pure (no I/O). See format.ts for the format.
 *
 * Memory bound: the parser's (≈66 KiB + the last input chunk, see qemu.ts) plus the pending literal
 * run, at most `maxLiteral` bytes (default 256 KiB), held as views of input chunks until flushed.
 * Output is returned per `push` as a list of buffers: a long literal frame is its 5-byte header followed
 * by views of the input chunks (callers must not reuse an input buffer before `release()` and the
 * writing of the views it returned); small frames (literal headers,
 * REF frames, literals of <= 64 bytes) are written one after another into a scratch buffer and leave as
 * one view per run of them.
 *
 * The output does not depend on how the input is chunked (literals are flushed on size, before a
 * REF and at the end); a live agent that sees its input go idle calls `flush()` so no bytes linger.
 */
import { crc32 } from './crc32.js';
import { HASH_SIZE, PAGE_SIZE } from './bytes.js';
import {
  DEFAULT_MAX_LITERAL,
  LITERAL_HEADER_SIZE,
  MAX_LITERAL,
  REF_FRAME_SIZE,
  encodeEnd,
  encodeHeader,
  writeLiteralHeader,
  writeRef,
} from './format.js';
import { QemuStreamParser, type QemuItem } from './qemu.js';

/** Bytes of each scratch buffer the small frames are written into. */
const SCRATCH_BYTES = 64 * 1024;
/** A literal up to this long is copied next to its header in the scratch (a ref's record header: 8). */
const SMALL_LITERAL = 64;

/** An index hit: the NAS block holding a page's content, and the SHA-256 of that content. */
export interface PageRef {
  block: number;
  hash: Buffer;
}

/** Page content → NAS block (or undefined). Called exactly once per PAGE record, in stream order. */
export type PageLookup = (page: Buffer) => PageRef | undefined;

/**
 * The same for the page at `buf[at .. at + 4096)` (no view made per page): what the encoder's fast
 * path calls. A view of the page, if kept, must be copied (`buf` is the caller's input chunk).
 */
export type PageLookupAt = (buf: Buffer, at: number) => PageRef | undefined;

export interface EncoderOptions {
  /** Index lookup; without one every page is sent in full. */
  lookup?: PageLookup;
  /**
   * Index lookup by position (instead of `lookup`): the encoder then takes the parser's fast path
   * for PAGE records (no item object or view per page; the same output bytes).
   */
  lookupAt?: PageLookupAt;
  /** Size of the NAS image in blocks, written to the POF header (0 = not stated). */
  imageBlocks?: number;
  /** Largest literal frame (bytes), default 256 KiB. */
  maxLiteral?: number;
  /** Called with every parsed QEMU item (e.g. to gather inspect-like statistics). */
  onItem?: (item: QemuItem) => void;
}

export interface EncoderStats {
  /** PAGE records sent in full. */
  fullPages: number;
  /** PAGE records sent as a reference. */
  refPages: number;
  /** ZERO records (sent as they are: 9 bytes + idstr). */
  zeroPages: number;
  /** Other records and sections (headers, MEM_SIZE, EOS, footers, commands…). */
  otherRecords: number;
  /** QEMU stream bytes in. */
  bytesIn: number;
  /** POF stream bytes out. */
  bytesOut: number;
  literalBytes: number;
  literalFrames: number;
  /** Opaque bytes after the RAM END section (device state, EOF, VMDESCRIPTION). */
  deviceStateBytes: number;
}

export class Encoder {
  private readonly parser = new QemuStreamParser();
  private readonly lookup: PageLookup | undefined;
  private readonly lookupAt: PageLookupAt | undefined;
  /** The pending literal's newest bytes as a range of one input chunk, not yet a view in `pending`. */
  private spanBuf: Buffer | undefined;
  private spanStart = 0;
  private spanEnd = 0;
  /** `item` bound once, for the parser's fast path; its output list is `fastOut`. */
  private fastOut: Buffer[] = [];
  private readonly itemSink = { push: (item: QemuItem) => this.item(item, this.fastOut) };
  /**
   * Small frames (literal headers, REF frames, short literals) are written one after another into a
   * scratch buffer and leave as one view per run (a run of refs: one output buffer, no allocation per
   * ref). Written only forwards: views handed out are never overwritten; a full scratch is replaced.
   */
  private scratch = Buffer.alloc(0);
  private scratchStart = 0;
  private scratchAt = 0;
  private readonly maxLiteral: number;
  private readonly imageBlocks: number;
  private readonly onItem: ((item: QemuItem) => void) | undefined;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private crc = 0;
  private started = false;
  private ended = false;
  private readonly s: EncoderStats = {
    fullPages: 0,
    refPages: 0,
    zeroPages: 0,
    otherRecords: 0,
    bytesIn: 0,
    bytesOut: 0,
    literalBytes: 0,
    literalFrames: 0,
    deviceStateBytes: 0,
  };

  constructor(opts: EncoderOptions = {}) {
    if (opts.lookup && opts.lookupAt) throw new TypeError('Encoder: give lookup or lookupAt, not both');
    this.lookup = opts.lookup;
    this.lookupAt = opts.lookupAt;
    this.maxLiteral = opts.maxLiteral ?? DEFAULT_MAX_LITERAL;
    if (!(this.maxLiteral >= 1 && this.maxLiteral <= MAX_LITERAL))
      throw new RangeError(`maxLiteral must be 1..${MAX_LITERAL}`);
    this.imageBlocks = opts.imageBlocks ?? 0;
    this.onItem = opts.onItem;
  }

  /** The QEMU parser (read-only use: declared RAM blocks, offsets). */
  get qemu(): QemuStreamParser {
    return this.parser;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.ended) throw new Error('Encoder.push after end()');
    const out: Buffer[] = [];
    this.start(out);
    this.s.bytesIn += chunk.length;
    this.crc = crc32(chunk, this.crc);
    if (this.onItem || this.lookup) {
      for (const item of this.parser.push(chunk)) this.item(item, out);
    } else {
      this.fastOut = out;
      this.parser.pushTo(chunk, this.itemSink, this.pageRecord);
    }
    return this.count(out);
  }

  /** Emits the pending literal run now (for live use when the input goes idle). */
  flush(): Buffer[] {
    const out: Buffer[] = [];
    this.start(out);
    this.flushLiteral(out);
    return this.count(out);
  }

  /**
   * `flush()`, and the parser copies the record the last chunk cut: past the returned output, nothing
   * refers to the chunks pushed so far. A caller that reads into one reused buffer calls it before the
   * next read, once the output views are written.
   */
  release(): Buffer[] {
    const out = this.flush();
    this.parser.detachInput();
    return out;
  }

  /** Ends the stream: checks the QEMU stream is complete, flushes and writes the END frame. */
  end(): Buffer[] {
    if (this.ended) return [];
    const out: Buffer[] = [];
    this.start(out);
    for (const item of this.parser.end()) this.item(item, out);
    this.flushLiteral(out);
    this.closeScratch(out);
    out.push(
      encodeEnd({ qemuBytes: this.s.bytesIn, literalBytes: this.s.literalBytes, refs: this.s.refPages, crc: this.crc }),
    );
    this.ended = true;
    return this.count(out);
  }

  stats(): EncoderStats {
    return { ...this.s };
  }

  /** CRC-32 of the QEMU stream pushed so far (what END carries): a live source reports it as its input's. */
  get qemuCrc32(): number {
    return this.crc >>> 0;
  }

  private start(out: Buffer[]): void {
    if (this.started) return;
    this.started = true;
    this.closeScratch(out);
    out.push(encodeHeader(this.imageBlocks));
  }

  private count(out: Buffer[]): Buffer[] {
    this.closeScratch(out);
    for (const b of out) this.s.bytesOut += b.length;
    return out;
  }

  private item(item: QemuItem, out: Buffer[]): void {
    this.onItem?.(item);
    if (item.kind === 'ram' && item.record === 'page') {
      this.literal(item.raw, out);
      const page = item.page!;
      const ref = this.lookup ? this.lookup(page) : this.lookupAt?.(page, 0);
      if (ref) {
        this.checkRef(ref);
        this.flushLiteral(out);
        this.writeRef(ref, out);
        this.s.refPages++;
      } else {
        this.literal(page, out);
        this.s.fullPages++;
      }
      return;
    }
    if (item.kind === 'ram' && item.record === 'zero') this.s.zeroPages++;
    else if (item.kind === 'device-state') this.s.deviceStateBytes += item.raw.length;
    else this.s.otherRecords++;
    this.literal(item.raw, out);
  }

  /** The fast path's PAGE (8-byte header, then the page) or ZERO record at `buf[at ..]`. Same output as `item`. */
  private readonly pageRecord = (buf: Buffer, at: number, len: number): void => {
    const out = this.fastOut;
    if (len !== 8 + PAGE_SIZE) {
      this.literalRange(buf, at, at + len, out);
      this.s.zeroPages++;
      return;
    }
    const ref = this.lookupAt?.(buf, at + 8);
    if (!ref) {
      this.literalRange(buf, at, at + 8 + PAGE_SIZE, out);
      this.s.fullPages++;
      return;
    }
    this.checkRef(ref);
    this.literalRange(buf, at, at + 8, out);
    this.flushLiteral(out);
    this.writeRef(ref, out);
    this.s.refPages++;
  };

  /** Room for n bytes in the scratch; returns where they go. */
  private reserve(n: number, out: Buffer[]): number {
    if (this.scratchAt + n > this.scratch.length) {
      this.closeScratch(out);
      this.scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
      this.scratchStart = this.scratchAt = 0;
    }
    return this.scratchAt;
  }

  /** The scratch bytes written since the last view leave as one view (before anything else is output). */
  private closeScratch(out: Buffer[]): void {
    if (this.scratchAt === this.scratchStart) return;
    out.push(this.scratch.subarray(this.scratchStart, this.scratchAt));
    this.scratchStart = this.scratchAt;
  }

  private writeRef(ref: PageRef, out: Buffer[]): void {
    const at = this.reserve(REF_FRAME_SIZE, out);
    writeRef(this.scratch, at, ref.block, ref.hash);
    this.scratchAt = at + REF_FRAME_SIZE;
  }

  private checkRef(ref: PageRef): void {
    if (ref.hash.length !== HASH_SIZE) throw new Error(`index lookup returned a hash of ${ref.hash.length} bytes`);
    if (this.imageBlocks && ref.block >= this.imageBlocks)
      throw new Error(`index lookup returned block ${ref.block} beyond the image (${this.imageBlocks} blocks)`);
  }

  /** buf[start .. end) appended to the pending literal: a contiguous run grows one range, no view per record. */
  private literalRange(buf: Buffer, start: number, end: number, out: Buffer[]): void {
    while (start < end) {
      if (this.spanBuf !== buf || this.spanEnd !== start) {
        this.closeSpan();
        this.spanBuf = buf;
        this.spanStart = this.spanEnd = start;
      }
      const n = Math.min(this.maxLiteral - this.pendingLen, end - start);
      this.spanEnd += n;
      this.pendingLen += n;
      start += n;
      if (this.pendingLen === this.maxLiteral) this.flushLiteral(out);
    }
  }

  /** The pending range becomes a view in `pending` (its bytes are counted in `pendingLen` already). */
  private closeSpan(): void {
    if (this.spanBuf && this.spanEnd > this.spanStart)
      this.pending.push(this.spanBuf.subarray(this.spanStart, this.spanEnd));
    this.spanBuf = undefined;
  }

  private literal(buf: Buffer, out: Buffer[]): void {
    this.closeSpan();
    while (buf.length > 0) {
      const room = this.maxLiteral - this.pendingLen;
      const part = buf.length <= room ? buf : buf.subarray(0, room);
      this.pending.push(part);
      this.pendingLen += part.length;
      buf = buf.subarray(part.length);
      if (this.pendingLen === this.maxLiteral) this.flushLiteral(out);
    }
  }

  private flushLiteral(out: Buffer[]): void {
    const len = this.pendingLen;
    if (len === 0) return;
    const small = len <= SMALL_LITERAL;
    let at = this.reserve(LITERAL_HEADER_SIZE + (small ? len : 0), out);
    const sb = this.scratch;
    writeLiteralHeader(sb, at, len);
    at += LITERAL_HEADER_SIZE;
    if (small) {
      // a short literal (a ref's record header) is copied next to its frame header: no view of it
      for (const b of this.pending) for (let i = 0; i < b.length; i++) sb[at++] = b[i];
      const src = this.spanBuf;
      if (src) for (let i = this.spanStart; i < this.spanEnd; i++) sb[at++] = src[i];
      this.spanBuf = undefined;
      this.scratchAt = at;
    } else {
      // a long one: its header, then the pending views of the input (no copy here; a socket writes
      // them with one writev; see `joinFrames` for one buffer)
      this.scratchAt = at;
      this.closeSpan();
      this.closeScratch(out);
      for (const b of this.pending) out.push(b);
    }
    this.s.literalBytes += len;
    this.s.literalFrames++;
    this.pending.length = 0;
    this.pendingLen = 0;
  }
}

/** The output of one `push`/`flush`/`end` as one buffer (one copy), for writers that want few large writes. */
export function joinFrames(parts: Buffer[]): Buffer {
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
