import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
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

function hasCommand(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, name)));
}

/**
 * Application-observed reachability of the guest over the vm network: ICMP echo at `rateHz`
 * (default 100 Hz) from the controller side. The largest gap between consecutive replies inside
 * the migration window is the downtime a client of the guest would have seen.
 */
export class GuestProbe {
  readonly replies: ProbeReply[] = [];
  private proc?: ResultPromise;
  sent = 0;

  constructor(
    private readonly address: string,
    private readonly netns?: string,
    private readonly rateHz = 100,
  ) {}

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
    const reply = fping ? FPING_REPLY : PING_REPLY;
    this.proc = execa(
      this.netns ? 'ip' : ping[0],
      this.netns ? ['netns', 'exec', this.netns, ...ping] : ping.slice(1),
      {
        reject: false,
        buffer: false,
        stderr: 'ignore',
        cleanup: true,
      },
    );
    const rl = createInterface({ input: this.proc.stdout! });
    rl.on('line', (line) => {
      const m = reply.exec(line);
      if (m) this.replies.push({ t: Number(m[1]) * 1000, seq: Number(m[2]), rttMs: Number(m[3]) });
    });
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

  async stop(): Promise<void> {
    if (!this.proc) return;
    this.proc.kill('SIGINT');
    await this.proc;
    this.proc = undefined;
  }
}

/**
 * Largest interval without a reply that overlaps [fromMs, toMs], in ms. A window that ends with no
 * reply at all is measured up to `toMs` (the guest never came back within the window).
 */
export function largestGap(replies: ProbeReply[], fromMs: number, toMs: number): { gapMs: number; startMs: number } {
  const times = replies.map((r) => r.t).sort((a, b) => a - b);
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
