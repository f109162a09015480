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

export const QEMU_VM_FILE_MAGIC = 0x5145564d;
export const QEMU_VM_FILE_VERSION = 3;

export const SECTION = {
  EOF: 0x00,
  START: 0x01,
  PART: 0x02,
  END: 0x03,
  FULL: 0x04,
  SUBSECTION: 0x05,
  VMDESCRIPTION: 0x06,
  CONFIGURATION: 0x07,
  COMMAND: 0x08,
  FOOTER: 0x7e,
} as const;

export const RAM_FLAG = {
  ZERO: 0x02,
  MEM_SIZE: 0x04,
  PAGE: 0x08,
  EOS: 0x10,
  CONTINUE: 0x20,
  XBZRLE: 0x40,
  HOOK: 0x80,
  COMPRESS_PAGE: 0x100,
  MULTIFD_FLUSH: 0x200,
} as const;

/** Low bits of the u64 `offset | flags` word that hold flags (TARGET_PAGE_BITS = 12 on x86). */
export const RAM_FLAGS_MASK = 0xfff;
export const RAM_SECTION_VERSION = 4;

/** Limits on length fields beyond what u8/u16 already bound. */
export const MAX_MACHINE_NAME = 256;
export const MAX_CAPABILITIES = 64;
/** Longest early-setup FULL section the parser looks for the end of. */
export const MAX_EARLY_SECTION = 1024 * 1024;

export type SectionType = 'start' | 'part' | 'end';

export type QemuItem =
  | { kind: 'file-header'; offset: number; raw: Buffer; version: number }
  | {
      kind: 'configuration';
      offset: number;
      raw: Buffer;
      machine: string;
      subsections: string[];
      capabilities: string[];
    }
  | { kind: 'command'; offset: number; raw: Buffer; command: number; length: number }
  | {
      kind: 'section-header';
      offset: number;
      raw: Buffer;
      type: SectionType;
      sectionId: number;
      idstr: string;
      instanceId?: number;
      versionId?: number;
    }
  | { kind: 'section-footer'; offset: number; raw: Buffer; sectionId: number }
  /**
   * A RAM record. `raw` = the u64 header + idstr when present (+ the fill byte of a ZERO record); `page` = the 4096
   * payload of a PAGE record.
   */
  | {
      kind: 'ram';
      offset: number;
      raw: Buffer;
      record: RamRecordKind;
      flags: number;
      addr: number;
      block: string;
      page?: Buffer;
    }
  /**
   * One RAM block declared after a MEM_SIZE record: u8 len, idstr, u64 used length (+ u64 addr under x-ignore-shared).
   */
  | { kind: 'ram-block'; offset: number; raw: Buffer; idstr: string; length: number }
  /** An early-setup device's FULL section (before the RAM END section), header to footer, passed on as is. */
  | { kind: 'early-device-state'; offset: number; raw: Buffer; idstr: string; sectionId: number }
  /** Opaque bytes after the RAM END section (device state, EOF, VMDESCRIPTION). */
  | { kind: 'device-state'; offset: number; raw: Buffer };

export type RamRecordKind = 'page' | 'zero' | 'mem-size' | 'eos';

type State = 'header' | 'config' | 'top' | 'ram' | 'ram-decl' | 'footer' | 'early' | 'tail';

const SECTION_NAMES: Record<number, string> = {
  0x00: 'EOF',
  0x01: 'START',
  0x02: 'PART',
  0x03: 'END',
  0x04: 'FULL',
  0x05: 'SUBSECTION',
  0x06: 'VMDESCRIPTION',
  0x07: 'CONFIGURATION',
  0x08: 'COMMAND',
  0x7e: 'FOOTER',
};

const UNSUPPORTED_SUFFIX = 'multifd/xbzrle/compression are not supported by pof';

export class QemuStreamParser {
  private readonly q = new ByteQueue();
  private state: State = 'header';
  private sawConfig = false;
  private ramSectionId: number | undefined;
  private currentSection: { type: SectionType; id: number } | undefined;
  private memSizeRemaining = 0;
  private ignoreShared = false;
  private lastBlock: string | undefined;
  private failed: CodecError | undefined;
  /** The early-setup FULL section being read: its id, idstr, and where the footer search goes on. */
  private early: { sectionId: number; idstr: string; scanFrom: number } | undefined;
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
    if (this.failed) throw this.failed;
    this.q.push(chunk);
    const out: QemuItem[] = [];
    try {
      this.drain(out);
    } catch (err) {
      if (err instanceof CodecError) this.failed = err;
      throw err;
    }
    return out;
  }

  /** Signals the end of the input; throws if the stream is incomplete. */
  end(): QemuItem[] {
    if (this.failed) throw this.failed;
    const at = this.q.consumed + this.q.length;
    if (this.state !== 'tail') {
      throw new CodecError(`stream truncated: it ends ${this.describeState()}`, at);
    }
    if (this.q.consumed === this.deviceStateOffset) {
      throw new CodecError('stream truncated: it ends right after the RAM END section (no device state, no EOF)', at);
    }
    return [];
  }

  private describeState(): string {
    switch (this.state) {
      case 'header':
        return 'inside the file header';
      case 'config':
        return 'inside the CONFIGURATION section';
      case 'top':
        return this.q.length
          ? `inside a ${SECTION_NAMES[this.q.at(0)] ?? 'unknown'} section header`
          : 'between sections, before the RAM END section';
      case 'ram':
        return `inside a RAM record of ${this.currentSection?.type.toUpperCase()} section ${this.currentSection?.id}`;
      case 'ram-decl':
        return 'inside the RAM block list of a MEM_SIZE record';
      case 'footer':
        return `after section ${this.currentSection?.id} (before its footer / the next section)`;
      case 'early':
        return `inside the early-setup device state "${this.early?.idstr}" (section ${this.early?.sectionId})`;
      default:
        return 'in device state';
    }
  }

  private bad(msg: string, rel = 0): never {
    throw new CodecError(msg, this.q.consumed + rel);
  }

  private unsupported(msg: string, rel = 0): never {
    throw new UnsupportedStreamError(msg, this.q.consumed + rel);
  }

  private idstrAt(i: number, len: number): string {
    return this.q.peek(i, len).toString('latin1');
  }

  private drain(out: QemuItem[]): void {
    const q = this.q;
    for (;;) {
      const offset = q.consumed;
      switch (this.state) {
        case 'header': {
          if (q.length < 8) return;
          const magic = q.u32(0);
          if (magic !== QEMU_VM_FILE_MAGIC) this.bad(`bad magic ${hex(magic)} (expected 0x5145564d "QEVM")`);
          const version = q.u32(4);
          if (version !== QEMU_VM_FILE_VERSION)
            this.bad(`unsupported stream version ${version} (expected ${QEMU_VM_FILE_VERSION})`, 4);
          out.push({ kind: 'file-header', offset, raw: q.take(8), version });
          this.state = 'config';
          break;
        }
        case 'config': {
          if (q.length < 1) return;
          if (q.at(0) !== SECTION.CONFIGURATION) {
            this.state = 'top';
            break;
          }
          const item = this.tryConfiguration(offset);
          if (!item) return;
          out.push(item);
          this.sawConfig = true;
          this.state = 'top';
          break;
        }
        case 'top': {
          if (q.length < 1) return;
          const type = q.at(0);
          if (type === SECTION.COMMAND) {
            if (q.length < 5) return;
            const len = q.u16(3);
            if (q.length < 5 + len) return;
            const command = q.u16(1);
            out.push({ kind: 'command', offset, raw: q.take(5 + len), command, length: len });
            break;
          }
          if (type === SECTION.START || type === SECTION.FULL) {
            if (q.length < 6) return;
            const sectionId = q.u32(1);
            const len = q.at(5);
            if (q.length < 6 + len + 8) return;
            const idstr = this.idstrAt(6, len);
            const instanceId = q.u32(6 + len);
            const versionId = q.u32(10 + len);
            if (type === SECTION.FULL) {
              this.early = { sectionId, idstr, scanFrom: 14 + len };
              this.state = 'early';
              break;
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
            out.push({
              kind: 'section-header',
              offset,
              raw: q.take(14 + len),
              type: 'start',
              sectionId,
              idstr,
              instanceId,
              versionId,
            });
            this.currentSection = { type: 'start', id: sectionId };
            this.state = 'ram';
            break;
          }
          if (type === SECTION.PART || type === SECTION.END) {
            if (q.length < 5) return;
            const sectionId = q.u32(1);
            const t: SectionType = type === SECTION.PART ? 'part' : 'end';
            if (this.ramSectionId === undefined || sectionId !== this.ramSectionId) {
              this.bad(
                `${t.toUpperCase()} section for unknown section id ` +
                  `${sectionId}` +
                  `${this.ramSectionId === undefined ? ' (no START yet)' : ` ("ram" is ${this.ramSectionId})`}`,
              );
            }
            out.push({ kind: 'section-header', offset, raw: q.take(5), type: t, sectionId, idstr: 'ram' });
            this.currentSection = { type: t, id: sectionId };
            this.state = 'ram';
            break;
          }
          if (type === SECTION.CONFIGURATION)
            this.bad(this.sawConfig ? 'second CONFIGURATION section' : 'CONFIGURATION section after the first section');
          if (type === SECTION.EOF) this.bad('EOF before the RAM END section');
          throw this.bad(
            `unexpected section type ${hex(type)}${SECTION_NAMES[type] ? ` (${SECTION_NAMES[type]})` : ''} between ` +
              `sections`,
          );
        }
        case 'ram': {
          if (q.length < 8) return;
          const hi = q.u32(0);
          const lo = q.u32(4);
          const flags = lo & RAM_FLAGS_MASK;
          const addrNum = u64ToNumber(hi, (lo & ~RAM_FLAGS_MASK) >>> 0);
          this.checkFlags(flags);
          const kind = flags & ~RAM_FLAG.CONTINUE;
          if (kind === RAM_FLAG.EOS) {
            out.push({ kind: 'ram', offset, raw: q.take(8), record: 'eos', flags, addr: addrNum ?? 0, block: '' });
            this.state = 'footer';
            break;
          }
          if (kind === RAM_FLAG.MEM_SIZE) {
            if (addrNum === undefined) this.bad('MEM_SIZE total beyond 2^53');
            out.push({ kind: 'ram', offset, raw: q.take(8), record: 'mem-size', flags, addr: addrNum, block: '' });
            this.memSizeRemaining = addrNum;
            if (addrNum > 0) this.state = 'ram-decl';
            break;
          }
          // ZERO or PAGE
          let headerLen = 8;
          let block: string;
          if (flags & RAM_FLAG.CONTINUE) {
            if (this.lastBlock === undefined) this.bad('RAM record with CONTINUE but no previous RAM block');
            block = this.lastBlock;
          } else {
            if (q.length < 9) return;
            const len = q.at(8);
            if (q.length < 9 + len) return;
            block = this.idstrAt(9, len);
            headerLen = 9 + len;
          }
          const payload = kind === RAM_FLAG.PAGE ? PAGE_SIZE : 1;
          if (q.length < headerLen + payload) return;
          const blockLen = this.blocks.get(block);
          if (blockLen === undefined) this.bad(`RAM record for unknown RAM block "${block}"`);
          if (addrNum === undefined || addrNum + PAGE_SIZE > blockLen) {
            this.bad(
              `RAM record offset ${addrNum === undefined ? 'beyond 2^53' : hex(addrNum)} beyond RAM block "${block}" ` +
                `(${hex(blockLen)} bytes)`,
            );
          }
          this.lastBlock = block;
          if (kind === RAM_FLAG.PAGE) {
            const raw = q.take(headerLen);
            out.push({
              kind: 'ram',
              offset,
              raw,
              record: 'page',
              flags,
              addr: addrNum,
              block,
              page: q.take(PAGE_SIZE),
            });
          } else {
            out.push({ kind: 'ram', offset, raw: q.take(headerLen + 1), record: 'zero', flags, addr: addrNum, block });
          }
          break;
        }
        case 'ram-decl': {
          if (q.length < 1) return;
          const len = q.at(0);
          const need = 1 + len + 8 + (this.ignoreShared ? 8 : 0);
          if (q.length < need) return;
          const idstr = this.idstrAt(1, len);
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
          out.push({ kind: 'ram-block', offset, raw: q.take(need), idstr, length });
          if (this.memSizeRemaining === 0) this.state = 'ram';
          break;
        }
        case 'footer': {
          if (q.length < 1) return;
          const sec = this.currentSection!;
          if (q.at(0) === SECTION.FOOTER) {
            if (q.length < 5) return;
            const id = q.u32(1);
            if (id !== sec.id) this.bad(`section footer for section id ${id} inside section ${sec.id}`);
            out.push({ kind: 'section-footer', offset, raw: q.take(5), sectionId: id });
          }
          if (sec.type === 'end') {
            this.state = 'tail';
            this.deviceStateOffset = q.consumed;
          } else {
            this.state = 'top';
          }
          break;
        }
        case 'early': {
          const item = this.tryEarlySection(offset);
          if (!item) return;
          out.push(item);
          this.early = undefined;
          this.state = 'top';
          break;
        }
        case 'tail': {
          if (q.length === 0) return;
          let at = offset;
          for (const raw of q.takeViews(q.length)) {
            out.push({ kind: 'device-state', offset: at, raw });
            at += raw.length;
          }
          return;
        }
      }
    }
  }

  /**
   * The early-setup FULL section at the front of the queue, up to and with its footer, once the
   * footer and the next section's header are buffered; undefined while more bytes are needed.
   */
  private tryEarlySection(offset: number): QemuItem | undefined {
    const q = this.q;
    const e = this.early!;
    for (let i = e.scanFrom; i + 5 <= q.length; i++) {
      if (i > MAX_EARLY_SECTION) break;
      if (q.at(i) !== SECTION.FOOTER || q.u32(i + 1) !== e.sectionId) continue;
      const next = this.nextHeaderAt(i + 5);
      if (next === undefined) {
        e.scanFrom = i;
        return undefined;
      }
      if (next)
        return { kind: 'early-device-state', offset, raw: q.take(i + 5), idstr: e.idstr, sectionId: e.sectionId };
    }
    if (q.length > MAX_EARLY_SECTION + 5) {
      this.unsupported(
        `early-setup device state (FULL section "${e.idstr}", id ${e.sectionId}) has no footer within ` +
          `${MAX_EARLY_SECTION} bytes`,
      );
    }
    e.scanFrom = Math.max(e.scanFrom, q.length - 4);
    return undefined;
  }

  /** Is a well-formed section header at `i` (true / false), or are more bytes needed (undefined)? */
  private nextHeaderAt(i: number): boolean | undefined {
    const q = this.q;
    if (q.length < i + 1) return undefined;
    const type = q.at(i);
    if (type === SECTION.PART || type === SECTION.END) {
      if (q.length < i + 5) return undefined;
      return q.u32(i + 1) === this.ramSectionId;
    }
    if (type === SECTION.START || type === SECTION.FULL) {
      if (q.length < i + 6) return undefined;
      const len = q.at(i + 5);
      if (q.length < i + 6 + len + 8) return undefined;
      return len > 0 && /^[\x21-\x7e]+$/.test(this.idstrAt(i + 6, len));
    }
    return type === SECTION.COMMAND;
  }

  private checkFlags(flags: number): void {
    const found: string[] = [];
    if (flags & RAM_FLAG.XBZRLE) found.push('XBZRLE page (flag 0x40)');
    if (flags & RAM_FLAG.COMPRESS_PAGE) found.push('COMPRESS_PAGE (flag 0x100)');
    if (flags & RAM_FLAG.MULTIFD_FLUSH) found.push('MULTIFD_FLUSH (flag 0x200)');
    if (flags & RAM_FLAG.HOOK) found.push('HOOK (flag 0x80, RDMA)');
    if (found.length) this.unsupported(`RAM record with ${found.join(', ')}: ${UNSUPPORTED_SUFFIX}`);
    const kind = flags & ~RAM_FLAG.CONTINUE;
    if (kind !== RAM_FLAG.ZERO && kind !== RAM_FLAG.PAGE && kind !== RAM_FLAG.EOS && kind !== RAM_FLAG.MEM_SIZE) {
      this.bad(`unknown combination of RAM record flags ${hex(flags)}`);
    }
  }

  /** CONFIGURATION: 0x07, u32 len, name, then optional subsections. Undefined when more bytes are needed. */
  private tryConfiguration(offset: number): QemuItem | undefined {
    const q = this.q;
    if (q.length < 5) return undefined;
    const nameLen = q.u32(1);
    if (nameLen > MAX_MACHINE_NAME)
      this.bad(`CONFIGURATION machine type name length ${nameLen} exceeds ${MAX_MACHINE_NAME}`, 1);
    let i = 5 + nameLen;
    if (q.length < i + 1) return undefined; // need the byte after the name to know whether subsections follow
    const machine = this.idstrAt(5, nameLen);
    const subsections: string[] = [];
    const capabilities: string[] = [];
    while (q.at(i) === SECTION.SUBSECTION) {
      if (q.length < i + 2) return undefined;
      const len = q.at(i + 1);
      if (q.length < i + 2 + len + 4) return undefined;
      const name = this.idstrAt(i + 2, len);
      let j = i + 2 + len + 4;
      if (name === 'configuration/target-page-bits') {
        if (q.length < j + 4) return undefined;
        const bits = q.u32(j);
        if (bits !== 12) this.unsupported(`target page bits ${bits} (pof supports 4 KiB target pages only)`, j);
        j += 4;
      } else if (name === 'configuration/capabilities') {
        if (q.length < j + 4) return undefined;
        const count = q.u32(j);
        if (count > MAX_CAPABILITIES)
          this.bad(`CONFIGURATION capability count ${count} exceeds ${MAX_CAPABILITIES}`, j);
        j += 4;
        const caps: string[] = [];
        for (let c = 0; c < count; c++) {
          if (q.length < j + 1) return undefined;
          const clen = q.at(j);
          if (q.length < j + 1 + clen) return undefined;
          caps.push(this.idstrAt(j + 1, clen));
          j += 1 + clen;
        }
        capabilities.push(...caps);
      } else if (name === 'configuration/uuid') {
        j += 16;
      } else {
        this.bad(`unknown CONFIGURATION subsection "${name}"`, i);
      }
      subsections.push(name);
      i = j;
      if (q.length < i + 1) return undefined;
    }
    if (capabilities.includes('x-ignore-shared')) this.ignoreShared = true;
    return { kind: 'configuration', offset, raw: q.take(i), machine, subsections, capabilities };
  }
}
