import { execa, type ResultPromise } from 'execa';
import { createServer, connect, type Server } from 'node:net';
import { createReadStream, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { pofbenchCommand } from '../util/paths.js';
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

/**
 * Runs the real agent processes (`pofbench agent source|target`) on loopback: the test plays the
 * source QEMU (writes `stream` into the source agent's unix socket) and the destination QEMU (a
 * unix server collecting what the target agent delivers). Both agents are killed by PID at the end.
 */
export async function runAgentPair(
  dir: string,
  o: {
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
  },
): Promise<AgentPairResult> {
  const [node, main] = pofbenchCommand();
  // as for the runner's agents: POFBENCH_AGENT_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=DIR") go to both agents' node
  const nodeArgs = process.env.POFBENCH_AGENT_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const secret = randomBytes(32).toString('hex');
  writeFileSync(join(dir, 'src.secret'), o.srcSecret ?? secret);
  writeFileSync(join(dir, 'dst.secret'), o.dstSecret ?? secret);
  const qemuSock = join(dir, 'dst-qemu.sock');
  const srcSock = join(dir, 'src-agent.sock');
  const chunks: Buffer[] = [];
  let tWrite = 0;
  let tEnd = 0;
  const sink: Server = createServer((s) => {
    let taken = 0;
    let t1 = 0;
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      const rate = o.sinkBytesPerSec;
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
      tEnd = performance.now();
    });
  });
  await new Promise<void>((r) => sink.listen(qemuSock, r));
  const procs: ResultPromise[] = [];
  const t0 = Date.now();
  try {
    const target = execa(
      node,
      [
        ...nodeArgs,
        main,
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
      ],
      { reject: false, all: true, timeout: 120000 },
    );
    procs.push(target);
    await sleep(400);
    const source = execa(
      node,
      [
        ...nodeArgs,
        main,
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
      ],
      { reject: false, all: true, timeout: 120000 },
    );
    procs.push(source);
    for (let i = 0; !existsSync(srcSock); i++) {
      if (i > 200 || source.exitCode !== null) break;
      await sleep(50);
    }
    if (existsSync(srcSock)) {
      const qemu = connect(srcSock);
      await new Promise<void>((resolve, reject) => {
        qemu.once('connect', resolve);
        qemu.once('error', reject);
      });
      await o.beforeStream?.();
      tWrite = performance.now();
      await pipeline(createReadStream(o.stream, { highWaterMark: 1 << 20 }), qemu).catch(() => undefined);
    }
    const s = await source;
    // the target keeps waiting for an authenticated peer after refusing one: give it a moment, then stop it
    await Promise.race([target, sleep(5000)]);
    if (target.pid && target.exitCode === null)
      try {
        process.kill(target.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    const t = await target;
    const read = (f: string) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : undefined);
    return {
      received: Buffer.concat(chunks),
      elapsedMs: Date.now() - t0,
      streamMs: tWrite && tEnd ? tEnd - tWrite : undefined,
      source: { code: s.exitCode, stats: read('source.json'), log: String(s.all ?? '') },
      target: { code: t.exitCode, stats: read('target.json'), log: String(t.all ?? '') },
    };
  } finally {
    for (const p of procs)
      if (p.pid && p.exitCode === null)
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
    await new Promise<void>((r) => sink.close(() => r()));
  }
}
