/**
 * Hostile-input runs against the real agents (in process), deterministic by seed:
 * - stream: an authenticated peer sends the target agent truncated or mutated POF streams (from a
 *   real encoded stream), random frames or an oversized frame header. Every case must end with the
 *   agent rejecting the stream — an Error, no crash, no hang — with memory bounded and nothing
 *   beyond the stream's own prefix delivered to the destination socket.
 * - handshake (fuzzHandshake.ts): unauthenticated peers against one target agent, then a real
 *   migration through it.
 * - back-channel (fuzzBackchannel.ts): a hostile target against the source agent.
 * Each case records how deep it got (past the first frame header, past END).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runTargetAgent } from './target.js';
import type { TargetStats } from './protocol.js';
import { handshake } from './sourceHandshake.js';
import { connectTo } from './endpoint.js';
import { FrameType, encodeFrame, MAX_FRAME } from './channel.js';
import { mulberry32 as prng } from '../util/prng.js';
import { dataFrames, qemuSink, randomFrames, rawHeader, settled, sleep, within, type FuzzCase } from './fuzzUtil.js';
import { fuzzHandshake } from './fuzzHandshake.js';
import { fuzzBackchannel, readStats } from './fuzzBackchannel.js';

export type { FuzzCase } from './fuzzUtil.js';
export type FuzzKind = 'truncated' | 'mutated' | 'random-frames' | 'oversized-frame';
export type FuzzPath = 'stream' | 'handshake' | 'backchannel';

/** Per path: cases, how many got past their first frame header, past END, and (handshake) in. */
export interface FuzzDepth {
  path: FuzzPath;
  cases: number;
  pastHeader: number;
  pastEnd: number;
  authenticated: number;
}

export interface FuzzSummary {
  seed: number;
  cases: FuzzCase[];
  rssGrowthMb: number;
  byKind: Record<string, number>;
  depth: FuzzDepth[];
  /** After the hostile handshakes, an authenticated source migrated through the same agent. */
  legitAfterHandshakes?: boolean;
  legitError?: string;
}

export interface FuzzOptions {
  pof: Buffer;
  image: string;
  /** Stream cases (each against a fresh target agent on basePort + i). */
  cases: number;
  seed: number;
  basePort: number;
  timeoutMs?: number;
  /** Hostile handshakes against one target agent (port basePort + 500), then one real migration. */
  handshakeCases?: number;
  /** Hostile targets against the source agent (a synthetic image and stream). */
  backchannelCases?: number;
  log?: (l: string) => void;
}

/** The bytes a hostile peer sends after authenticating, as agent-channel frames. */
function caseFrames(kind: FuzzKind, pof: Buffer, rand: () => number): Buffer[] {
  switch (kind) {
    case 'truncated':
      return dataFrames(pof.subarray(0, Math.floor(rand() * pof.length)));
    case 'mutated': {
      const bad = Buffer.from(pof);
      const n = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < n; i++) bad[Math.floor(rand() * bad.length)] ^= 1 + Math.floor(rand() * 255);
      return [...dataFrames(bad), encodeFrame(FrameType.END)];
    }
    case 'random-frames':
      return randomFrames(rand);
    case 'oversized-frame': {
      return [rawHeader(FrameType.DATA, MAX_FRAME + 1 + Math.floor(rand() * 1e9)), Buffer.alloc(1024)];
    }
  }
}

/** One stream case against a fresh in-process target agent. */
async function streamCase(
  o: FuzzOptions,
  c: { dir: string; secret: string },
  i: number,
  kind: FuzzKind,
  rand: () => number,
): Promise<FuzzCase> {
  const { dir, secret } = c;
  const frames = caseFrames(kind, o.pof, rand);
  const qemuSock = join(dir, `q${i}.sock`);
  const sink = await qemuSink(qemuSock);
  const port = o.basePort + (i % 500);
  const statsJson = join(dir, `t${i}.json`);
  const t0 = performance.now();
  const agent = settled(
    runTargetAgent({
      listen: { kind: 'tcp', host: '127.0.0.1', port },
      qemu: { kind: 'unix', path: qemuSock },
      nasImage: o.image,
      secretFile: join(dir, 'secret'),
      label: 'fuzz',
      warmUp: false,
      statsJson,
    }),
  );
  let outcome: FuzzCase['outcome'] = 'hang';
  let error: string | undefined;
  try {
    const peer = await connectTo({ kind: 'tcp', host: '127.0.0.1', port }, 5000).catch(async () => {
      await sleep(200);
      return connectTo({ kind: 'tcp', host: '127.0.0.1', port }, 5000);
    });
    peer.on('error', () => undefined);
    await handshake(peer, Buffer.from(secret), 'fuzz');
    peer.on('data', () => undefined);
    for (const f of frames) if (!peer.destroyed) peer.write(f);
    peer.end();
    const r = await within(agent, o.timeoutMs ?? 15000);
    if (r) {
      outcome = r.ok ? 'completed' : 'rejected';
      error = r.ok ? undefined : r.error;
    }
    peer.destroy();
  } finally {
    await sink.close();
  }
  const stats = readStats<TargetStats>(statsJson);
  return {
    index: i,
    kind,
    outcome,
    error,
    deliveredBytes: sink.delivered(),
    ms: Math.round(performance.now() - t0),
    pastHeader: (stats?.channel_bytes ?? 0) >= 5,
    pastEnd: stats?.end_seen === true,
  };
}

/** Runs the stream, handshake and back-channel cases; see the file comment. */
export async function fuzzTargetAgent(o: FuzzOptions): Promise<FuzzSummary> {
  const rand = prng(o.seed);
  const dir = mkdtempSync(join(tmpdir(), 'pofbench-fuzz-'));
  const secret = randomBytes(32).toString('hex');
  writeFileSync(join(dir, 'secret'), secret);
  const kinds: FuzzKind[] = ['truncated', 'mutated', 'random-frames', 'oversized-frame'];
  const cases: FuzzCase[] = [];
  const rss0 = process.memoryUsage().rss;
  let rssMax = rss0;
  const summary: Partial<FuzzSummary> = {};
  try {
    for (let i = 0; i < o.cases; i++) {
      const c = await streamCase(o, { dir, secret }, i, kinds[i % kinds.length], rand);
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      cases.push(c);
      o.log?.(`case ${i} ${c.kind}: ${c.outcome}${c.error ? ` (${c.error.slice(0, 100)})` : ''}`);
      if (c.outcome === 'hang') break; // a hung agent holds its port and server: stop here and report it
    }
    if (o.handshakeCases) {
      const hs = await fuzzHandshake({
        pof: o.pof,
        image: o.image,
        dir,
        secret,
        port: o.basePort + 500,
        cases: o.handshakeCases,
        first: cases.length,
        rand,
        log: o.log,
      });
      cases.push(...hs.cases);
      summary.legitAfterHandshakes = hs.legitAfter;
      summary.legitError = hs.legitError;
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
    if (o.backchannelCases) {
      const bc = { dir, secret, cases: o.backchannelCases, first: cases.length, seed: o.seed, rand, log: o.log };
      cases.push(...(await fuzzBackchannel(bc)));
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const byKind: Record<string, number> = {};
  for (const c of cases) byKind[`${c.kind}:${c.outcome}`] = (byKind[`${c.kind}:${c.outcome}`] ?? 0) + 1;
  const rssGrowthMb = Math.round((rssMax - rss0) / 1e6);
  return { seed: o.seed, cases, rssGrowthMb, byKind, depth: fuzzDepth(cases), ...summary };
}

export function pathOf(kind: string): FuzzPath {
  return kind.startsWith('hs-') ? 'handshake' : kind.startsWith('bc-') ? 'backchannel' : 'stream';
}

export function fuzzDepth(cases: FuzzCase[]): FuzzDepth[] {
  return (['stream', 'handshake', 'backchannel'] as FuzzPath[])
    .map((path) => {
      const own = cases.filter((c) => pathOf(c.kind) === path);
      return {
        path,
        cases: own.length,
        pastHeader: own.filter((c) => c.pastHeader).length,
        pastEnd: own.filter((c) => c.pastEnd).length,
        authenticated: path === 'handshake' ? own.filter((c) => c.outcome === 'completed').length : 0,
      };
    })
    .filter((d) => d.cases > 0);
}
