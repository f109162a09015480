import {
  POF_MAGIC, POF_VERSION, POF_HEADER_BYTES, FRAME_LITERAL, FRAME_REF, FRAME_END, MAX_LITERAL, REF_BYTES, END_BYTES, PAGE_BYTES,
} from './pofFrames.js';

/** One decoded piece of the QEMU stream, in order: bytes as they are, or a page to fetch from the NAS. */
export type DecodedItem = { kind: 'bytes'; data: Buffer } | { kind: 'ref'; block: number; hash: Buffer };

export class PofFormatError extends Error {
  constructor(readonly offset: number, message: string) {
    super(`POF stream offset ${offset}: ${message}`);
    this.name = 'PofFormatError';
  }
}

/**
 * POF stream → items, incrementally. Pure: it never reads the NAS itself; a ref's block number is
 * checked against `imageBlocks` (the image named for this run) before it is handed out. Memory:
 * at most one frame (≤ 1 MiB literal) is buffered.
 */
export class PofDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private base = 0;
  private headerSeen = false;
  private endSeen = false;
  private qemuBytes = 0;
  private literalBytes = 0;
  private refs = 0;

  constructor(private readonly imageBlocks: number) {}

  get offset(): number {
    return this.base + this.pos;
  }

  push(chunk: Buffer): DecodedItem[] {
    if (this.endSeen && chunk.length) throw new PofFormatError(this.offset, 'data after the END frame');
    const rest = this.buf.subarray(this.pos);
    this.base += this.pos;
    this.buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    this.pos = 0;
    const items: DecodedItem[] = [];
    for (;;) {
      const left = this.buf.length - this.pos;
      if (!this.headerSeen) {
        if (left < POF_HEADER_BYTES) break;
        if (!this.buf.subarray(this.pos, this.pos + 4).equals(POF_MAGIC)) throw new PofFormatError(this.offset, 'not a POF stream (bad magic)');
        if (this.buf[this.pos + 4] !== POF_VERSION) throw new PofFormatError(this.offset, `unsupported POF version ${this.buf[this.pos + 4]}`);
        this.pos += POF_HEADER_BYTES;
        this.headerSeen = true;
        continue;
      }
      if (left < 1) break;
      if (this.endSeen) throw new PofFormatError(this.offset, 'data after the END frame');
      const type = this.buf[this.pos];
      if (type === FRAME_LITERAL) {
        if (left < 5) break;
        const len = this.buf.readUInt32BE(this.pos + 1);
        if (len === 0 || len > MAX_LITERAL) throw new PofFormatError(this.offset, `literal frame of ${len} bytes (1..${MAX_LITERAL})`);
        if (left < 5 + len) break;
        items.push({ kind: 'bytes', data: this.buf.subarray(this.pos + 5, this.pos + 5 + len) });
        this.pos += 5 + len;
        this.literalBytes += len;
        this.qemuBytes += len;
      } else if (type === FRAME_REF) {
        if (left < REF_BYTES) break;
        const big = this.buf.readBigUInt64BE(this.pos + 1);
        if (big >= BigInt(this.imageBlocks)) throw new PofFormatError(this.offset, `reference to block ${big} outside the image (${this.imageBlocks} blocks)`);
        items.push({ kind: 'ref', block: Number(big), hash: Buffer.from(this.buf.subarray(this.pos + 9, this.pos + REF_BYTES)) });
        this.pos += REF_BYTES;
        this.refs++;
        this.qemuBytes += PAGE_BYTES;
      } else if (type === FRAME_END) {
        if (left < END_BYTES) break;
        const q = Number(this.buf.readBigUInt64BE(this.pos + 1));
        const l = Number(this.buf.readBigUInt64BE(this.pos + 9));
        const r = Number(this.buf.readBigUInt64BE(this.pos + 17));
        if (q !== this.qemuBytes || l !== this.literalBytes || r !== this.refs) {
          throw new PofFormatError(this.offset, `END totals (${q} bytes, ${l} literal, ${r} refs) do not match the stream (${this.qemuBytes}, ${this.literalBytes}, ${this.refs})`);
        }
        this.pos += END_BYTES;
        this.endSeen = true;
        if (this.pos < this.buf.length) throw new PofFormatError(this.offset, 'data after the END frame');
      } else {
        throw new PofFormatError(this.offset, `unknown frame type 0x${type.toString(16)}`);
      }
    }
    return items;
  }

  /** Declares the end of input; throws unless the END frame was seen. */
  end(): DecodedItem[] {
    if (!this.endSeen) throw new PofFormatError(this.offset, 'POF stream truncated (no END frame)');
    return [];
  }

  get totals(): { qemuBytes: number; literalBytes: number; refs: number } {
    return { qemuBytes: this.qemuBytes, literalBytes: this.literalBytes, refs: this.refs };
  }
}
