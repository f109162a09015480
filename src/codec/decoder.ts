/**
 * POF stream → items (literal QEMU bytes, or references to NAS blocks), incremental and pure.
 * Turning references into bytes needs the NAS: see resolve.ts.
 *
 * Memory bound: literal bytes are passed on as views of the input chunks as they arrive (a literal
 * frame is never gathered whole), so the decoder holds at most one partial fixed-size frame
 * (≤ 41 bytes) besides the last input chunk. Items are views: callers must not reuse input buffers.
 */
import { ByteQueue, HASH_SIZE, PAGE_SIZE, hex, u64ToNumber } from './bytes.js';
import { CodecError } from './errors.js';
import {
  END_FRAME_SIZE,
  FRAME,
  HASH_SHA256,
  MAX_LITERAL,
  POF_HEADER_SIZE,
  POF_MAGIC,
  POF_VERSION,
  REF_FRAME_SIZE,
  type EndCounts,
  type PofHeader,
} from './format.js';

export type DecodedItem =
  | { kind: 'bytes'; data: Buffer }
  /** `offset`: where the REF frame starts in the POF stream. */
  | { kind: 'ref'; block: number; hash: Buffer; offset: number };

export interface DecoderOptions {
  /** NAS image size in blocks: refs to blocks ≥ this are refused, and a header stating another size too. */
  imageBlocks?: number;
}

export interface DecoderStats {
  /** POF bytes in. */
  bytesIn: number;
  /** QEMU stream bytes the items stand for (literal bytes + 4096 per ref). */
  qemuBytes: number;
  literalBytes: number;
  refs: number;
  frames: number;
}

type State = 'header' | 'frame' | 'literal' | 'done';

export class Decoder {
  private readonly q = new ByteQueue();
  private state: State = 'header';
  private literalLeft = 0;
  private failed: CodecError | undefined;
  private readonly imageBlocks: number | undefined;
  private readonly s: DecoderStats = { bytesIn: 0, qemuBytes: 0, literalBytes: 0, refs: 0, frames: 0 };
  header: PofHeader | undefined;
  /**
   * The END frame's counts once it is read. Its `crc` covers the restored QEMU stream (literals and
   * referenced blocks), which the decoder never sees whole: whoever restores the stream checks it
   * (`restore` in resolve.ts; the target agent).
   */
  trailer: EndCounts | undefined;

  constructor(opts: DecoderOptions = {}) {
    this.imageBlocks = opts.imageBlocks;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  stats(): DecoderStats {
    return { ...this.s };
  }

  /**
   * Copies the bytes of a frame the last chunk cut: the chunks pushed so far are no longer referenced
   * past the items already returned (a caller reading into reused buffers).
   */
  detachInput(): void {
    this.q.detach();
  }

  push(chunk: Buffer): DecodedItem[] {
    if (this.failed) throw this.failed;
    this.s.bytesIn += chunk.length;
    this.q.push(chunk);
    const out: DecodedItem[] = [];
    try {
      this.drain(out);
    } catch (err) {
      if (err instanceof CodecError) this.failed = err;
      throw err;
    }
    return out;
  }

  end(): DecodedItem[] {
    if (this.failed) throw this.failed;
    if (this.state !== 'done') {
      const where =
        this.state === 'header'
          ? 'inside the header'
          : this.state === 'literal'
            ? `inside a literal frame (${this.literalLeft} bytes missing)`
            : this.q.length
              ? `inside a frame of type ${hex(this.q.at(0))}`
              : 'between frames';
      this.failed = new CodecError(
        `truncated: no END frame (the stream ends ${where})`,
        this.q.consumed + this.q.length,
        'pof',
      );
      throw this.failed;
    }
    return [];
  }

  private bad(msg: string, rel = 0): never {
    throw new CodecError(msg, this.q.consumed + rel, 'pof');
  }

  private drain(out: DecodedItem[]): void {
    for (;;) {
      switch (this.state) {
        case 'header':
          if (!this.readHeader()) return;
          break;
        case 'frame':
          if (!this.readFrame(out)) return;
          break;
        case 'literal':
          if (!this.readLiteral(out)) return;
          break;
        case 'done': {
          if (this.q.length > 0) this.bad(`${this.q.length}+ bytes after the END frame`);
          return;
        }
      }
    }
  }

  /** The stream header; false while more bytes are needed. */
  private readHeader(): boolean {
    const q = this.q;
    if (q.length < POF_HEADER_SIZE) return false;
    if (q.u32(0) !== POF_MAGIC) this.bad(`bad magic ${hex(q.u32(0))} (expected 0x504f4653 "POFS") — not a POF stream`);
    const version = q.u16(4);
    if (version !== POF_VERSION) this.bad(`unsupported POF version ${version} (this decoder reads ${POF_VERSION})`, 4);
    if (q.u16(6) !== 0) this.bad(`unknown header flags ${hex(q.u16(6))}`, 6);
    const blockSize = q.u32(8);
    if (blockSize !== PAGE_SIZE) this.bad(`block size ${blockSize} (expected ${PAGE_SIZE})`, 8);
    const hashAlgorithm = q.at(12);
    if (hashAlgorithm !== HASH_SHA256)
      this.bad(`hash algorithm ${hashAlgorithm} (expected ${HASH_SHA256} = SHA-256)`, 12);
    if (q.at(13) || q.at(14) || q.at(15)) this.bad('reserved header bytes are not zero', 13);
    const imageBlocks = u64ToNumber(q.u32(16), q.u32(20));
    if (imageBlocks === undefined) this.bad('image size beyond 2^53 blocks', 16);
    if (imageBlocks && this.imageBlocks !== undefined && imageBlocks !== this.imageBlocks) {
      this.bad(`stream was encoded against an image of ${imageBlocks} blocks, this image has ${this.imageBlocks}`, 16);
    }
    this.header = { version, blockSize, hashAlgorithm, imageBlocks };
    q.skip(POF_HEADER_SIZE);
    this.state = 'frame';
    return true;
  }

  /** One frame (a literal frame's header only: its bytes follow in state 'literal'); false while more are needed. */
  private readFrame(out: DecodedItem[]): boolean {
    const q = this.q;
    if (q.length < 1) return false;
    const type = q.at(0);
    if (type === FRAME.LITERAL) {
      if (q.length < 5) return false;
      const n = q.u32(1);
      if (n === 0 || n > MAX_LITERAL) this.bad(`literal frame length ${n} (must be 1..${MAX_LITERAL})`, 1);
      q.skip(5);
      this.s.frames++;
      this.literalLeft = n;
      this.state = 'literal';
      return true;
    }
    if (type === FRAME.REF) return this.readRef(out);
    if (type === FRAME.END) return this.readEnd();
    throw this.bad(`unknown frame type ${hex(type)}`);
  }

  private readRef(out: DecodedItem[]): boolean {
    const q = this.q;
    if (q.length < REF_FRAME_SIZE) return false;
    const block = u64ToNumber(q.u32(1), q.u32(5));
    const limit = this.imageBlocks ?? (this.header?.imageBlocks || undefined);
    if (block === undefined || (limit !== undefined && block >= limit)) {
      this.bad(
        `reference to NAS block ${block ?? `${hex(q.u32(1))}_${q.u32(5).toString(16).padStart(8, '0')}`} ` +
          `beyond the image (${limit ?? '?'} blocks)`,
        1,
      );
    }
    const offset = q.consumed;
    const hash = Buffer.from(q.peek(9, HASH_SIZE));
    q.skip(REF_FRAME_SIZE);
    this.s.frames++;
    this.s.refs++;
    this.s.qemuBytes += PAGE_SIZE;
    out.push({ kind: 'ref', block, hash, offset });
    return true;
  }

  /** The END frame: its counts must be the stream's. */
  private readEnd(): boolean {
    const q = this.q;
    if (q.length < END_FRAME_SIZE) return false;
    const qemuBytes = u64ToNumber(q.u32(1), q.u32(5));
    const literalBytes = u64ToNumber(q.u32(9), q.u32(13));
    const refs = u64ToNumber(q.u32(17), q.u32(21));
    const crc = q.u32(25);
    if (refs !== this.s.refs) this.bad(`END frame counts ${refs ?? '?'} references, the stream had ${this.s.refs}`);
    if (literalBytes !== this.s.literalBytes)
      this.bad(`END frame counts ${literalBytes ?? '?'} literal bytes, the stream had ${this.s.literalBytes}`);
    if (qemuBytes !== this.s.qemuBytes)
      this.bad(`END frame counts ${qemuBytes ?? '?'} QEMU stream bytes, the stream had ${this.s.qemuBytes}`);
    this.trailer = { qemuBytes, literalBytes, refs, crc };
    q.skip(END_FRAME_SIZE);
    this.s.frames++;
    this.state = 'done';
    return true;
  }

  /** Literal bytes of the current frame, as views of the input; false once the queue is empty. */
  private readLiteral(out: DecodedItem[]): boolean {
    const q = this.q;
    if (q.length === 0) return false;
    for (const data of q.takeViews(Math.min(this.literalLeft, q.length))) {
      this.literalLeft -= data.length;
      this.s.literalBytes += data.length;
      this.s.qemuBytes += data.length;
      out.push({ kind: 'bytes', data });
    }
    if (this.literalLeft === 0) this.state = 'frame';
    return true;
  }
}
