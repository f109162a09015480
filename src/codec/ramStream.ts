/**
 * Incremental parser of a QEMU 7.2 pre-copy migration stream (see shared DESIGN.md §3). Pure: bytes
 * in, callbacks out, any chunking. It walks the header, CONFIGURATION, COMMAND and the `ram`
 * START/PART/END sections record by record; everything after the RAM END section (device FULL
 * sections, EOF, VMDESCRIPTION) is opaque and passed through verbatim. Memory: the unconsumed tail
 * of the input, at most one record (≤ 4 KiB + 264 bytes) plus the last chunk.
 */

export const QEMU_MAGIC = 0x5145564d;
export const PAGE_SIZE = 4096;

export const Section = { EOF: 0x00, START: 0x01, PART: 0x02, END: 0x03, FULL: 0x04, SUBSECTION: 0x05, VMDESCRIPTION: 0x06, CONFIGURATION: 0x07, COMMAND: 0x08, FOOTER: 0x7e } as const;

export const RamFlag = { ZERO: 0x02, MEM_SIZE: 0x04, PAGE: 0x08, EOS: 0x10, CONTINUE: 0x20, XBZRLE: 0x40, HOOK: 0x80, COMPRESS_PAGE: 0x100, MULTIFD_FLUSH: 0x200 } as const;
const FLAG_MASK = 0xfff;
const MAX_RAM_BLOCKS = 4096;

export class StreamFormatError extends Error {
  constructor(readonly offset: number, message: string) {
    super(`stream offset ${offset}: ${message}`);
    this.name = 'StreamFormatError';
  }
}

export interface StreamEvents {
  /** Bytes copied to the output unchanged (headers, records other than page payloads, device state). */
  literal(bytes: Buffer): void;
  /** The 4096-byte payload of a PAGE record (its header already went out as literal). */
  page(payload: Buffer, info: { block: string; offset: number }): void;
  section?(info: { type: number; offset: number; sectionId: number; idstr?: string }): void;
  ramBlock?(info: { idstr: string; bytes: number }): void;
  record?(kind: 'page' | 'zero' | 'mem_size' | 'eos', bytes: number): void;
  deviceState?(offset: number): void;
}

type State = 'header' | 'section' | 'ram' | 'footer' | 'passthrough';

export class QemuStreamParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private base = 0; // absolute offset of buf[0]
  private state: State = 'header';
  private ramSectionId = -1;
  private ramStarted = false;
  private currentBlock: string | undefined;
  private footerFor = -1;
  private ramEnded = false;
  private ended = false;

  constructor(private readonly ev: StreamEvents) {}

  /** Absolute offset of the next unparsed byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  get inDeviceState(): boolean {
    return this.state === 'passthrough';
  }

  push(chunk: Buffer): void {
    if (this.ended) throw new StreamFormatError(this.offset, 'data after end of stream');
    if (this.state === 'passthrough') {
      // run() already emitted every buffered byte once device state began
      this.base += this.buf.length;
      this.buf = Buffer.alloc(0);
      this.pos = 0;
      if (chunk.length) this.ev.literal(chunk);
      this.base += chunk.length;
      return;
    }
    const rest = this.buf.subarray(this.pos);
    this.base += this.pos;
    this.buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    this.pos = 0;
    this.run();
  }

  /** Declares the end of input; throws if the stream stopped in the middle of something. */
  end(): void {
    this.ended = true;
    if (this.state === 'passthrough') {
      if (this.pos < this.buf.length) this.ev.literal(this.buf.subarray(this.pos));
      return;
    }
    throw new StreamFormatError(this.offset, `stream truncated (${this.state === 'header' ? 'no header' : `inside ${this.state}`}, RAM ${this.ramEnded ? 'complete' : 'incomplete'})`);
  }

  private avail(n: number): boolean {
    return this.buf.length - this.pos >= n;
  }

  private emit(n: number): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.ev.literal(b);
    return b;
  }

  private fail(msg: string, at = this.offset): never {
    throw new StreamFormatError(at, msg);
  }

  private run(): void {
    for (;;) {
      const before = this.pos;
      switch (this.state) {
        case 'header': this.parseHeader(); break;
        case 'section': this.parseSection(); break;
        case 'ram': this.parseRamRecord(); break;
        case 'footer': this.parseFooter(); break;
        case 'passthrough':
          if (this.pos < this.buf.length) this.emit(this.buf.length - this.pos);
          return;
      }
      if (this.pos === before && (this.state as State) !== 'passthrough') return; // need more bytes
    }
  }

  private parseHeader(): void {
    if (!this.avail(8)) return;
    const magic = this.buf.readUInt32BE(this.pos);
    const version = this.buf.readUInt32BE(this.pos + 4);
    if (magic !== QEMU_MAGIC) this.fail(`not a QEMU migration stream (magic 0x${magic.toString(16)})`);
    if (version !== 3) this.fail(`unsupported stream version ${version} (expected 3)`);
    this.emit(8);
    this.state = 'section';
  }

  private parseSection(): void {
    if (!this.avail(1)) return;
    const at = this.offset;
    const type = this.buf[this.pos];
    switch (type) {
      case Section.CONFIGURATION: {
        if (!this.avail(5)) return;
        const len = this.buf.readUInt32BE(this.pos + 1);
        if (len > 256) this.fail(`configuration name of ${len} bytes`);
        if (!this.avail(5 + len + 1)) return;
        if (this.buf[this.pos + 5 + len] === Section.SUBSECTION) this.fail('configuration subsections (target-page-bits, capabilities, uuid) are not supported', at + 5 + len);
        this.emit(5 + len);
        this.ev.section?.({ type, offset: at, sectionId: -1, idstr: 'configuration' });
        return;
      }
      case Section.COMMAND: {
        if (!this.avail(5)) return;
        const len = this.buf.readUInt16BE(this.pos + 3);
        if (!this.avail(5 + len)) return;
        this.emit(5 + len);
        this.ev.section?.({ type, offset: at, sectionId: -1, idstr: 'command' });
        return;
      }
      case Section.START:
      case Section.FULL: {
        if (!this.avail(6)) return;
        const idLen = this.buf[this.pos + 5];
        if (!this.avail(6 + idLen + 8)) return;
        const sectionId = this.buf.readUInt32BE(this.pos + 1);
        const idstr = this.buf.toString('latin1', this.pos + 6, this.pos + 6 + idLen);
        const version = this.buf.readUInt32BE(this.pos + 6 + idLen + 4);
        if (type === Section.FULL) {
          if (!this.ramEnded) this.fail(`device section "${idstr}" before the end of RAM is not supported`);
          this.ev.section?.({ type, offset: at, sectionId, idstr });
          this.ev.deviceState?.(at);
          this.state = 'passthrough';
          return;
        }
        if (idstr !== 'ram') this.fail(`iterable section "${idstr}" is not supported (only "ram"; block migration / dirty bitmaps must be off)`);
        if (this.ramStarted) this.fail('second ram START section');
        if (version !== 4) this.fail(`ram section version ${version} (expected 4)`);
        this.emit(6 + idLen + 8);
        this.ramSectionId = sectionId;
        this.ramStarted = true;
        this.ev.section?.({ type, offset: at, sectionId, idstr });
        this.state = 'ram';
        this.footerFor = sectionId;
        return;
      }
      case Section.PART:
      case Section.END: {
        if (!this.avail(5)) return;
        const sectionId = this.buf.readUInt32BE(this.pos + 1);
        if (!this.ramStarted || sectionId !== this.ramSectionId) this.fail(`section ${sectionId} is not the ram section (${this.ramSectionId})`);
        if (this.ramEnded) this.fail('ram section after its END');
        this.emit(5);
        this.ev.section?.({ type, offset: at, sectionId, idstr: 'ram' });
        if (type === Section.END) this.ramEnded = true;
        // the block context (CONTINUE) carries across sections: QEMU's last_sent_block persists
        this.state = 'ram';
        this.footerFor = sectionId;
        return;
      }
      case Section.EOF:
        if (!this.ramEnded) this.fail('end of stream before the RAM END section');
        this.ev.deviceState?.(at);
        this.state = 'passthrough';
        return;
      default:
        this.fail(`unknown section type 0x${type.toString(16)}`);
    }
  }

  private parseFooter(): void {
    if (!this.avail(5)) return;
    const type = this.buf[this.pos];
    const id = this.buf.readUInt32BE(this.pos + 1);
    if (type !== Section.FOOTER || id !== this.footerFor) this.fail(`missing section footer for section ${this.footerFor}`);
    this.emit(5);
    this.state = 'section';
  }

  /** Reads `u8 len + idstr` at `at` (relative to pos); returns [idstr, bytes] or undefined if incomplete. */
  private idstrAt(at: number): [string, number] | undefined {
    if (!this.avail(at + 1)) return undefined;
    const len = this.buf[this.pos + at];
    if (len === 0) this.fail('empty RAM block name', this.offset + at);
    if (!this.avail(at + 1 + len)) return undefined;
    return [this.buf.toString('latin1', this.pos + at + 1, this.pos + at + 1 + len), 1 + len];
  }

  private parseRamRecord(): void {
    if (!this.avail(8)) return;
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    const flags = lo & FLAG_MASK;
    const addr = hi * 0x100000000 + (lo - flags);
    const bad = flags & (RamFlag.XBZRLE | RamFlag.COMPRESS_PAGE | RamFlag.HOOK | RamFlag.MULTIFD_FLUSH);
    if (bad) {
      const name = bad & RamFlag.XBZRLE ? 'XBZRLE' : bad & RamFlag.COMPRESS_PAGE ? 'COMPRESS_PAGE' : bad & RamFlag.HOOK ? 'HOOK' : 'MULTIFD_FLUSH';
      this.fail(`RAM record with ${name} flag: multifd/xbzrle/compression are not supported by pof`);
    }
    const known = RamFlag.ZERO | RamFlag.MEM_SIZE | RamFlag.PAGE | RamFlag.EOS | RamFlag.CONTINUE;
    if (flags & ~known) this.fail(`RAM record with unknown flags 0x${flags.toString(16)}`);
    const kind = flags & ~RamFlag.CONTINUE;

    if (kind === RamFlag.EOS) {
      this.emit(8);
      this.ev.record?.('eos', 8);
      this.state = 'footer';
      return;
    }
    if (kind === RamFlag.MEM_SIZE) {
      // total bytes, then per block: u8 len, idstr, u64 used length — until the total is covered
      let total = addr;
      let n = 8;
      let blocks = 0;
      const found: { idstr: string; bytes: number }[] = [];
      while (total > 0) {
        const id = this.idstrAt(n);
        if (!id) return;
        if (!this.avail(n + id[1] + 8)) return;
        const len = this.buf.readUInt32BE(this.pos + n + id[1]) * 0x100000000 + this.buf.readUInt32BE(this.pos + n + id[1] + 4);
        if (len === 0 || len > total) this.fail(`RAM block "${id[0]}" length ${len} does not fit the announced total`, this.offset + n);
        found.push({ idstr: id[0], bytes: len });
        total -= len;
        n += id[1] + 8;
        if (++blocks > MAX_RAM_BLOCKS) this.fail('too many RAM blocks');
      }
      this.emit(n);
      for (const b of found) this.ev.ramBlock?.(b);
      this.ev.record?.('mem_size', n);
      return;
    }
    if (kind !== RamFlag.ZERO && kind !== RamFlag.PAGE) this.fail(`RAM record with flags 0x${flags.toString(16)}`);
    let n = 8;
    let block = this.currentBlock;
    if (flags & RamFlag.CONTINUE) {
      if (block === undefined) this.fail('RAM record continues a block but no block was named before');
    } else {
      const id = this.idstrAt(8);
      if (!id) return;
      block = id[0];
      n += id[1];
    }
    if (kind === RamFlag.ZERO) {
      if (!this.avail(n + 1)) return;
      this.currentBlock = block;
      this.emit(n + 1);
      this.ev.record?.('zero', n + 1);
      return;
    }
    if (!this.avail(n + PAGE_SIZE)) return;
    this.currentBlock = block;
    this.emit(n);
    const payload = this.buf.subarray(this.pos, this.pos + PAGE_SIZE);
    this.pos += PAGE_SIZE;
    this.ev.record?.('page', n + PAGE_SIZE);
    this.ev.page(payload, { block: block!, offset: addr });
  }
}
