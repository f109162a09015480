import { readFileSync } from 'node:fs';
import { processCpuSeconds } from '../util/procStat.js';

/**
 * Host-side sampler (runs ON a testbed host, started over SSH): prints one JSON line per tick with
 * NIC byte counters and the CPU seconds of the given PIDs. Stops when its stdin closes, so the
 * runner ends it by closing the SSH channel — nothing is left behind on the host.
 */
export interface HostSample {
  t: number;
  nic: Record<string, [rx: number, tx: number]>;
  cpu: Record<string, number>;
  pid: number;
}

function readCounter(nic: string, dir: 'rx' | 'tx'): number {
  return Number(readFileSync(`/sys/class/net/${nic}/statistics/${dir}_bytes`, 'utf8'));
}

function cpuSeconds(pid: number): number | undefined {
  try {
    return processCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function takeSample(nics: string[], pids: number[]): HostSample {
  // its own pid: the runner counts the sampler's CPU as the harness's
  const s: HostSample = { t: Date.now(), nic: {}, cpu: {}, pid: process.pid };
  for (const n of nics) s.nic[n] = [readCounter(n, 'rx'), readCounter(n, 'tx')];
  for (const p of pids) {
    const c = cpuSeconds(p);
    if (c !== undefined) s.cpu[String(p)] = c;
  }
  return s;
}

export function runHostSampler(nics: string[], pids: number[], intervalMs: number, maxSeconds: number): void {
  for (const n of nics) readCounter(n, 'rx'); // fail fast on a wrong NIC name
  const tick = () => process.stdout.write(`${JSON.stringify(takeSample(nics, pids))}\n`);
  tick();
  const timer = setInterval(tick, intervalMs);
  const stop = () => {
    clearInterval(timer);
    tick();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  setTimeout(stop, maxSeconds * 1000).unref();
}
