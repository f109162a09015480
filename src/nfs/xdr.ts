/**
 * XDR (RFC 4506) encoding and decoding, just what ONC-RPC, portmap, MOUNT3 and NFSv3 READ need.
 * The reader hands out opaque data as views of the buffer it reads (no copy).
 */

const TWO32 = 0x1_0000_0000;

export class XdrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XdrError';
  }
}

/** Builds one XDR message into a growing buffer. */
export class XdrWriter {
  private buf: Buffer;
  private pos: number;

  /** `reserve` bytes are left free at the start (for the RPC record mark). */
  constructor(sizeHint = 256, reserve = 0) {
    this.buf = Buffer.allocUnsafe(Math.max(sizeHint, reserve + 64));
    this.pos = reserve;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v >= TWO32) throw new XdrError(`not a uint32: ${v}`);
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  i32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  bool(v: boolean): this {
    return this.u32(v ? 1 : 0);
  }

  /** uint64 from a JS number (exact up to 2^53). */
  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new XdrError(`not a uint64 this client can send: ${v}`);
    return this.u32(Math.floor(v / TWO32)).u32(v % TWO32);
  }

  /** Variable-length opaque: length, bytes, zero padding to 4. */
  opaque(data: Uint8Array, maxLength?: number): this {
    if (maxLength !== undefined && data.length > maxLength) {
      throw new XdrError(`opaque of ${data.length} bytes exceeds its limit of ${maxLength}`);
    }
    this.u32(data.length);
    return this.fixedOpaque(data);
  }

  /** Fixed-length opaque: bytes and zero padding to 4 (no length). */
  fixedOpaque(data: Uint8Array): this {
    const padded = (data.length + 3) & ~3;
    this.ensure(padded);
    this.buf.set(data, this.pos);
    this.buf.fill(0, this.pos + data.length, this.pos + padded);
    this.pos += padded;
    return this;
  }

  string(s: string, maxLength?: number): this {
    return this.opaque(Buffer.from(s, 'utf8'), maxLength);
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far (a view of the internal buffer). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Reads XDR from a buffer; every read is bounds-checked. */
export class XdrReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new XdrError(`XDR message truncated reading ${what} at byte ${this.pos} of ${this.buf.length}`);
    }
  }

  u32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bool(): boolean {
    const v = this.u32();
    if (v > 1) throw new XdrError(`bad XDR bool ${v} at byte ${this.pos - 4}`);
    return v === 1;
  }

  /** uint64 as a JS number; throws above 2^53 rather than losing precision. */
  u64(): number {
    const hi = this.u32();
    const lo = this.u32();
    const v = hi * TWO32 + lo;
    if (!Number.isSafeInteger(v)) throw new XdrError(`uint64 ${hi}:${lo} is beyond 2^53`);
    return v;
  }

  /** Variable-length opaque as a view of the message (no copy). */
  opaque(maxLength?: number): Buffer {
    const n = this.u32();
    if (maxLength !== undefined && n > maxLength) {
      throw new XdrError(`opaque of ${n} bytes exceeds its limit of ${maxLength}`);
    }
    return this.fixedOpaque(n);
  }

  fixedOpaque(n: number): Buffer {
    const padded = (n + 3) & ~3;
    this.need(padded, `opaque<${n}>`);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += padded;
    return v;
  }

  string(maxLength?: number): string {
    return this.opaque(maxLength).toString('utf8');
  }

  skip(n: number): void {
    this.need(n, `${n} bytes`);
    this.pos += n;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }
}
