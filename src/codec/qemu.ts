/**
 * Incremental parser of QEMU pre-copy migration streams (DESIGN.md §3): QEMU 8.2-10.x without
 * multifd (and 7.2, whose format is the same). Pure: buffers in, items out, no I/O.
 *
 * The parser splits the stream into items whose bytes, concatenated in order (`raw`, then `page`
 * when present), are exactly the input. It understands the file header, CONFIGURATION (and its
 * target-page-bits / capabilities / uuid subsections), COMMAND, the START/PART/END sections of the
 * `ram` handler with their records and optional footers. Everything after the RAM END section
 * (device FULL sections, EOF, VMDESCRIPTION) has no length prefix and is passed through as opaque
 * `device-state` items.
 *
 * QEMU >= 8.0 saves devices whose state must reach the destination before RAM (`early_setup`,
 * e.g. virtio-mem's `virtio-mem-device-early`) as FULL sections during setup, after the RAM START
 * section. A FULL section has no length: its end is found as its footer (0x7E + its section id)
 * followed by a well-formed next section header; it passes through as an opaque
 * `early-device-state` item (at most MAX_EARLY_SECTION bytes, else refused naming the offset).
 *
 * Refused with `UnsupportedStreamError` (naming the offset): XBZRLE, COMPRESS_PAGE, HOOK,
 * MULTIFD_FLUSH records, iterable sections other than `ram`, device state before the RAM END.
 * Malformed or truncated input gives a `CodecError` naming the offset.
 *
 * Memory bound: the parser keeps only bytes it has not consumed yet. It consumes an item as soon as
 * it is complete; the largest item it waits for is a COMMAND (5 + 65535 bytes) or a CONFIGURATION
 * (≤ 5 + 256 + 64 × 256 + a few dozen bytes); a RAM page record is ≤ 8 + 1 + 255 + 4096 bytes.
 * So it holds at most ~66 KiB plus the last input chunk. No length field can make it allocate more.
 */
import { ByteQueue, PAGE_SIZE, hex, u64ToNumber } from './bytes.js';
import { CodecError, UnsupportedStreamError } from './errors.js';
import {
  QEMU_VM_FILE_MAGIC,
  QEMU_VM_FILE_VERSION,
  RAM_FLAG,
  RAM_FLAGS_MASK,
  RAM_SECTION_VERSION,
  SECTION,
  SECTION_NAMES,
  type QemuItem,
  type SectionType,
} from './qemuFormat.js';
import {
  checkRamFlags,
  describeState,
  idstrAt,
  tryConfiguration,
  tryEarlySection,
  type EarlySection,
  type ParserState as State,
} from './qemuSections.js';
import { continueRecords, type ItemSink, type PageRecordSink } from './qemuRecords.js';

export * from './qemuFormat.js';
export type { PageRecordSink } from './qemuRecords.js';

export class QemuStreamParser {
  private readonly q = new ByteQueue();
  private state: State = 'header';
  private sawConfig = false;
  private ramSectionId: number | undefined;
  private currentSection: { type: SectionType; id: number } | undefined;
  private memSizeRemaining = 0;
  private ignoreShared = false;
  private lastBlock: string | undefined;
  /** Used length of `lastBlock`. */
  private lastBlockLen = 0;
  private failed: CodecError | undefined;
  /** The early-setup FULL section being read: its id, idstr, and where the footer search goes on. */
  private early: EarlySection | undefined;
  /** RAM blocks declared by MEM_SIZE records: idstr → used length. */
  readonly blocks = new Map<string, number>();
  /** Offset where the opaque device state starts (after the RAM END section), once known. */
  deviceStateOffset: number | undefined;
  /** Bytes consumed so far = offset of the next byte to parse. */
  get offset(): number {
    return this.q.consumed;
  }

  /** Bytes received but not yet consumed (bounded, see the file comment). */
  get buffered(): number {
    return this.q.length;
  }

  get inDeviceState(): boolean {
    return this.state === 'tail';
  }

  /** Feeds a chunk; returns the items completed by it. Throws CodecError on bad input (and on every call after). */
  push(chunk: Buffer): QemuItem[] {
    const out: QemuItem[] = [];
    this.pushTo(chunk, out);
    return out;
  }

  /**
   * Feeds a chunk; hands every item to `items` and, with `pages`, every PAGE record with CONTINUE that
   * lies whole in one input chunk to `pages` instead (no item object, no views: the encoder's hot
   * path), all in stream order. The bytes seen are the same as `push`'s items'.
   */
  pushTo(chunk: Buffer, items: ItemSink, pages?: PageRecordSink): void {
    if (this.failed) throw this.failed;
    this.q.push(chunk);
    try {
      this.drain(items, pages);
    } catch (err) {
      if (err instanceof CodecError) this.failed = err;
      throw err;
    }
  }

  /** Copies the bytes it still waits on (a record cut by the chunk's end): the chunks pushed may be reused. */
  detachInput(): void {
    this.q.detach();
  }

  /** Signals the end of the input; throws if the stream is incomplete. */
  end(): QemuItem[] {
    if (this.failed) throw this.failed;
    const at = this.q.consumed + this.q.length;
    if (this.state !== 'tail') {
      throw new CodecError(
        `stream truncated: it ends ${describeState(this.state, this.q, this.currentSection, this.early)}`,
        at,
      );
    }
    if (this.q.consumed === this.deviceStateOffset) {
      throw new CodecError('stream truncated: it ends right after the RAM END section (no device state, no EOF)', at);
    }
    return [];
  }

  private bad(msg: string, rel = 0): never {
    throw new CodecError(msg, this.q.consumed + rel);
  }

  private unsupported(msg: string, rel = 0): never {
    throw new UnsupportedStreamError(msg, this.q.consumed + rel);
  }

  /** Parses items off the queue until it needs more bytes (each step: false). */
  private drain(out: ItemSink, pages?: PageRecordSink): void {
    for (;;) {
      switch (this.state) {
        case 'header':
          if (!this.readFileHeader(out)) return;
          break;
        case 'config':
          if (!this.readConfiguration(out)) return;
          break;
        case 'top':
          if (!this.readSectionHeader(out)) return;
          break;
        case 'ram':
          if (pages && this.readContinuePages(pages)) break;
          if (!this.readRamRecord(out)) return;
          break;
        case 'ram-decl':
          if (!this.readRamBlock(out)) return;
          break;
        case 'footer':
          if (!this.readFooter(out)) return;
          break;
        case 'early': {
          const item = tryEarlySection(this.q, this.early!, this.ramSectionId, this.q.consumed);
          if (!item) return;
          out.push(item);
          this.early = undefined;
          this.state = 'top';
          break;
        }
        case 'tail':
          this.readDeviceState(out);
          return;
      }
    }
  }

  private readFileHeader(out: ItemSink): boolean {
    const q = this.q;
    if (q.length < 8) return false;
    const magic = q.u32(0);
    if (magic !== QEMU_VM_FILE_MAGIC) this.bad(`bad magic ${hex(magic)} (expected 0x5145564d "QEVM")`);
    const version = q.u32(4);
    if (version !== QEMU_VM_FILE_VERSION)
      this.bad(`unsupported stream version ${version} (expected ${QEMU_VM_FILE_VERSION})`, 4);
    out.push({ kind: 'file-header', offset: q.consumed, raw: q.take(8), version });
    this.state = 'config';
    return true;
  }

  private readConfiguration(out: ItemSink): boolean {
    const q = this.q;
    if (q.length < 1) return false;
    if (q.at(0) !== SECTION.CONFIGURATION) {
      this.state = 'top';
      return true;
    }
    const item = tryConfiguration(q, q.consumed);
    if (!item) return false;
    if (item.capabilities.includes('x-ignore-shared')) this.ignoreShared = true;
    out.push(item);
    this.sawConfig = true;
    this.state = 'top';
    return true;
  }

  /** Between sections: a COMMAND, or the header of a START/FULL/PART/END section. */
  private readSectionHeader(out: ItemSink): boolean {
    const q = this.q;
    if (q.length < 1) return false;
    const type = q.at(0);
    if (type === SECTION.COMMAND) {
      if (q.length < 5) return false;
      const len = q.u16(3);
      if (q.length < 5 + len) return false;
      const command = q.u16(1);
      out.push({ kind: 'command', offset: q.consumed, raw: q.take(5 + len), command, length: len });
      return true;
    }
    if (type === SECTION.START || type === SECTION.FULL) return this.readSectionStart(type, out);
    if (type === SECTION.PART || type === SECTION.END) {
      if (q.length < 5) return false;
      const sectionId = q.u32(1);
      const t: SectionType = type === SECTION.PART ? 'part' : 'end';
      if (this.ramSectionId === undefined || sectionId !== this.ramSectionId) {
        this.bad(
          `${t.toUpperCase()} section for unknown section id ` +
            `${sectionId}` +
            `${this.ramSectionId === undefined ? ' (no START yet)' : ` ("ram" is ${this.ramSectionId})`}`,
        );
      }
      out.push({ kind: 'section-header', offset: q.consumed, raw: q.take(5), type: t, sectionId, idstr: 'ram' });
      this.currentSection = { type: t, id: sectionId };
      this.state = 'ram';
      return true;
    }
    if (type === SECTION.CONFIGURATION)
      this.bad(this.sawConfig ? 'second CONFIGURATION section' : 'CONFIGURATION section after the first section');
    if (type === SECTION.EOF) this.bad('EOF before the RAM END section');
    throw this.bad(
      `unexpected section type ${hex(type)}${SECTION_NAMES[type] ? ` (${SECTION_NAMES[type]})` : ''} between ` +
        `sections`,
    );
  }

  /** A START section (only "ram" is iterable here), or an early-setup device's FULL section. */
  private readSectionStart(type: number, out: ItemSink): boolean {
    const q = this.q;
    if (q.length < 6) return false;
    const sectionId = q.u32(1);
    const len = q.at(5);
    if (q.length < 6 + len + 8) return false;
    const idstr = idstrAt(q, 6, len);
    const instanceId = q.u32(6 + len);
    const versionId = q.u32(10 + len);
    if (type === SECTION.FULL) {
      this.early = { sectionId, idstr, scanFrom: 14 + len };
      this.state = 'early';
      return true;
    }
    if (idstr !== 'ram')
      this.unsupported(
        `iterable section "${idstr}" (START, section id ${sectionId}): only the "ram" iterable handler is ` +
          `supported by pof (block migration / dirty-bitmaps are not)`,
      );
    if (this.ramSectionId !== undefined) this.bad(`second START section for "ram" (section id ${sectionId})`);
    if (versionId !== RAM_SECTION_VERSION)
      this.bad(`"ram" section version ${versionId} (expected ${RAM_SECTION_VERSION})`, 10 + len);
    this.ramSectionId = sectionId;
    const offset = q.consumed;
    const raw = q.take(14 + len);
    out.push({ kind: 'section-header', offset, raw, type: 'start', sectionId, idstr, instanceId, versionId });
    this.currentSection = { type: 'start', id: sectionId };
    this.state = 'ram';
    return true;
  }

  /** One RAM record: a page, a zero page, the RAM block list (MEM_SIZE) or the end of the section (EOS). */
  private readRamRecord(out: ItemSink): boolean {
    const q = this.q;
    if (q.length < 8) return false;
    const offset = q.consumed;
    const hi = q.u32(0);
    const lo = q.u32(4);
    const flags = lo & RAM_FLAGS_MASK;
    const addrNum = u64ToNumber(hi, (lo & ~RAM_FLAGS_MASK) >>> 0);
    checkRamFlags(q, flags);
    const kind = flags & ~RAM_FLAG.CONTINUE;
    if (kind === RAM_FLAG.EOS) {
      out.push({ kind: 'ram', offset, raw: q.take(8), record: 'eos', flags, addr: addrNum ?? 0, block: '' });
      this.state = 'footer';
      return true;
    }
    if (kind === RAM_FLAG.MEM_SIZE) {
      if (addrNum === undefined) this.bad('MEM_SIZE total beyond 2^53');
      out.push({ kind: 'ram', offset, raw: q.take(8), record: 'mem-size', flags, addr: addrNum, block: '' });
      this.memSizeRemaining = addrNum;
      if (addrNum > 0) this.state = 'ram-decl';
      return true;
    }
    // ZERO or PAGE
    let headerLen = 8;
    let block: string;
    if (flags & RAM_FLAG.CONTINUE) {
      if (this.lastBlock === undefined) this.bad('RAM record with CONTINUE but no previous RAM block');
      block = this.lastBlock;
    } else {
      if (q.length < 9) return false;
      const len = q.at(8);
      if (q.length < 9 + len) return false;
      block = idstrAt(q, 9, len);
      headerLen = 9 + len;
    }
    const payload = kind === RAM_FLAG.PAGE ? PAGE_SIZE : 1;
    if (q.length < headerLen + payload) return false;
    const blockLen = this.blocks.get(block);
    if (blockLen === undefined) this.bad(`RAM record for unknown RAM block "${block}"`);
    if (addrNum === undefined || addrNum + PAGE_SIZE > blockLen) {
      this.bad(
        `RAM record offset ${addrNum === undefined ? 'beyond 2^53' : hex(addrNum)} beyond RAM block "${block}" ` +
          `(${hex(blockLen)} bytes)`,
      );
    }
    this.lastBlock = block;
    this.lastBlockLen = blockLen;
    if (kind === RAM_FLAG.PAGE) {
      const raw = q.take(headerLen);
      out.push({ kind: 'ram', offset, raw, record: 'page', flags, addr: addrNum, block, page: q.take(PAGE_SIZE) });
    } else {
      out.push({ kind: 'ram', offset, raw: q.take(headerLen + 1), record: 'zero', flags, addr: addrNum, block });
    }
    return true;
  }

  /** The fast path (`continueRecords`) over the head chunk; true: some records consumed. */
  private readContinuePages(sink: PageRecordSink): boolean {
    const buf = this.q.headChunk;
    if (!buf || this.lastBlock === undefined) return false;
    const n = continueRecords(buf, this.q.headPos, this.lastBlockLen, sink);
    if (n > 0) this.q.skip(n);
    return n > 0;
  }

  /** One RAM block of a MEM_SIZE record's list: u8 len, idstr, u64 used length (+ u64 addr under x-ignore-shared). */
  private readRamBlock(out: ItemSink): boolean {
    const q = this.q;
    if (q.length < 1) return false;
    const len = q.at(0);
    const need = 1 + len + 8 + (this.ignoreShared ? 8 : 0);
    if (q.length < need) return false;
    const idstr = idstrAt(q, 1, len);
    const length = u64ToNumber(q.u32(1 + len), q.u32(5 + len));
    if (length === undefined || length > this.memSizeRemaining) {
      this.bad(
        `RAM block "${idstr}" length ${length === undefined ? 'beyond 2^53' : hex(length)} exceeds the ` +
          `MEM_SIZE total left (${hex(this.memSizeRemaining)})`,
        1 + len,
      );
    }
    if (length === 0) this.bad(`RAM block "${idstr}" of length 0`, 1 + len);
    this.blocks.set(idstr, length);
    this.memSizeRemaining -= length;
    out.push({ kind: 'ram-block', offset: q.consumed, raw: q.take(need), idstr, length });
    if (this.memSizeRemaining === 0) this.state = 'ram';
    return true;
  }

  /** After a section's EOS: its optional footer; after the END section, the opaque device state starts. */
  private readFooter(out: ItemSink): boolean {
    const q = this.q;
    if (q.length < 1) return false;
    const sec = this.currentSection!;
    if (q.at(0) === SECTION.FOOTER) {
      if (q.length < 5) return false;
      const id = q.u32(1);
      if (id !== sec.id) this.bad(`section footer for section id ${id} inside section ${sec.id}`);
      out.push({ kind: 'section-footer', offset: q.consumed, raw: q.take(5), sectionId: id });
    }
    if (sec.type === 'end') {
      this.state = 'tail';
      this.deviceStateOffset = q.consumed;
    } else {
      this.state = 'top';
    }
    return true;
  }

  /** Everything buffered after the RAM END section, passed on as is. */
  private readDeviceState(out: ItemSink): void {
    const q = this.q;
    if (q.length === 0) return;
    let at = q.consumed;
    for (const raw of q.takeViews(q.length)) {
      out.push({ kind: 'device-state', offset: at, raw });
      at += raw.length;
    }
  }
}
