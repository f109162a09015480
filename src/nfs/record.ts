/**
 * ONC-RPC record marking over TCP (RFC 5531 §11): each record is one or more fragments, each
 * preceded by a 4-byte big-endian word whose top bit marks the last fragment and whose low 31 bits
 * give the fragment's length.
 */

export const LAST_FRAGMENT = 0x8000_0000;
export const MAX_FRAGMENT = 0x7fff_ffff;

export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

/**
 * Splits a TCP byte stream into records. A record that lies whole inside one received chunk is
 * handed on as a view of that chunk (no copy); one spread over chunks is assembled in a scratch
 * buffer the parser reuses (no allocation per record). Either way the record is valid only during
 * the `onRecord` call: a consumer that keeps bytes copies them (the chunk may be a reused receive
 * buffer, and the scratch holds the next record next).
 */
export class RecordParser {
  private readonly hdr = Buffer.alloc(4);
  private hdrHave = 0;
  private inFragment = false;
  private fragLen = 0;
  private fragLast = false;
  private frag: Buffer | undefined;
  private fragHave = 0;
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** Where fragments spread over chunks are assembled; grows to the largest such fragment. */
  private scratch = Buffer.alloc(0);

  constructor(
    private readonly onRecord: (record: Buffer) => void,
    private readonly maxRecord = 16 << 20,
  ) {}

  /** Feeds received bytes; calls `onRecord` for every record completed by them, in order. */
  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (!this.inFragment) {
        off = this.readHeader(chunk, off);
        if (!this.inFragment) return;
        if (this.fragLen === 0) {
          this.endFragment(Buffer.alloc(0));
          continue;
        }
      }
      const avail = chunk.length - off;
      if (this.fragHave === 0 && avail >= this.fragLen) {
        const whole = chunk.subarray(off, off + this.fragLen);
        off += this.fragLen;
        this.endFragment(whole);
        continue;
      }
      if (!this.frag) {
        if (this.scratch.length < this.fragLen) this.scratch = Buffer.allocUnsafe(this.fragLen);
        this.frag = this.scratch.subarray(0, this.fragLen);
      }
      const n = Math.min(avail, this.fragLen - this.fragHave);
      chunk.copy(this.frag, this.fragHave, off, off + n);
      this.fragHave += n;
      off += n;
      if (this.fragHave === this.fragLen) this.endFragment(this.frag);
    }
  }

  /** True between records (nothing buffered). */
  get idle(): boolean {
    return !this.inFragment && this.hdrHave === 0 && this.parts.length === 0;
  }

  private readHeader(chunk: Buffer, off: number): number {
    let word: number;
    if (this.hdrHave === 0 && chunk.length - off >= 4) {
      word = chunk.readUInt32BE(off);
      off += 4;
    } else {
      const n = Math.min(4 - this.hdrHave, chunk.length - off);
      chunk.copy(this.hdr, this.hdrHave, off, off + n);
      this.hdrHave += n;
      off += n;
      if (this.hdrHave < 4) return off;
      this.hdrHave = 0;
      word = this.hdr.readUInt32BE(0);
    }
    this.fragLast = word >= LAST_FRAGMENT;
    this.fragLen = word & MAX_FRAGMENT;
    if (this.partsLen + this.fragLen > this.maxRecord) {
      throw new RecordError(`RPC record of more than ${this.maxRecord} bytes (fragment of ${this.fragLen})`);
    }
    this.inFragment = true;
    this.fragHave = 0;
    this.frag = undefined;
    return off;
  }

  private endFragment(f: Buffer): void {
    this.inFragment = false;
    this.frag = undefined;
    this.fragHave = 0;
    if (!this.fragLast) {
      // the fragments of a multi-fragment record are kept until its last one: copies (rare)
      this.parts.push(Buffer.from(f));
      this.partsLen += f.length;
      return;
    }
    const record = this.parts.length === 0 ? f : Buffer.concat([...this.parts, f], this.partsLen + f.length);
    this.parts = [];
    this.partsLen = 0;
    this.onRecord(record);
  }
}

/** Writes the record mark of a single-fragment record into the first 4 bytes of `msg`. */
export function markRecord(msg: Buffer): Buffer {
  const len = msg.length - 4;
  if (len > MAX_FRAGMENT) throw new RecordError(`RPC message of ${len} bytes is too long for one fragment`);
  msg.writeUInt32BE((LAST_FRAGMENT + len) >>> 0, 0);
  return msg;
}
