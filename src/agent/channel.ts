import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';

/**
 * The agent-to-agent channel: length-prefixed frames over one TCP connection on the migration
 * network, both directions.
 *
 *   frame = u8 type | u32 length (big-endian) | payload[length]      (length ≤ MAX_FRAME)
 *
 * Handshake (mutual, per-run secret, before any stream byte reaches the destination QEMU):
 *   target → HELLO   version u8 | nonceT[32]
 *   source → AUTH    nonceS[32] | HMAC-SHA256(secret, "pof-src" | nonceT | nonceS | label)
 *   target → AUTH_OK HMAC-SHA256(secret, "pof-dst" | nonceS | nonceT | label)
 * `label` names the run and image, so a peer of another run (same secret) is refused too.
 *
 * Stream:  source → DATA (POF stream bytes) …, END
 * Back-channel: target → ACK u64 (refs resolved so far, cumulative), NEED u64 (ref sequence whose
 *   NAS block failed verification, or could not be read), NAS_DOWN (the NAS is unreachable or too slow:
 *   the source sends pages in full from then on), DELIVERED u64 (QEMU stream bytes handed to the
 *   destination QEMU so far, cumulative: the source's stream window); source → PAGE u64 seq | page[4096]
 *   (from its retention window).
 * Close:   target → DONE (JSON stats) after the destination QEMU has every byte; ERROR utf8 either way.
 */
export const FrameType = {
  HELLO: 0x01,
  AUTH: 0x02,
  AUTH_OK: 0x03,
  DATA: 0x10,
  END: 0x11,
  ACK: 0x20,
  NEED: 0x21,
  PAGE: 0x22,
  NAS_DOWN: 0x23,
  DELIVERED: 0x24,
  DONE: 0x30,
  ERROR: 0x7f,
} as const;
export type FrameTypeName = keyof typeof FrameType;
const NAMES = new Map<number, FrameTypeName>(Object.entries(FrameType).map(([k, v]) => [v, k as FrameTypeName]));

/** 2: DELIVERED (the stream window). */
export const PROTOCOL_VERSION = 2;
export const MAX_FRAME = 1024 * 1024 + 64;

export interface Frame {
  type: number;
  payload: Buffer;
}

export function encodeFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_FRAME) throw new Error(`frame of ${payload.length} bytes exceeds the ${MAX_FRAME} limit`);
  const h = Buffer.allocUnsafe(5);
  h.writeUInt8(type, 0);
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}

export function frameName(type: number): string {
  return NAMES.get(type) ?? `0x${type.toString(16)}`;
}

/**
 * Incremental frame parser: push bytes, take frames. Refuses unknown types and oversize lengths.
 * A DATA frame's payload is a plain byte stream, so it is handed on in pieces as its bytes arrive
 * (views of the pushed chunks, never gathered or copied); every other frame comes whole.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Payload bytes of the current DATA frame not yet handed on. */
  private dataLeft = 0;
  offset = 0;

  push(data: Buffer): Frame[] {
    if (data.length) {
      this.chunks.push(data);
      this.buffered += data.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.dataLeft > 0) {
        if (this.buffered === 0) break;
        const first = this.chunks[0];
        const n = Math.min(this.dataLeft, first.length);
        frames.push({ type: FrameType.DATA, payload: this.consume(n) });
        this.dataLeft -= n;
        continue;
      }
      if (this.buffered < 5) break;
      const head = this.peek(5);
      const type = head.readUInt8(0);
      const len = head.readUInt32BE(1);
      if (!NAMES.has(type))
        throw new Error(`agent channel: unknown frame type 0x${type.toString(16)} at byte ${this.offset}`);
      if (len > MAX_FRAME)
        throw new Error(`agent channel: frame length ${len} at byte ${this.offset} exceeds ${MAX_FRAME}`);
      if (type === FrameType.DATA && len > 0) {
        this.consume(5);
        this.dataLeft = len;
        continue;
      }
      if (this.buffered < 5 + len) break;
      this.consume(5);
      frames.push({ type, payload: this.consume(len) });
    }
    return frames;
  }

  /** Copies the bytes of a frame not complete yet: the chunks pushed so far are no longer referenced. */
  detach(): void {
    // Buffer.concat copies, a single chunk too
    this.chunks = this.buffered === 0 ? [] : [Buffer.concat(this.chunks, this.buffered)];
  }

  get pendingBytes(): number {
    return this.buffered;
  }

  /** The next n (≤ buffered) bytes without consuming them: a view, or a copy of n bytes across chunks. */
  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    return this.gather(n, false);
  }

  /** Consumes n (≤ buffered) bytes: a view when they lie in the first chunk, else a copy of just those bytes. */
  private consume(n: number): Buffer {
    this.offset += n;
    this.buffered -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    return this.gather(n, true);
  }

  private gather(n: number, consume: boolean): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    let i = 0;
    while (at < n) {
      const c = this.chunks[i];
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (consume) {
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      } else {
        i++;
      }
    }
    return out;
  }
}

function mac(secret: Buffer, parts: (Buffer | string)[]): Buffer {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

export function helloPayload(nonceT: Buffer): Buffer {
  return Buffer.concat([Buffer.from([PROTOCOL_VERSION]), nonceT]);
}

export function authPayload(secret: Buffer, label: string, nonceT: Buffer, nonceS: Buffer): Buffer {
  return Buffer.concat([nonceS, mac(secret, ['pof-src', nonceT, nonceS, label])]);
}

export function checkAuth(secret: Buffer, label: string, nonceT: Buffer, payload: Buffer): Buffer | undefined {
  if (payload.length !== 64) return undefined;
  const nonceS = payload.subarray(0, 32);
  const want = mac(secret, ['pof-src', nonceT, nonceS, label]);
  return timingSafeEqual(want, payload.subarray(32)) ? Buffer.from(nonceS) : undefined;
}

export function authOkPayload(secret: Buffer, label: string, nonceS: Buffer, nonceT: Buffer): Buffer {
  return mac(secret, ['pof-dst', nonceS, nonceT, label]);
}

export function checkAuthOk(secret: Buffer, label: string, nonceS: Buffer, nonceT: Buffer, payload: Buffer): boolean {
  return payload.length === 32 && timingSafeEqual(authOkPayload(secret, label, nonceS, nonceT), payload);
}

export const newNonce = (): Buffer => randomBytes(32);

/** The per-run secret both agents prove they hold (a file, at least 16 bytes after trimming). */
export async function readSecret(file: string): Promise<Buffer> {
  const secret = Buffer.from((await readFile(file, 'utf8')).trim(), 'utf8');
  if (secret.length < 16) throw new Error(`secret file ${file} holds fewer than 16 bytes`);
  return secret;
}

export function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function readU64(b: Buffer, at = 0): number {
  if (b.length < at + 8) throw new Error('agent channel: short u64 payload');
  const v = b.readBigUInt64BE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('agent channel: u64 out of range');
  return Number(v);
}

/**
 * Reads frames from a socket with a per-frame callback; errors (bad frames, socket errors) go to
 * `onError` once. Returns a function that stops reading.
 */
export function readFrames(sock: Socket, onFrame: (f: Frame) => void, onError: (e: Error) => void): void {
  const reader = new FrameReader();
  let failed = false;
  sock.on('data', (d: Buffer) => {
    if (failed) return;
    try {
      for (const f of reader.push(d)) onFrame(f);
    } catch (err) {
      failed = true;
      onError(err as Error);
    }
  });
}
