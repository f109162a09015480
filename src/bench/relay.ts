import { execa, type ResultPromise } from 'execa';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** A relay hop's command: accept on `listen`, connect to `connect`, copy bytes one way. */
type HopCommand = (listen: HopEnd, connect: HopEnd) => [string, string[]];
type HopEnd = { tcpPort: number } | { unixPath: string };

const socatEnd = (e: HopEnd, listen: boolean): string =>
  'tcpPort' in e
    ? listen
      ? `TCP-LISTEN:${e.tcpPort},bind=127.0.0.1,reuseaddr`
      : `TCP:127.0.0.1:${e.tcpPort}`
    : listen
      ? `UNIX-LISTEN:${e.unixPath},unlink-early`
      : `UNIX-CONNECT:${e.unixPath}`;

/** socat with 256 KiB buffers: what a relay in C costs. */
const socatHop: HopCommand = (listen, connect) => [
  'socat',
  ['-b', '262144', socatEnd(listen, true), socatEnd(connect, false)],
];

const hopArg = (e: HopEnd): string => ('tcpPort' in e ? `tcp:${e.tcpPort}` : `unix:${e.unixPath}`);

/** Node's net sockets, read → write, nothing else (relayHop.ts): what the agents' I/O alone costs. */
const nodeHop: HopCommand = (listen, connect) => [
  process.execPath,
  [fileURLToPath(new URL('./relayHop.js', import.meta.url)), hopArg(listen), hopArg(connect)],
];

export interface RelayResult {
  bytes: number;
  elapsedMs: number;
  /** CPU seconds of both relay processes. */
  cpuS: number;
}

/**
 * The baseline for the agent pair: the same hops with no codec — writer → unix socket → socat →
 * TCP loopback → socat → unix socket → sink. Returns the bytes delivered and the elapsed time.
 */
export function runPlainRelay(dir: string, stream: string, port: number): Promise<RelayResult> {
  return runRelay(dir, stream, port, socatHop);
}

/** The same hops through two Node processes that only copy (reads into one reused buffer, written on as views). */
export function runNodeRelay(dir: string, stream: string, port: number): Promise<RelayResult> {
  return runRelay(dir, stream, port, nodeHop);
}

async function runRelay(dir: string, stream: string, port: number, hop: HopCommand): Promise<RelayResult> {
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
    const [cmd1, args1] = hop({ tcpPort: port }, { unixPath: sinkSock });
    procs.push(execa(cmd1, args1, { reject: false }));
    await sleep(200);
    const [cmd2, args2] = hop({ unixPath: inSock }, { tcpPort: port });
    procs.push(execa(cmd2, args2, { reject: false }));
    for (let i = 0; !existsSync(inSock) && i < 100; i++) await sleep(20);
    // the relays' start-up (Node's, mostly) is not part of moving the stream
    const cpu = () => procs.reduce((sum, p) => sum + (p.pid ? cpuOf(p.pid) : 0), 0);
    const cpu0 = cpu();
    const t0 = performance.now();
    // the relay creates the socket file a moment before it listens on it: retry a refused connect briefly
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
    // both relay processes' CPU (they are idle now: the stream is through)
    const cpuS = cpu() - cpu0;
    return { bytes, elapsedMs, cpuS };
  } finally {
    for (const p of procs)
      if (p.pid && p.exitCode === null)
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
    // reaped before returning: no relay process outlives the measurement
    await Promise.all(procs);
    await new Promise<void>((r) => sink.close(() => r()));
  }
}
