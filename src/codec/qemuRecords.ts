/**
 * The parser's fast path over RAM records (QemuStreamParser.pushTo): consecutive PAGE and ZERO
 * records with CONTINUE lying whole in one input chunk are handed on as positions, without an item
 * object or a view per record. Pure: bytes in, positions out.
 */
import { PAGE_SIZE } from './bytes.js';
import { RAM_FLAG, RAM_FLAGS_MASK, type QemuItem } from './qemuFormat.js';

/**
 * Where the fast path hands a RAM record with CONTINUE: `len` bytes at `buf[at ..]`, a PAGE record
 * (8-byte header, then the page: len 4104) or a ZERO record (header and its fill byte: len 9).
 * `buf` is the caller's own input chunk.
 */
export type PageRecordSink = (buf: Buffer, at: number, len: number) => void;

/** Anything items can be pushed to: an array, or a consumer called in stream order. */
export interface ItemSink {
  push(item: QemuItem): unknown;
}

/** A PAGE record with CONTINUE: header (8) + page; a ZERO record: header + fill byte. */
const CONTINUE_PAGE_RECORD = 8 + PAGE_SIZE;
const CONTINUE_ZERO_RECORD = 9;
const CONTINUE_PAGE_FLAGS = RAM_FLAG.PAGE | RAM_FLAG.CONTINUE;
const CONTINUE_ZERO_FLAGS = RAM_FLAG.ZERO | RAM_FLAG.CONTINUE;

/**
 * Hands `sink` the PAGE and ZERO records with CONTINUE from `buf[start ..]` on, as (buf, offset,
 * length), for a RAM block of `blockLen` bytes. Stops at anything else (another record kind, a record
 * that does not end in `buf`, an address out of the block), which the parser's record reader then
 * parses or refuses. Returns the bytes handed on.
 */
export function continueRecords(buf: Buffer, start: number, blockLen: number, sink: PageRecordSink): number {
  const end = buf.length;
  let p = start;
  while (p + 8 <= end) {
    const lo = ((buf[p + 4] << 24) | (buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7]) >>> 0;
    const flags = lo & RAM_FLAGS_MASK;
    const len =
      flags === CONTINUE_PAGE_FLAGS ? CONTINUE_PAGE_RECORD : flags === CONTINUE_ZERO_FLAGS ? CONTINUE_ZERO_RECORD : 0;
    if (len === 0 || p + len > end) break;
    const hi = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
    if (hi >= 0x200000 || hi * 0x100000000 + (lo - flags) + PAGE_SIZE > blockLen) break;
    sink(buf, p, len);
    p += len;
  }
  return p - start;
}
