/**
 * Hostile-input run against the real target agent (in process): an authenticated peer sends
 * truncated or mutated POF streams (from a real encoded stream) or random frames. Every case must
 * end with the agent rejecting the stream — an Error, no crash, no hang — with memory bounded and
 * nothing beyond the stream's own prefix delivered to the destination socket. Deterministic by seed.
 */
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runTargetAgent } from './target.js';
import { handshake } from './source.js';
import { connectTo } from './target.js';
import { FrameType, encodeFrame, MAX_FRAME } from './channel.js';
import { mulberry32 as prng } from '../util/prng.js';

export type FuzzKind = 'truncated' | 'mutated' | 'random-frames' | 'oversized-frame';

export interface FuzzCase { index: number; kind: FuzzKind; outcome: 'rejected' | 'completed' | 'hang'; error?: string; deliveredBytes: number; ms: number }

export interface FuzzSummary { seed: number; cases: FuzzCase[]; rssGrowthMb: number; byKind: Record<string, number> }


/** The bytes a hostile peer sends after authenticating, as agent-channel frames. */
function caseFrames(kind: FuzzKind, pof: Buffer, rand: () => number): Buffer[] {
  const data = (b: Buffer) => {
    const out: Buffer[] = [];
    for (let i = 0; i < b.length; i += 1 << 20) out.push(encodeFrame(FrameType.DATA, b.subarray(i, i + (1 << 20))));
    return out;
  };
  switch (kind) {
    case 'truncated': return data(pof.subarray(0, Math.floor(rand() * pof.length)));
    case 'mutated': {
      const bad = Buffer.from(pof);
      const n = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < n; i++) bad[Math.floor(rand() * bad.length)] ^= 1 + Math.floor(rand() * 255);
      return [...data(bad), encodeFrame(FrameType.END)];
    }
    case 'random-frames': {
      const out: Buffer[] = [];
      const n = 1 + Math.floor(rand() * 20);
      for (let i = 0; i < n; i++) {
        const types = Object.values(FrameType);
        const type = rand() < 0.8 ? types[Math.floor(rand() * types.length)] : Math.floor(rand() * 256);
        const payload = randomBytesSeeded(Math.floor(rand() * 5000), rand);
        const h = Buffer.alloc(5);
        h[0] = type;
        h.writeUInt32BE(payload.length, 1);
        out.push(Buffer.concat([h, payload]));
      }
      return out;
    }
    case 'oversized-frame': {
      const h = Buffer.alloc(5);
      h[0] = FrameType.DATA;
      h.writeUInt32BE(MAX_FRAME + 1 + Math.floor(rand() * 1e9), 1);
      return [h, Buffer.alloc(1024)];
    }
  }
}

function randomBytesSeeded(n: number, rand: () => number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** Runs `cases` hostile sessions against fresh in-process target agents (ports from basePort). */
export async function fuzzTargetAgent(o: { pof: Buffer; image: string; cases: number; seed: number; basePort: number; timeoutMs?: number; log?: (l: string) => void }): Promise<FuzzSummary> {
  const rand = prng(o.seed);
  const dir = mkdtempSync(join(tmpdir(), 'pofbench-fuzz-'));
  const secret = randomBytes(32).toString('hex');
  writeFileSync(join(dir, 'secret'), secret);
  const kinds: FuzzKind[] = ['truncated', 'mutated', 'random-frames', 'oversized-frame'];
  const cases: FuzzCase[] = [];
  const rss0 = process.memoryUsage().rss;
  let rssMax = rss0;
  try {
    for (let i = 0; i < o.cases; i++) {
      const kind = kinds[i % kinds.length];
      const frames = caseFrames(kind, o.pof, rand);
      const qemuSock = join(dir, `q${i}.sock`);
      let delivered = 0;
      const sink: Server = createServer((s) => { s.on('data', (d: Buffer) => { delivered += d.length; }); s.on('error', () => undefined); });
      await new Promise<void>((r) => sink.listen(qemuSock, r));
      const port = o.basePort + (i % 500);
      const t0 = performance.now();
      const agent = runTargetAgent({ listen: { kind: 'tcp', host: '127.0.0.1', port }, qemu: { kind: 'unix', path: qemuSock }, nasImage: o.image, secretFile: join(dir, 'secret'), label: 'fuzz' });
      const settled = agent.then(() => ({ ok: true as const }), (e: Error) => ({ ok: false as const, error: e.message }));
      let outcome: FuzzCase['outcome'] = 'hang';
      let error: string | undefined;
      try {
        const peer = await connectTo({ kind: 'tcp', host: '127.0.0.1', port }, 5000).catch(async () => {
          await new Promise((r) => setTimeout(r, 200));
          return connectTo({ kind: 'tcp', host: '127.0.0.1', port }, 5000);
        });
        peer.on('error', () => undefined);
        await handshake(peer, Buffer.from(secret), 'fuzz');
        peer.on('data', () => undefined);
        for (const f of frames) if (!peer.destroyed) peer.write(f);
        peer.end();
        const r = await Promise.race([settled, new Promise<undefined>((res) => setTimeout(() => res(undefined), o.timeoutMs ?? 15000))]);
        if (r) {
          outcome = r.ok ? 'completed' : 'rejected';
          error = r.ok ? undefined : r.error;
        }
        peer.destroy();
      } finally {
        await new Promise<void>((r) => sink.close(() => r()));
      }
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      cases.push({ index: i, kind, outcome, error, deliveredBytes: delivered, ms: Math.round(performance.now() - t0) });
      o.log?.(`case ${i} ${kind}: ${outcome}${error ? ` (${error.slice(0, 100)})` : ''}`);
      if (outcome === 'hang') break; // a hung agent holds its port and server: stop here and report it
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const byKind: Record<string, number> = {};
  for (const c of cases) byKind[`${c.kind}:${c.outcome}`] = (byKind[`${c.kind}:${c.outcome}`] ?? 0) + 1;
  return { seed: o.seed, cases, rssGrowthMb: Math.round((rssMax - rss0) / 1e6), byKind };
}
