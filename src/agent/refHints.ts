import { FrameType, encodeFrame, readU64 } from './channel.js';

/**
 * HINT frames: the NAS blocks of refs the source agent holds back in its link queue (LinkBacklog),
 * sent ahead of that queue, so the target reads them from the NAS and hashes them while the link
 * still carries the literal pages before them.
 *
 *   HINT payload = u64 seq of the first ref | n × u64 block       (the blocks of refs seq, seq+1, …)
 *
 * A hint promises nothing and carries no hash: the ref in the stream is what counts. The target
 * uses a prefetched block only for the ref of the same seq and block, and only if the block's
 * SHA-256 equals that ref's hash; otherwise the ref is served as if there had been no hint.
 */
export const HINT_ENTRY = 8;
const MAX_HINTS_PER_FRAME = 65536;

/** The refs of one QEMU chunk, collected as the encoder makes them. */
export class HintCollector {
  private blocks: number[] = [];
  private firstSeq = 0;
  /** Refs hinted so far. */
  hinted = 0;

  /** Starts a chunk whose first ref (if any) will be ref `seq`. */
  start(seq: number): void {
    this.firstSeq = seq;
    this.blocks.length = 0;
  }

  add(block: number): void {
    this.blocks.push(block);
  }

  /** The chunk's HINT frames (none without refs). */
  frames(): Buffer[] {
    const out: Buffer[] = [];
    const { blocks } = this;
    for (let i = 0; i < blocks.length; i += MAX_HINTS_PER_FRAME) {
      const k = Math.min(MAX_HINTS_PER_FRAME, blocks.length - i);
      const payload = Buffer.allocUnsafe(8 + k * HINT_ENTRY);
      payload.writeBigUInt64BE(BigInt(this.firstSeq + i), 0);
      for (let j = 0; j < k; j++) payload.writeBigUInt64BE(BigInt(blocks[i + j]), 8 + j * HINT_ENTRY);
      out.push(encodeFrame(FrameType.HINT, payload));
    }
    this.hinted += blocks.length;
    blocks.length = 0;
    return out;
  }
}

/** One hinted ref. */
export interface Hint {
  seq: number;
  block: number;
}

/** The refs of a HINT payload; a block beyond the image is an error. */
export function parseHints(payload: Buffer, imageBlocks: number): Hint[] {
  if (payload.length < 8 || (payload.length - 8) % HINT_ENTRY !== 0)
    throw new Error(`HINT frame of ${payload.length} bytes: not 8 + n × ${HINT_ENTRY}`);
  const seq = readU64(payload, 0);
  const hints: Hint[] = [];
  for (let at = 8, i = 0; at < payload.length; at += HINT_ENTRY, i++) {
    const block = readU64(payload, at);
    if (block >= imageBlocks) throw new Error(`HINT names block ${block}, beyond the image's ${imageBlocks}`);
    hints.push({ seq: seq + i, block });
  }
  return hints;
}
