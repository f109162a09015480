/**
 * The parts of the QEMU stream parser (qemu.ts) that read whole sections at the front of its queue:
 * CONFIGURATION, an early-setup FULL section, and the check of a RAM record's flags. Pure: each
 * reads the queue, takes from it only a complete item, and throws naming the offset.
 */
import { hex, type ByteQueue } from './bytes.js';
import { CodecError, UnsupportedStreamError } from './errors.js';
import {
  MAX_CAPABILITIES,
  MAX_EARLY_SECTION,
  MAX_MACHINE_NAME,
  RAM_FLAG,
  SECTION,
  SECTION_NAMES,
  type QemuItem,
} from './qemuFormat.js';

const UNSUPPORTED_SUFFIX = 'multifd/xbzrle/compression are not supported by pof';

const bad = (q: ByteQueue, msg: string, rel = 0): never => {
  throw new CodecError(msg, q.consumed + rel);
};

const unsupported = (q: ByteQueue, msg: string, rel = 0): never => {
  throw new UnsupportedStreamError(msg, q.consumed + rel);
};

export const idstrAt = (q: ByteQueue, i: number, len: number): string => q.peek(i, len).toString('latin1');

/** CONFIGURATION: 0x07, u32 len, name, then optional subsections. Undefined when more bytes are needed. */
export function tryConfiguration(q: ByteQueue, offset: number): (QemuItem & { kind: 'configuration' }) | undefined {
  if (q.length < 5) return undefined;
  const nameLen = q.u32(1);
  if (nameLen > MAX_MACHINE_NAME)
    bad(q, `CONFIGURATION machine type name length ${nameLen} exceeds ${MAX_MACHINE_NAME}`, 1);
  let i = 5 + nameLen;
  if (q.length < i + 1) return undefined; // need the byte after the name to know whether subsections follow
  const machine = idstrAt(q, 5, nameLen);
  const subsections: string[] = [];
  const capabilities: string[] = [];
  while (q.at(i) === SECTION.SUBSECTION) {
    if (q.length < i + 2) return undefined;
    const len = q.at(i + 1);
    if (q.length < i + 2 + len + 4) return undefined;
    const name = idstrAt(q, i + 2, len);
    let j = i + 2 + len + 4;
    if (name === 'configuration/target-page-bits') {
      if (q.length < j + 4) return undefined;
      const bits = q.u32(j);
      if (bits !== 12) unsupported(q, `target page bits ${bits} (pof supports 4 KiB target pages only)`, j);
      j += 4;
    } else if (name === 'configuration/capabilities') {
      if (q.length < j + 4) return undefined;
      const count = q.u32(j);
      if (count > MAX_CAPABILITIES) bad(q, `CONFIGURATION capability count ${count} exceeds ${MAX_CAPABILITIES}`, j);
      j += 4;
      const caps: string[] = [];
      for (let c = 0; c < count; c++) {
        if (q.length < j + 1) return undefined;
        const clen = q.at(j);
        if (q.length < j + 1 + clen) return undefined;
        caps.push(idstrAt(q, j + 1, clen));
        j += 1 + clen;
      }
      capabilities.push(...caps);
    } else if (name === 'configuration/uuid') {
      j += 16;
    } else {
      bad(q, `unknown CONFIGURATION subsection "${name}"`, i);
    }
    subsections.push(name);
    i = j;
    if (q.length < i + 1) return undefined;
  }
  return { kind: 'configuration', offset, raw: q.take(i), machine, subsections, capabilities };
}

/** The early-setup FULL section being read: its id, idstr, and where the footer search goes on. */
export interface EarlySection {
  sectionId: number;
  idstr: string;
  scanFrom: number;
}

/**
 * The early-setup FULL section at the front of the queue, up to and with its footer, once the
 * footer and the next section's header are buffered; undefined while more bytes are needed.
 */
export function tryEarlySection(
  q: ByteQueue,
  e: EarlySection,
  ramSectionId: number | undefined,
  offset: number,
): QemuItem | undefined {
  for (let i = e.scanFrom; i + 5 <= q.length; i++) {
    if (i > MAX_EARLY_SECTION) break;
    if (q.at(i) !== SECTION.FOOTER || q.u32(i + 1) !== e.sectionId) continue;
    const next = nextHeaderAt(q, i + 5, ramSectionId);
    if (next === undefined) {
      e.scanFrom = i;
      return undefined;
    }
    if (next) return { kind: 'early-device-state', offset, raw: q.take(i + 5), idstr: e.idstr, sectionId: e.sectionId };
  }
  if (q.length > MAX_EARLY_SECTION + 5) {
    unsupported(
      q,
      `early-setup device state (FULL section "${e.idstr}", id ${e.sectionId}) has no footer within ` +
        `${MAX_EARLY_SECTION} bytes`,
    );
  }
  e.scanFrom = Math.max(e.scanFrom, q.length - 4);
  return undefined;
}

/** Is a well-formed section header at `i` (true / false), or are more bytes needed (undefined)? */
function nextHeaderAt(q: ByteQueue, i: number, ramSectionId: number | undefined): boolean | undefined {
  if (q.length < i + 1) return undefined;
  const type = q.at(i);
  if (type === SECTION.PART || type === SECTION.END) {
    if (q.length < i + 5) return undefined;
    return q.u32(i + 1) === ramSectionId;
  }
  if (type === SECTION.START || type === SECTION.FULL) {
    if (q.length < i + 6) return undefined;
    const len = q.at(i + 5);
    if (q.length < i + 6 + len + 8) return undefined;
    return len > 0 && /^[\x21-\x7e]+$/.test(idstrAt(q, i + 6, len));
  }
  return type === SECTION.COMMAND;
}

/** Refuses RAM record flags pof cannot pass on (naming them), and unknown combinations. */
export function checkRamFlags(q: ByteQueue, flags: number): void {
  const found: string[] = [];
  if (flags & RAM_FLAG.XBZRLE) found.push('XBZRLE page (flag 0x40)');
  if (flags & RAM_FLAG.COMPRESS_PAGE) found.push('COMPRESS_PAGE (flag 0x100)');
  if (flags & RAM_FLAG.MULTIFD_FLUSH) found.push('MULTIFD_FLUSH (flag 0x200)');
  if (flags & RAM_FLAG.HOOK) found.push('HOOK (flag 0x80, RDMA)');
  if (found.length) unsupported(q, `RAM record with ${found.join(', ')}: ${UNSUPPORTED_SUFFIX}`);
  const kind = flags & ~RAM_FLAG.CONTINUE;
  if (kind !== RAM_FLAG.ZERO && kind !== RAM_FLAG.PAGE && kind !== RAM_FLAG.EOS && kind !== RAM_FLAG.MEM_SIZE) {
    bad(q, `unknown combination of RAM record flags ${hex(flags)}`);
  }
}

/** Where the QEMU stream parser is. */
export type ParserState = 'header' | 'config' | 'top' | 'ram' | 'ram-decl' | 'footer' | 'early' | 'tail';

/** Where a stream that ends in `state` was cut off, for the "stream truncated" error. */
export function describeState(
  state: ParserState,
  q: ByteQueue,
  section: { type: string; id: number } | undefined,
  early: EarlySection | undefined,
): string {
  switch (state) {
    case 'header':
      return 'inside the file header';
    case 'config':
      return 'inside the CONFIGURATION section';
    case 'top':
      return q.length
        ? `inside a ${SECTION_NAMES[q.at(0)] ?? 'unknown'} section header`
        : 'between sections, before the RAM END section';
    case 'ram':
      return `inside a RAM record of ${section?.type.toUpperCase()} section ${section?.id}`;
    case 'ram-decl':
      return 'inside the RAM block list of a MEM_SIZE record';
    case 'footer':
      return `after section ${section?.id} (before its footer / the next section)`;
    case 'early':
      return `inside the early-setup device state "${early?.idstr}" (section ${early?.sectionId})`;
    default:
      return 'in device state';
  }
}
