import { closeSync, openSync, readSync } from 'node:fs';
import { processCpuSeconds } from '../util/procStat.js';

/**
 * Host-side sampler (runs ON a testbed host, started over SSH): one JSON line per tick with NIC
 * byte counters and the CPU seconds of the given PIDs. Stops when its stdin closes, so the runner
 * ends it by closing the SSH channel — nothing is left behind on the host.
 *
 * With `flushMs` > 0 the rows after the first are held on the host and written at most once per
 * `flushMs` and when it stops: the runner's SSH session then carries one burst per interval
 * instead of a packet per tick (the harness's own load on the hosts under test). The first row
 * leaves at once: it reports the sampler's pid.
 */
export interface HostSample {
  t: number;
  nic: Record<string, [rx: number, tx: number]>;
  cpu: Record<string, number>;
  pid: number;
}

/**
 * A /sys or /proc file kept open and re-read from offset 0 at every tick (both regenerate their
 * content per read): one pread per file and tick instead of open + fstat + read + close.
 */
class OpenFile {
  private fd: number | undefined;
  private static readonly buf = Buffer.alloc(4096);
  constructor(readonly path: string) {}

  read(): string {
    this.fd ??= openSync(this.path, 'r');
    const n = readSync(this.fd, OpenFile.buf, 0, OpenFile.buf.length, 0);
    return OpenFile.buf.toString('latin1', 0, n);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The files one sampler reads: each NIC's rx/tx byte counters and each PID's stat. */
class SampleSources {
  private readonly nics: [string, OpenFile, OpenFile][];
  private readonly pids: [number, OpenFile | undefined][];

  constructor(nics: string[], pids: number[]) {
    const counter = (nic: string, dir: 'rx' | 'tx') => new OpenFile(`/sys/class/net/${nic}/statistics/${dir}_bytes`);
    this.nics = nics.map((n) => [n, counter(n, 'rx'), counter(n, 'tx')]);
    this.pids = pids.map((p) => [p, new OpenFile(`/proc/${p}/stat`)]);
  }

  /** One row; a NIC that cannot be read throws (a wrong name fails at the first sample). */
  take(): HostSample {
    // its own pid: the runner counts the sampler's CPU as the harness's
    const s: HostSample = { t: Date.now(), nic: {}, cpu: {}, pid: process.pid };
    for (const [n, rx, tx] of this.nics) s.nic[n] = [Number(rx.read()), Number(tx.read())];
    for (const entry of this.pids) {
      const f = entry[1];
      if (!f) continue;
      try {
        s.cpu[String(entry[0])] = processCpuSeconds(f.read());
      } catch {
        // the process ended: not sampled from here on
        f.close();
        entry[1] = undefined;
      }
    }
    return s;
  }
}

export function runHostSampler(
  nics: string[],
  pids: number[],
  o: { intervalMs: number; maxSeconds: number; flushMs: number },
): void {
  const sources = new SampleSources(nics, pids);
  let held = '';
  let flushedAt = Date.now();
  const flush = () => {
    if (held) process.stdout.write(held);
    held = '';
    flushedAt = Date.now();
  };
  const tick = () => {
    held += `${JSON.stringify(sources.take())}\n`;
    if (Date.now() - flushedAt >= o.flushMs) flush();
  };
  tick(); // the first row, at once: a wrong NIC name fails here
  flush();
  const timer = setInterval(tick, o.intervalMs);
  const stop = () => {
    clearInterval(timer);
    tick();
    flush();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  setTimeout(stop, o.maxSeconds * 1000).unref();
}
