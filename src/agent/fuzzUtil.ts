/** Pieces shared by the hostile-input runs against the agents (fuzzTarget, fuzzHandshake, fuzzBackchannel). */
import { createServer, type Server } from 'node:net';
import { FrameType, encodeFrame } from './channel.js';

export type FuzzOutcome = 'rejected' | 'completed' | 'hang';

/**
 * One hostile case and how deep it got: `pastHeader` — the agent accepted its first frame header
 * (after authentication; for the handshake: the AUTH header); `pastEnd` — the stream reached END
 * (target: decoded to its end; source: END sent) before the case was rejected.
 */
export interface FuzzCase {
  index: number;
  kind: string;
  outcome: FuzzOutcome;
  error?: string;
  deliveredBytes: number;
  ms: number;
  pastHeader: boolean;
  pastEnd: boolean;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `p`'s value, or undefined when it has not settled within `ms` (so `p` should not resolve to undefined). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a promise resolved or rejected, and with what message. */
export function settled(p: Promise<unknown>): Promise<{ ok: true } | { ok: false; error: string }> {
  return p.then(
    () => ({ ok: true as const }),
    (e: Error) => ({ ok: false as const, error: e.message }),
  );
}

export function seededBytes(n: number, rand: () => number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** `b` as DATA frames of at most 1 MiB. */
export function dataFrames(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 1 << 20) out.push(encodeFrame(FrameType.DATA, b.subarray(i, i + (1 << 20))));
  return out;
}

/** 1..max frames of known (80 %) or random types with random payloads (headers written raw). */
export function randomFrames(rand: () => number, max = 20, maxPayload = 5000): Buffer[] {
  const types = Object.values(FrameType) as number[];
  const out: Buffer[] = [];
  const n = 1 + Math.floor(rand() * max);
  for (let i = 0; i < n; i++) {
    const type = rand() < 0.8 ? types[Math.floor(rand() * types.length)] : Math.floor(rand() * 256);
    const payload = seededBytes(Math.floor(rand() * maxPayload), rand);
    const h = Buffer.alloc(5);
    h[0] = type;
    h.writeUInt32BE(payload.length, 1);
    out.push(Buffer.concat([h, payload]));
  }
  return out;
}

/** A frame header claiming `len` bytes (no payload). */
export function rawHeader(type: number, len: number): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt32BE(len >>> 0, 1);
  return h;
}

/** A unix-socket stand-in for the destination QEMU that counts what it is handed. */
export async function qemuSink(path: string): Promise<{ delivered(): number; close(): Promise<void> }> {
  let delivered = 0;
  const server: Server = createServer((s) => {
    s.on('data', (d: Buffer) => {
      delivered += d.length;
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { delivered: () => delivered, close: () => new Promise<void>((r) => server.close(() => r())) };
}
