import { execa, execaSync, type ResultPromise } from 'execa';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One echo reply seen by the probe: when it arrived (ms since epoch) and its sequence number. */
export interface ProbeReply {
  t: number;
  seq: number;
  rttMs: number;
}

/** A reply line of `fping -D -l`: `[1796088253.67820] 198.18.3.100 : [0], 64 bytes, 0.039 ms (0.039 avg, 0% loss)`. */
export const FPING_REPLY = /^\[(\d+\.\d+)\] \S+ : \[(\d+)\], \d+ bytes, ([\d.]+) ms/;

/** A reply line of iputils `ping -D`. */
export const PING_REPLY = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+) .*time=([\d.]+)/;

/**
 * An open file descriptor as a child's stdout: execa hands integers to spawn as they are (its types
 * list only 3-9 for stdout).
 */
type FileDescriptor = 3;

function hasCommand(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, name)));
}

/**
 * Application-observed reachability of the guest over the vm network: ICMP echo at `rateHz`
 * (default 100 Hz) from the controller side. The largest gap between consecutive replies inside
 * the migration window is the downtime a client of the guest would have seen.
 *
 * The pinger writes its reply lines to a file, read when the replies are asked for (not a pipe
 * into the runner: 100 lines a second would wake the runner 100 times a second on the machine
 * under test, the largest part of the harness's own load in a migration's window).
 */
export class GuestProbe {
  private readonly seen: ProbeReply[] = [];
  private proc?: ResultPromise;
  private dir?: string;
  /** The pinger's output file, open for reading. */
  private fd?: number;
  private readAt = 0;
  /** The last line's bytes while it has no newline yet. */
  private partial = '';
  private readonly chunk = Buffer.allocUnsafe(64 * 1024);
  private reply = FPING_REPLY;
  /** Whether the pinger runs at real-time priority (false: the kernel refused, e.g. not root). */
  realtime = false;

  constructor(
    private readonly address: string,
    private readonly netns?: string,
    private readonly rateHz = 100,
  ) {}

  /** The replies so far, oldest first (reads what the pinger has written since the last call). */
  get replies(): ProbeReply[] {
    this.readNew();
    return this.seen;
  }

  /**
   * fping, not iputils ping: at a 10 ms interval iputils ping spins (sched_yield + non-blocking
   * recvmsg) between a reply and the next send — ~25 % of a core on the machine under test.
   */
  start(): void {
    const periodMs = Math.round(1000 / this.rateHz);
    const fping = hasCommand('fping');
    // without fping (a controller not set up by scripts/setup.sh): iputils ping, at its CPU cost
    const ping = fping
      ? ['fping', '-D', '-l', '-p', String(periodMs), '-t', '1000', this.address]
      : ['ping', '-n', '-D', '-i', (periodMs / 1000).toFixed(3), '-W', '1', this.address];
    this.reply = fping ? FPING_REPLY : PING_REPLY;
    this.dir = mkdtempSync(join(tmpdir(), 'pofbench-probe-'));
    const file = join(this.dir, 'replies.log');
    // the pinger's stdout is the file itself (an fd given to spawn), not a pipe the runner copies into
    // it: execa's `{ file }` target would pass every line through the runner
    const out = openSync(file, 'w');
    try {
      this.proc = execa(
        this.netns ? 'ip' : ping[0],
        this.netns ? ['netns', 'exec', this.netns, ...ping] : ping.slice(1),
        { reject: false, stdin: 'ignore', stdout: out as FileDescriptor, stderr: 'ignore', cleanup: true },
      );
    } finally {
      closeSync(out);
    }
    this.fd = openSync(file, 'r');
    this.realtime = this.proc.pid !== undefined && raisePriority(this.proc.pid);
  }

  /** Resolves when a reply arrives at or after `sinceMs`, or rejects after `timeoutMs`. */
  async waitForReply(sinceMs: number, timeoutMs: number): Promise<ProbeReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.replies.find((x) => x.t >= sinceMs);
      if (r) return r;
      if (Date.now() > deadline)
        throw new Error(`guest ${this.address} did not answer the probe within ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  /** Stops the pinger; the replies it wrote stay readable (`replies`), its file is removed. */
  async stop(): Promise<void> {
    if (this.proc) {
      this.proc.kill('SIGINT');
      await this.proc;
      this.proc = undefined;
    }
    this.readNew();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  /** Parses the complete lines the pinger wrote since the last read. */
  private readNew(): void {
    if (this.fd === undefined) return;
    let text = this.partial;
    for (;;) {
      const n = readSync(this.fd, this.chunk, 0, this.chunk.length, this.readAt);
      if (n === 0) break;
      this.readAt += n;
      text += this.chunk.toString('latin1', 0, n);
    }
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = this.reply.exec(line);
      if (m) this.seen.push({ t: Number(m[1]) * 1000, seq: Number(m[2]), rttMs: Number(m[3]) });
    }
  }
}

/**
 * Puts the pinger at real-time priority (SCHED_FIFO 10; it sleeps between packets, ~no CPU): a
 * probe on the machine under test that waits its turn behind the load would record its own
 * scheduling delay as the guest's downtime (seen here: fping runnable, not run, for 200 ms while
 * the guest answered). In a lab the probe's controller is a machine of its own. Best effort.
 */
function raisePriority(pid: number): boolean {
  try {
    return execaSync('chrt', ['-f', '-p', '10', String(pid)], { reject: false, stdio: 'ignore' }).exitCode === 0;
  } catch {
    return false;
  }
}

/**
 * Largest interval without a reply that overlaps [fromMs, toMs], in ms. A window that ends with no
 * reply at all is measured up to `toMs` (the guest never came back within the window).
 */
export function largestGap(replies: ProbeReply[], fromMs: number, toMs: number): { gapMs: number; startMs: number } {
  return largestTimeGap(
    replies.map((r) => r.t).sort((a, b) => a - b),
    fromMs,
    toMs,
  );
}

/** `largestGap` of reply times sorted oldest first. */
export function largestTimeGap(times: number[], fromMs: number, toMs: number): { gapMs: number; startMs: number } {
  let prev = times.filter((t) => t <= fromMs).pop() ?? fromMs;
  let best = { gapMs: 0, startMs: prev };
  for (const t of times) {
    if (t <= fromMs) continue;
    if (t - prev > best.gapMs) best = { gapMs: t - prev, startMs: prev };
    prev = t;
    if (t >= toMs) return best;
  }
  if (toMs - prev > best.gapMs) best = { gapMs: toMs - prev, startMs: prev };
  return best;
}
