import { execa, type ResultPromise } from 'execa';
import { createServer, connect, type Server } from 'node:net';
import { createReadStream, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { controllerHostCommand } from '../util/paths.js';
import { sleep } from '../util/exec.js';

export interface AgentPairResult {
  /** Bytes the fake destination QEMU received. */
  received: Buffer;
  source: { code: number | undefined; stats?: Record<string, number | string>; log: string };
  target: { code: number | undefined; stats?: Record<string, number | string>; log: string };
  elapsedMs: number;
  /** From the first byte written into the source agent until the destination socket ended. */
  streamMs?: number;
}

export interface AgentPairOptions {
  stream: string;
  srcImage: string;
  dstImage: string;
  port: number;
  srcSecret?: string;
  dstSecret?: string;
  index?: string[];
  targetArgs?: string[];
  sourceArgs?: string[];
  /** The destination QEMU takes at most this many bytes per second (a slow consumer; default: as fast as it can). */
  sinkBytesPerSec?: number;
  /** Called once both agents are up, right before the stream starts (fault injection). */
  beforeStream?: () => Promise<void>;
}

/** The fake destination QEMU: a unix server collecting what the target agent delivers. */
interface DestinationSink {
  server: Server;
  chunks: Buffer[];
  /** performance.now() when the destination socket ended (0: not yet). */
  tEnd: number;
}

/** Listens on `qemuSock`; with `rate`, stops reading while ahead of it (the agent's writes back up behind it). */
async function startDestinationSink(qemuSock: string, rate: number | undefined): Promise<DestinationSink> {
  const received = { chunks: [] as Buffer[], tEnd: 0 };
  const chunks = received.chunks;
  const server = createServer((s) => {
    let taken = 0;
    let t1 = 0;
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (!rate) return;
      // a slow destination: stop reading while ahead of `rate` (the agent's writes back up behind it)
      t1 ||= performance.now();
      taken += d.length;
      const ahead = (taken / rate) * 1000 - (performance.now() - t1);
      if (ahead > 1) {
        s.pause();
        setTimeout(() => s.resume(), ahead);
      }
    });
    s.on('end', () => {
      received.tEnd = performance.now();
    });
  });
  await new Promise<void>((r) => server.listen(qemuSock, r));
  return Object.assign(received, { server });
}

/** `pofbench agent target` arguments: listens on TCP, delivers to the fake destination QEMU. */
function targetAgentArgs(dir: string, o: AgentPairOptions, qemuSock: string): string[] {
  return [
    'agent',
    'target',
    '--listen',
    `tcp:127.0.0.1:${o.port}`,
    '--qemu',
    `unix:${qemuSock}`,
    '--nas-image',
    o.dstImage,
    '--secret-file',
    join(dir, 'dst.secret'),
    '--label',
    'test-run',
    '--stats-json',
    join(dir, 'target.json'),
    ...(o.targetArgs ?? []),
  ];
}

/** `pofbench agent source` arguments: listens on a unix socket (the source QEMU side), sends to the target. */
function sourceAgentArgs(dir: string, o: AgentPairOptions, srcSock: string): string[] {
  return [
    'agent',
    'source',
    '--listen',
    `unix:${srcSock}`,
    '--target',
    `tcp:127.0.0.1:${o.port}`,
    '--nas-image',
    o.srcImage,
    '--secret-file',
    join(dir, 'src.secret'),
    '--label',
    'test-run',
    '--stats-json',
    join(dir, 'source.json'),
    ...(o.index ?? ['--index', 'scan']),
    ...(o.sourceArgs ?? []),
  ];
}

/**
 * Plays the source QEMU: waits for the source agent's socket, then writes the stream into it.
 * Returns performance.now() at the first write (0: the stream never started).
 */
async function feedSourceAgent(srcSock: string, source: ResultPromise, o: AgentPairOptions): Promise<number> {
  for (let i = 0; !existsSync(srcSock); i++) {
    if (i > 200 || source.exitCode !== null) break;
    await sleep(50);
  }
  if (!existsSync(srcSock)) return 0;
  const qemu = connect(srcSock);
  await new Promise<void>((resolve, reject) => {
    qemu.once('connect', resolve);
    qemu.once('error', reject);
  });
  await o.beforeStream?.();
  const tWrite = performance.now();
  await pipeline(createReadStream(o.stream, { highWaterMark: 1 << 20 }), qemu).catch(() => undefined);
  return tWrite;
}

function killIfRunning(p: ResultPromise, signal: NodeJS.Signals): void {
  if (p.pid && p.exitCode === null)
    try {
      process.kill(p.pid, signal);
    } catch {
      /* gone */
    }
}

/**
 * Runs the real agent processes (`pofbench agent source|target`) on loopback: the test plays the
 * source QEMU (writes `stream` into the source agent's unix socket) and the destination QEMU (a
 * unix server collecting what the target agent delivers). Both agents are killed by PID at the end.
 */
export async function runAgentPair(dir: string, o: AgentPairOptions): Promise<AgentPairResult> {
  // the agents' command as the local testbed runs them (its node flags too)
  const [node, ...cli] = controllerHostCommand();
  // as for the runner's agents: POFBENCH_AGENT_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=DIR") go to both agents' node
  const nodeArgs = process.env.POFBENCH_AGENT_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const secret = randomBytes(32).toString('hex');
  writeFileSync(join(dir, 'src.secret'), o.srcSecret ?? secret);
  writeFileSync(join(dir, 'dst.secret'), o.dstSecret ?? secret);
  const qemuSock = join(dir, 'dst-qemu.sock');
  const srcSock = join(dir, 'src-agent.sock');
  const sink = await startDestinationSink(qemuSock, o.sinkBytesPerSec);
  const procs: ResultPromise[] = [];
  const t0 = Date.now();
  const agentOpts = { reject: false, all: true, timeout: 120000 } as const;
  try {
    const target = execa(node, [...nodeArgs, ...cli, ...targetAgentArgs(dir, o, qemuSock)], agentOpts);
    procs.push(target);
    await sleep(400);
    const source = execa(node, [...nodeArgs, ...cli, ...sourceAgentArgs(dir, o, srcSock)], agentOpts);
    procs.push(source);
    const tWrite = await feedSourceAgent(srcSock, source, o);
    const s = await source;
    // the target keeps waiting for an authenticated peer after refusing one: give it a moment, then stop it
    await Promise.race([target, sleep(5000)]);
    killIfRunning(target, 'SIGTERM');
    const t = await target;
    const read = (f: string) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : undefined);
    return {
      received: Buffer.concat(sink.chunks),
      elapsedMs: Date.now() - t0,
      streamMs: tWrite && sink.tEnd ? sink.tEnd - tWrite : undefined,
      source: { code: s.exitCode, stats: read('source.json'), log: String(s.all ?? '') },
      target: { code: t.exitCode, stats: read('target.json'), log: String(t.all ?? '') },
    };
  } finally {
    for (const p of procs) killIfRunning(p, 'SIGKILL');
    await new Promise<void>((r) => sink.server.close(() => r()));
  }
}
