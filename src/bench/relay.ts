import { execa, type ResultPromise } from 'execa';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sleep } from '../util/exec.js';
import { processCpuSeconds } from '../util/procStat.js';

function cpuOf(pid: number): number {
  try {
    return processCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}

/**
 * The baseline for the agent pair: the same hops with no codec — writer → unix socket → socat →
 * TCP loopback → socat → unix socket → sink. Returns the bytes delivered and the elapsed time.
 */
export async function runPlainRelay(
  dir: string,
  stream: string,
  port: number,
): Promise<{ bytes: number; elapsedMs: number; cpuS: number }> {
  const sinkSock = join(dir, 'relay-sink.sock');
  const inSock = join(dir, 'relay-in.sock');
  let bytes = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const sink: Server = createServer((s) => {
    s.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    s.on('end', done);
  });
  for (const f of [sinkSock, inSock]) rmSync(f, { force: true });
  await new Promise<void>((r) => sink.listen(sinkSock, r));
  const procs: ResultPromise[] = [];
  try {
    procs.push(
      execa('socat', ['-b', '262144', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, `UNIX-CONNECT:${sinkSock}`], {
        reject: false,
      }),
    );
    await sleep(200);
    procs.push(
      execa('socat', ['-b', '262144', `UNIX-LISTEN:${inSock},unlink-early`, `TCP:127.0.0.1:${port}`], {
        reject: false,
      }),
    );
    for (let i = 0; !existsSync(inSock) && i < 100; i++) await sleep(20);
    const t0 = performance.now();
    // socat creates the socket file a moment before it listens on it: retry a refused connect briefly
    let w!: Socket;
    for (let i = 0; ; i++) {
      w = connect(inSock);
      try {
        await new Promise<void>((resolve, reject) => {
          w.once('connect', resolve);
          w.once('error', reject);
        });
        break;
      } catch (err) {
        w.destroy();
        if (i >= 50 || (err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw err;
        await sleep(20);
      }
    }
    await pipeline(createReadStream(stream, { highWaterMark: 1 << 20 }), w);
    await finished;
    const elapsedMs = performance.now() - t0;
    // both socat processes' CPU (they are idle now: the stream is through)
    const cpuS = procs.reduce((sum, p) => sum + (p.pid ? cpuOf(p.pid) : 0), 0);
    return { bytes, elapsedMs, cpuS };
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
