/**
 * Hostile peers before authentication, against one real target agent (in process): after its
 * HELLO they send random bytes, AUTH frames that are mutated, for another secret, label or nonce,
 * truncated, oversized or followed by more bytes. None may get AUTH_OK; each must be closed within
 * the handshake deadline. An authenticated source must still migrate through the agent afterwards.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runTargetAgent } from './target.js';
import { handshake } from './sourceHandshake.js';
import { connectTo } from './endpoint.js';
import { FrameType, encodeFrame, authPayload, newNonce } from './channel.js';
import { AUTH_FRAME_BYTES, type Refusal } from './gate.js';
import { dataFrames, qemuSink, rawHeader, seededBytes, settled, within, type FuzzCase } from './fuzzUtil.js';

export const HANDSHAKE_KINDS = [
  'hs-random',
  'hs-mutated-auth',
  'hs-wrong-secret',
  'hs-wrong-label',
  'hs-replay',
  'hs-truncated',
  'hs-oversized',
  'hs-excess',
] as const;
export type HandshakeKind = (typeof HANDSHAKE_KINDS)[number];

const HELLO_BYTES = 5 + 33;
/** The fuzz's target gives each connection this long (the agent's default is 3 s): cheap holds. */
const FUZZ_HANDSHAKE_MS = 500;

interface Ctx {
  secret: Buffer;
  label: string;
  nonceT: Buffer;
  prevNonceT: Buffer;
  rand: () => number;
}

const auth = (secret: Buffer, label: string, nonceT: Buffer) =>
  encodeFrame(FrameType.AUTH, authPayload(secret, label, nonceT, newNonce()));

/** What a hostile peer sends after HELLO, and whether it then closes (else it holds the connection). */
export function handshakeBytes(kind: HandshakeKind, c: Ctx): { bytes: Buffer; end: boolean } {
  const r = c.rand;
  const end = r() < 0.5;
  switch (kind) {
    case 'hs-random':
      return { bytes: seededBytes(1 + Math.floor(r() * 300), r), end };
    case 'hs-mutated-auth': {
      const b = auth(c.secret, c.label, c.nonceT);
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) b[Math.floor(r() * b.length)] ^= 1 + Math.floor(r() * 255);
      return { bytes: b, end };
    }
    case 'hs-wrong-secret':
      return { bytes: auth(randomBytes(32), c.label, c.nonceT), end };
    case 'hs-wrong-label':
      return { bytes: auth(c.secret, `${c.label}-other`, c.nonceT), end };
    case 'hs-replay':
      return { bytes: auth(c.secret, c.label, c.prevNonceT), end };
    case 'hs-truncated': {
      const b = auth(c.secret, c.label, c.nonceT);
      return { bytes: b.subarray(0, Math.floor(r() * AUTH_FRAME_BYTES)), end };
    }
    case 'hs-oversized': {
      const type = r() < 0.5 ? FrameType.AUTH : Math.floor(r() * 256);
      const header = rawHeader(type, 65 + Math.floor(r() * 2 ** 31));
      return { bytes: Buffer.concat([header, seededBytes(Math.floor(r() * 200), r)]), end };
    }
    case 'hs-excess': {
      const extra = seededBytes(1 + Math.floor(r() * 4096), r);
      return { bytes: Buffer.concat([auth(randomBytes(32), c.label, c.nonceT), extra]), end };
    }
  }
}

/** One hostile connection: the HELLO's nonce, whether AUTH_OK came, whether the target closed it in time. */
async function hostilePeer(
  port: number,
  next: (nonceT: Buffer) => { bytes: Buffer; end: boolean },
  rand: () => number,
  timeoutMs: number,
): Promise<{ outcome: FuzzCase['outcome']; nonceT?: Buffer; error?: string }> {
  const sock: Socket = connect({ host: '127.0.0.1', port });
  let got = Buffer.alloc(0);
  let nonceT: Buffer | undefined;
  const closed = new Promise<boolean>((resolve) => sock.on('close', () => resolve(true)));
  sock.on('error', () => undefined);
  sock.on('data', (d: Buffer) => {
    got = Buffer.concat([got, d]);
    if (nonceT || got.length < HELLO_BYTES) return;
    nonceT = Buffer.from(got.subarray(6, HELLO_BYTES));
    const { bytes, end } = next(nonceT);
    // in one to three writes: the target must not depend on how the bytes are cut
    const cut = [Math.floor(rand() * bytes.length), Math.floor(rand() * bytes.length)].sort((a, b) => a - b);
    for (const part of [bytes.subarray(0, cut[0]), bytes.subarray(cut[0], cut[1]), bytes.subarray(cut[1])]) {
      if (part.length) sock.write(part);
    }
    if (end) sock.end();
  });
  const inTime = await within(closed, timeoutMs);
  sock.destroy();
  const authOk = got.length > HELLO_BYTES && got[HELLO_BYTES] === FrameType.AUTH_OK;
  if (authOk) return { outcome: 'completed', nonceT, error: 'the target sent AUTH_OK to a hostile peer' };
  return { outcome: inTime === undefined ? 'hang' : 'rejected', nonceT };
}

export interface HandshakeFuzz {
  cases: FuzzCase[];
  legitAfter: boolean;
  legitError?: string;
}

/** `cases` hostile handshakes against one in-process target agent, then one authenticated migration of `pof`. */
export async function fuzzHandshake(o: {
  pof: Buffer;
  image: string;
  dir: string;
  secret: string;
  port: number;
  cases: number;
  first: number;
  rand: () => number;
  log?: (l: string) => void;
}): Promise<HandshakeFuzz> {
  const sink = await qemuSink(join(o.dir, 'hs-qemu.sock'));
  let refusal: Refusal | undefined;
  const stop = new AbortController();
  const agent = settled(
    runTargetAgent({
      listen: { kind: 'tcp', host: '127.0.0.1', port: o.port },
      qemu: { kind: 'unix', path: join(o.dir, 'hs-qemu.sock') },
      nasImage: o.image,
      secretFile: join(o.dir, 'secret'),
      label: 'fuzz',
      warmUp: false,
      handshakeMs: FUZZ_HANDSHAKE_MS,
      onRefused: (r) => {
        refusal = r;
      },
      signal: stop.signal,
    }),
  );
  const cases: FuzzCase[] = [];
  try {
    await waitListening(o.port);
    let prevNonceT = newNonce();
    for (let i = 0; i < o.cases; i++) {
      const kind = HANDSHAKE_KINDS[i % HANDSHAKE_KINDS.length];
      refusal = undefined;
      const t0 = performance.now();
      const secret = Buffer.from(o.secret);
      const ctx = { secret, label: 'fuzz', prevNonceT, rand: o.rand };
      const bytes = (nonceT: Buffer) => handshakeBytes(kind, { ...ctx, nonceT });
      const r = await hostilePeer(o.port, bytes, o.rand, FUZZ_HANDSHAKE_MS + 2000);
      prevNonceT = r.nonceT ?? prevNonceT;
      const error = r.error ?? (refusal as Refusal | undefined)?.reason;
      const pastHeader = (refusal as Refusal | undefined)?.pastHeader ?? false;
      cases.push({
        index: o.first + i,
        kind,
        outcome: r.outcome,
        error,
        deliveredBytes: sink.delivered(),
        ms: Math.round(performance.now() - t0),
        pastHeader,
        pastEnd: false,
      });
      o.log?.(`case ${o.first + i} ${kind}: ${r.outcome}${error ? ` (${error.slice(0, 100)})` : ''}`);
      if (r.outcome !== 'rejected') break;
    }
    return { cases, ...(await legitMigration(o.port, o.secret, o.pof, agent)) };
  } finally {
    stop.abort();
    await within(agent, 5000);
    await sink.close();
  }
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (i > 100) throw new Error(`the target agent does not listen on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An authenticated source migrates `pof` through the agent: it must complete (the END frame's CRC included). */
async function legitMigration(
  port: number,
  secret: string,
  pof: Buffer,
  agent: Promise<{ ok: true } | { ok: false; error: string }>,
): Promise<{ legitAfter: boolean; legitError?: string }> {
  const peer = await connectTo({ kind: 'tcp', host: '127.0.0.1', port }, 5000);
  peer.on('error', () => undefined);
  peer.on('data', () => undefined);
  try {
    await handshake(peer, Buffer.from(secret), 'fuzz');
    for (const f of [...dataFrames(pof), encodeFrame(FrameType.END)]) peer.write(f);
    const r = await within(agent, 30000);
    if (!r) return { legitAfter: false, legitError: 'the target agent did not finish' };
    return r.ok ? { legitAfter: true } : { legitAfter: false, legitError: r.error };
  } catch (err) {
    return { legitAfter: false, legitError: (err as Error).message };
  } finally {
    peer.destroy();
  }
}
