/**
 * A hostile target against the real source agent (in process): it authenticates properly (it holds
 * the secret, as a compromised destination host would), follows the POF stream to know which refs
 * exist, then sends back-channel frames out of range, repeated, truncated, oversized or random,
 * early (at the first DATA frame) or late (after END). The source must reject every case — an Error,
 * no crash, no hang — and never complete. Uses a small synthetic image and QEMU stream.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSourceAgent } from './source.js';
import type { SourceStats } from './protocol.js';
import {
  FrameType,
  FrameReader,
  encodeFrame,
  helloPayload,
  checkAuth,
  authOkPayload,
  newNonce,
  MAX_FRAME,
} from './channel.js';
import { AUTH_FRAME_BYTES } from './gate.js';
import { Decoder } from '../codec/decoder.js';
import { synthImageAndStream } from '../codec/synth.js';
import { randomFrames, rawHeader, settled, sleep, within, type FuzzCase } from './fuzzUtil.js';

export const BACKCHANNEL_KINDS = [
  'bc-ack',
  'bc-need',
  'bc-delivered',
  'bc-done',
  'bc-short',
  'bc-oversized',
  'bc-random-frames',
] as const;
export type BackchannelKind = (typeof BACKCHANNEL_KINDS)[number];

const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const pick = <T>(r: () => number, list: T[]): T => list[Math.floor(r() * list.length)];

/** Hostile back-channel frames, given how many refs the source has sent so far. */
export function backchannelFrames(kind: BackchannelKind, refs: number, r: () => number): Buffer[] {
  const n = BigInt(refs);
  const huge = [2n ** 53n, 2n ** 64n - 1n, BigInt(Math.floor(r() * 2 ** 32)) << 20n];
  switch (kind) {
    case 'bc-ack': {
      const values = [n + 1n, n + 1000n, 0n, n, n > 0n ? n - 1n : 0n, ...huge];
      return Array.from({ length: 1 + Math.floor(r() * 5) }, () => encodeFrame(FrameType.ACK, u64(pick(r, values))));
    }
    case 'bc-need': {
      const seq = pick(r, [n, n + 5n, n > 0n ? BigInt(Math.floor(r() * refs)) : 0n, ...huge]);
      return [encodeFrame(FrameType.NEED, u64(seq)), encodeFrame(FrameType.NEED, u64(seq))];
    }
    case 'bc-delivered': {
      // stream bytes the destination took: backwards, beyond what QEMU sent, or plausible
      const values = [0n, 1n, n * 4096n, n * 4096n + (1n << 30n), ...huge];
      return Array.from({ length: 1 + Math.floor(r() * 5) }, () =>
        encodeFrame(FrameType.DELIVERED, u64(pick(r, values))),
      );
    }
    case 'bc-done': {
      const payloads = [
        '{"bytes_out":1,"qemu_crc32":2}',
        '{"__proto__":{"x":1},"bytes_out":"a"}',
        'null',
        '[]',
        '{',
        'x'.repeat(1 << 20),
      ];
      return [encodeFrame(FrameType.DONE, Buffer.from(pick(r, payloads)))];
    }
    case 'bc-short':
      return [
        encodeFrame(pick(r, [FrameType.ACK, FrameType.NEED, FrameType.DELIVERED]), Buffer.alloc(Math.floor(r() * 8))),
      ];
    case 'bc-oversized': {
      return [rawHeader(pick(r, [FrameType.DONE, FrameType.ACK, 0x99]), MAX_FRAME + 1 + Math.floor(r() * 1e9))];
    }
    case 'bc-random-frames':
      return randomFrames(r, 10, 2000);
  }
}

/**
 * The hostile target: HELLO, checks AUTH, AUTH_OK; decodes the stream to count refs; sends `frames`
 * at the first DATA frame or once END arrived, then closes.
 */
function hostileTarget(
  server: Server,
  o: { secret: Buffer; label: string; imageBlocks: number; late: boolean; frames: (refs: number) => Buffer[] },
): void {
  server.once('connection', (sock: Socket) => {
    sock.on('error', () => undefined);
    const nonceT = newNonce();
    let pre = Buffer.alloc(0);
    let authed = false;
    let refs = 0;
    const reader = new FrameReader();
    const decoder = new Decoder({ imageBlocks: o.imageBlocks });
    let struck = false;
    const strike = () => {
      if (struck || !sock.writable) return;
      struck = true;
      for (const f of o.frames(refs)) sock.write(f);
      sock.end();
    };
    sock.on('data', (d: Buffer) => {
      if (!authed) {
        pre = Buffer.concat([pre, d]);
        if (pre.length < AUTH_FRAME_BYTES) return;
        const nonceS = checkAuth(o.secret, o.label, nonceT, pre.subarray(5, AUTH_FRAME_BYTES));
        if (!nonceS) return void sock.destroy();
        authed = true;
        sock.write(encodeFrame(FrameType.AUTH_OK, authOkPayload(o.secret, o.label, nonceS, nonceT)));
        d = pre.subarray(AUTH_FRAME_BYTES);
      }
      try {
        for (const f of reader.push(d)) {
          if (f.type === FrameType.DATA) for (const it of decoder.push(f.payload)) refs += it.kind === 'ref' ? 1 : 0;
          if (f.type === (o.late ? FrameType.END : FrameType.DATA)) strike();
        }
      } catch {
        sock.destroy();
      }
    });
    sock.write(encodeFrame(FrameType.HELLO, helloPayload(nonceT)));
  });
}

/** `cases` hostile targets against fresh in-process source agents (each migrating the same synthetic stream). */
export async function fuzzBackchannel(o: {
  dir: string;
  secret: string;
  cases: number;
  first: number;
  seed: number;
  rand: () => number;
  log?: (l: string) => void;
}): Promise<FuzzCase[]> {
  const { image, stream } = synthImageAndStream(o.seed);
  const imagePath = join(o.dir, 'bc-disk.img');
  writeFileSync(imagePath, image);
  const cases: FuzzCase[] = [];
  for (let i = 0; i < o.cases; i++) {
    const kind = BACKCHANNEL_KINDS[i % BACKCHANNEL_KINDS.length];
    const t0 = performance.now();
    const late = o.rand() < 0.5;
    const server = createServer();
    hostileTarget(server, {
      secret: Buffer.from(o.secret),
      label: 'fuzz',
      imageBlocks: image.length / 4096,
      late,
      frames: (refs) => backchannelFrames(kind, refs, o.rand),
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const statsJson = join(o.dir, `bc${i}.json`);
    const srcSock = join(o.dir, `bc${i}.sock`);
    const agent = settled(
      runSourceAgent({
        listen: { kind: 'unix', path: srcSock },
        target: { kind: 'tcp', host: '127.0.0.1', port },
        nasImage: imagePath,
        secretFile: join(o.dir, 'secret'),
        label: 'fuzz',
        index: { mode: 'scan' },
        retentionPages: 256,
        warmUp: false,
        statsJson,
      }),
    );
    await feedQemu(srcSock, stream);
    const r = await within(agent, 10000);
    server.close();
    const stats = readStats<SourceStats>(statsJson);
    const outcome = r === undefined ? 'hang' : r.ok ? 'completed' : 'rejected';
    const error = r && !r.ok ? r.error : undefined;
    const name = `${kind}${late ? '-late' : ''}`;
    const ms = Math.round(performance.now() - t0);
    cases.push({
      index: o.first + i,
      kind: name,
      outcome,
      error,
      deliveredBytes: 0,
      ms,
      pastHeader: (stats?.backchannel_frames ?? 0) > 0,
      pastEnd: stats?.end_sent === true,
    });
    o.log?.(`case ${o.first + i} ${name}: ${outcome}${error ? ` (${error.slice(0, 100)})` : ''}`);
    if (outcome === 'hang') break;
  }
  return cases;
}

/** Plays the source QEMU: connects to the agent's socket once it exists and writes the stream. */
async function feedQemu(path: string, stream: Buffer): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const q = connect(path);
    const ok = await new Promise<boolean>((r) => {
      q.once('connect', () => r(true));
      q.once('error', () => r(false));
    });
    if (ok) {
      q.on('error', () => undefined);
      q.end(stream);
      return;
    }
    await sleep(25);
  }
}

export function readStats<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
