/**
 * POF stream format, version 2 — what crosses the migration link between the POF source and target
 * agents (and what `pofbench stream encode` writes). Big-endian throughout.
 *
 *   Header, 24 bytes:
 *     0  u32    magic 0x504F4653 ("POFS")
 *     4  u16    version = 2
 *     6  u16    flags = 0 (reserved: a decoder refuses any bit set)
 *     8  u32    block size = 4096 (guest page size = NAS block size)
 *     12 u8     hash algorithm = 1 (SHA-256)
 *     13 u8[3]  reserved = 0
 *     16 u64    image blocks: size of the NAS image the encoder's index refers to, in 4 KiB blocks
 *               (0 = not stated). A decoder given the image refuses a mismatch.
 *
 *   Then frames, each a type byte and a fixed or length-prefixed body:
 *     'L' 0x4C  LITERAL  u32 n (1 ≤ n ≤ 16 MiB), then n bytes of the QEMU stream, verbatim.
 *     'R' 0x52  REF      u64 NAS block number, u8[32] SHA-256 of the block's 4096 bytes.
 *                        Stands for exactly 4096 bytes of the QEMU stream: the block's content.
 *     'E' 0x45  END      u64 QEMU stream bytes, u64 literal bytes, u64 ref count,
 *                        u32 CRC-32 (zlib polynomial) of the whole QEMU stream, in order (literals
 *                        and referenced blocks: what the decoding side must hand on).
 *                        Always last: any byte after it is an error; a stream without it is truncated.
 *
 * The QEMU stream is the concatenation of the literals and the referenced blocks, in frame order.
 * The encoder only ever replaces the 4096-byte payload of a RAM PAGE record by a REF: each record's
 * header (u64 offset|flags, and u8 len + idstr when CONTINUE is not set) stays verbatim in the
 * literal run before it, so the RAM block context (CONTINUE chains) is right by construction and the
 * decoder needs no knowledge of QEMU's format. Literal runs are coalesced (up to `maxLiteral`,
 * default 256 KiB, per frame); a REF costs 41 bytes instead of 4096.
 *
 * Integrity: REF content is checked against its SHA-256 by the target (a mismatch is an error naming
 * the block); the CRC in END covers the restored stream end to end, so whoever turns references back
 * into bytes (`restore` in resolve.ts, the target agent) checks it over exactly what it hands on: one
 * CRC pass per side catches corrupt literals and any misassembly (order, duplicates, a reused
 * buffer). Version 1 (CRC of literal bytes only) needed a second pass for that. Counts in END detect
 * truncation and desynchronisation; a REF to a block beyond the image is refused.
 */
import { HASH_SIZE, PAGE_SIZE, writeU64 } from './bytes.js';

export const POF_MAGIC = 0x504f4653;
export const POF_VERSION = 2;
export const POF_HEADER_SIZE = 24;
export const HASH_SHA256 = 1;

export const FRAME = { LITERAL: 0x4c, REF: 0x52, END: 0x45 } as const;

export const LITERAL_HEADER_SIZE = 5;
export const REF_FRAME_SIZE = 1 + 8 + HASH_SIZE; // 41
export const END_FRAME_SIZE = 1 + 8 + 8 + 8 + 4; // 29
/** Largest literal frame a decoder accepts (an encoder never writes more than its maxLiteral). */
export const MAX_LITERAL = 16 * 1024 * 1024;
export const DEFAULT_MAX_LITERAL = 256 * 1024;

export interface PofHeader {
  version: number;
  blockSize: number;
  hashAlgorithm: number;
  imageBlocks: number;
}

export function encodeHeader(imageBlocks: number): Buffer {
  const b = Buffer.alloc(POF_HEADER_SIZE);
  b.writeUInt32BE(POF_MAGIC, 0);
  b.writeUInt16BE(POF_VERSION, 4);
  b.writeUInt16BE(0, 6);
  b.writeUInt32BE(PAGE_SIZE, 8);
  b.writeUInt8(HASH_SHA256, 12);
  writeU64(b, imageBlocks, 16);
  return b;
}

/** A literal frame's header (LITERAL_HEADER_SIZE bytes) written at `buf[at ..]`; its bytes follow it. */
export function writeLiteralHeader(buf: Buffer, at: number, length: number): void {
  buf[at] = FRAME.LITERAL;
  buf.writeUInt32BE(length, at + 1);
}

/** A REF frame (REF_FRAME_SIZE bytes) written at `buf[at ..]`. */
export function writeRef(buf: Buffer, at: number, block: number, hash: Buffer): void {
  buf[at] = FRAME.REF;
  writeU64(buf, block, at + 1);
  buf.set(hash.subarray(0, HASH_SIZE), at + 9);
}

export interface EndCounts {
  qemuBytes: number;
  literalBytes: number;
  refs: number;
  crc: number;
}

export function encodeEnd(c: EndCounts): Buffer {
  const b = Buffer.allocUnsafe(END_FRAME_SIZE);
  b[0] = FRAME.END;
  writeU64(b, c.qemuBytes, 1);
  writeU64(b, c.literalBytes, 9);
  writeU64(b, c.refs, 17);
  b.writeUInt32BE(c.crc >>> 0, 25);
  return b;
}
