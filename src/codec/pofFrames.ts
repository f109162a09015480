/**
 * The POF stream: a QEMU migration stream in which page payloads found on the NAS are replaced by
 * references. Byte-exact by construction: every byte of the QEMU stream is either inside a LITERAL
 * frame, or is a PAGE record's 4096-byte payload replaced by a REF frame; RAM record headers (u64
 * offset|flags and any block idstr) stay verbatim in literals, so CONTINUE/idstr contexts are
 * untouched.
 *
 *   header  = "POFS" | u8 version (1) | 3 zero bytes
 *   LITERAL = 'L' | u32 length (1..MAX_LITERAL) | bytes
 *   REF     = 'R' | u64 NAS block number | SHA-256 of the block's 4096 bytes [32]
 *   END     = 'E' | u64 QEMU stream bytes | u64 literal bytes | u64 refs
 *
 * All integers big-endian. END's totals let the decoder detect truncation and dropped frames;
 * nothing may follow END.
 */
export const POF_MAGIC = Buffer.from('POFS', 'latin1');
export const POF_VERSION = 1;
export const POF_HEADER_BYTES = 8;
export const FRAME_LITERAL = 0x4c;
export const FRAME_REF = 0x52;
export const FRAME_END = 0x45;
export const MAX_LITERAL = 1024 * 1024;
export const REF_BYTES = 1 + 8 + 32;
export const END_BYTES = 1 + 24;
export const HASH_BYTES = 32;
export const PAGE_BYTES = 4096;

export function pofHeader(): Buffer {
  const h = Buffer.alloc(POF_HEADER_BYTES);
  POF_MAGIC.copy(h, 0);
  h[4] = POF_VERSION;
  return h;
}

export function refFrame(block: number, hash: Buffer): Buffer {
  const f = Buffer.allocUnsafe(REF_BYTES);
  f[0] = FRAME_REF;
  f.writeBigUInt64BE(BigInt(block), 1);
  hash.copy(f, 9, 0, HASH_BYTES);
  return f;
}

export function literalFrameHeader(length: number): Buffer {
  const f = Buffer.allocUnsafe(5);
  f[0] = FRAME_LITERAL;
  f.writeUInt32BE(length, 1);
  return f;
}

export function endFrame(qemuBytes: number, literalBytes: number, refs: number): Buffer {
  const f = Buffer.allocUnsafe(END_BYTES);
  f[0] = FRAME_END;
  f.writeBigUInt64BE(BigInt(qemuBytes), 1);
  f.writeBigUInt64BE(BigInt(literalBytes), 9);
  f.writeBigUInt64BE(BigInt(refs), 17);
  return f;
}
