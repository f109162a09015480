import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { encodeExec, encodePing, GuestLineParser, type GuestMessage } from './protocol.js';

export interface GuestControlOptions {
  /** Called with lines from the guest that are not protocol messages (kernel noise, echo, stale results). */
  onGarbage?: (line: string) => void;
  /** How often waitReady() pings (ms). */
  pingIntervalMs?: number;
}

export interface ExecResult {
  rc: number;
  output: string;
}
export interface RawExecResult {
  rc: number;
  output: Buffer;
}

interface Pending {
  id: string;
  resolve: (r: RawExecResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Host side of the guest control channel (the agent on the guest's ttyS1; see ./scripts.ts and
 * ./protocol.ts). Works over any Duplex: a unix socket to QEMU's chardev, an ssh2 forwarded stream.
 *
 * Commands run one at a time, in call order (the guest agent is sequential too); `timeoutMs`
 * counts from when a command is sent. A command that timed out keeps running in the guest and
 * delays the next one; its late result is ignored.
 */
export class GuestControl {
  private readonly parser: GuestLineParser;
  private readonly prefix = `${randomBytes(3).toString('hex')}-`;
  private seq = 0;
  private current: Pending | undefined;
  private readonly readyWaiters = new Set<() => void>();
  private readonly closeWaiters = new Set<(err: Error) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private closedError: Error | undefined;
  private readonly onGarbage: (line: string) => void;
  private readonly pingIntervalMs: number;

  constructor(
    private readonly stream: Duplex,
    opts: GuestControlOptions = {},
  ) {
    this.onGarbage = opts.onGarbage ?? (() => undefined);
    this.pingIntervalMs = opts.pingIntervalMs ?? 250;
    this.parser = new GuestLineParser((m) => this.onMessage(m));
    stream.on('data', (chunk: Buffer | string) =>
      this.parser.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk),
    );
    stream.on('error', (err: Error) => this.fail(new Error(`guest control channel failed: ${err.message}`)));
    stream.on('close', () => this.fail(new Error('guest control channel closed')));
    stream.on('end', () => this.fail(new Error('guest control channel closed by the other side')));
  }

  /** Pings until the agent answers `@@READY`. */
  waitReady(timeoutMs: number): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearInterval(pinger);
        clearTimeout(timer);
        this.readyWaiters.delete(onReady);
        this.closeWaiters.delete(onClose);
        if (err) reject(err);
        else resolve();
      };
      const onReady = (): void => finish();
      const onClose = (err: Error): void => finish(err);
      const ping = (): void => {
        if (!this.closedError) this.stream.write(encodePing());
      };
      this.readyWaiters.add(onReady);
      this.closeWaiters.add(onClose);
      const pinger = setInterval(ping, this.pingIntervalMs);
      const timer = setTimeout(
        () =>
          finish(
            new Error(`guest agent did not answer within ${timeoutMs} ms (is the guest booted and ttyS1 connected?)`),
          ),
        timeoutMs,
      );
      ping();
    });
  }

  /** Runs `script` with `sh` in the guest; resolves with its exit code and combined stdout+stderr. */
  async exec(script: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const r = await this.execRaw(script, opts);
    return { rc: r.rc, output: r.output.toString('utf8') };
  }

  /** exec() with the output as bytes (for binary output). */
  execRaw(script: string, opts: { timeoutMs?: number } = {}): Promise<RawExecResult> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const run = (): Promise<RawExecResult> => {
      if (this.closedError) return Promise.reject(this.closedError);
      const id = `${this.prefix}${++this.seq}`;
      return new Promise<RawExecResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          if (this.current?.id === id) this.current = undefined;
          reject(
            new Error(
              `guest command ${id} timed out after ${timeoutMs} ms (it may still be running in the guest; later ` +
                `commands wait behind it): ${summarize(script)}`,
            ),
          );
        }, timeoutMs);
        this.current = { id, resolve, reject, timer };
        this.stream.write(encodeExec(id, script));
      });
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Stops waiting for anything and closes the stream. */
  close(): void {
    this.fail(new Error('guest control closed'));
    this.stream.destroy();
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    const cur = this.current;
    this.current = undefined;
    if (cur) {
      clearTimeout(cur.timer);
      cur.reject(err);
    }
    for (const w of [...this.closeWaiters]) w(err);
  }

  private onMessage(m: GuestMessage): void {
    switch (m.kind) {
      case 'ready':
        for (const w of [...this.readyWaiters]) w();
        return;
      case 'result': {
        const cur = this.current;
        if (!cur || cur.id !== m.id) {
          this.onGarbage(`stale or unknown result for command ${m.id} (rc ${m.rc}, ${m.output.length} bytes)`);
          return;
        }
        this.current = undefined;
        clearTimeout(cur.timer);
        cur.resolve({ rc: m.rc, output: m.output });
        return;
      }
      case 'garbage':
        this.onGarbage(m.line);
        return;
    }
  }
}

function summarize(script: string): string {
  const s = script.trim().replace(/\s+/g, ' ');
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
