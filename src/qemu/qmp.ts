import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/**
 * QMP client over any byte stream (an ssh2-forwarded unix socket in practice): negotiates
 * capabilities, runs commands one at a time in order with ids, and emits QMP events as 'event'.
 */
export class QmpClient extends EventEmitter {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<
    string,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; cmd: string }
  >();
  private greeting?: (v: unknown) => void;
  private closedReason?: string;
  version?: { qemu: { major: number; minor: number; micro: number } };

  private constructor(
    private readonly stream: Duplex,
    readonly label: string,
  ) {
    super();
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => this.onData(d));
    stream.on('close', () => this.fail('QMP connection closed'));
    // QEMU never half-closes: its end of the stream is QEMU gone. Over SSH the channel itself may stay
    // open until the next write fails (sshd forwards the socket's EOF and waits for our side), and a
    // command already sent would wait for its timeout (a killed source QEMU: 30 s).
    stream.on('end', () => this.fail('QMP connection closed'));
    stream.on('error', (e: Error) => this.fail(`QMP connection error: ${e.message}`));
  }

  static async open(stream: Duplex, label: string, timeoutMs = 10000): Promise<QmpClient> {
    const qmp = new QmpClient(stream, label);
    const greeting = await qmp.withTimeout(
      new Promise<unknown>((resolve) => {
        qmp.greeting = resolve;
      }),
      timeoutMs,
      'QMP greeting',
    );
    qmp.version = (greeting as { QMP: { version: QmpClient['version'] } }).QMP.version;
    await qmp.execute('qmp_capabilities');
    return qmp;
  }

  get versionString(): string {
    const v = this.version?.qemu;
    return v ? `${v.major}.${v.minor}.${v.micro}` : 'unknown';
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 30000): Promise<T> {
    if (this.closedReason)
      return Promise.reject(new Error(`${this.label}: ${this.closedReason} (while sending ${command})`));
    const id = `pb${this.nextId++}`;
    const p = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject, cmd: command }));
    this.stream.write(`${JSON.stringify({ execute: command, arguments: args, id })}\n`);
    return this.withTimeout(p, timeoutMs, command).finally(() => this.pending.delete(id)) as Promise<T>;
  }

  close(): void {
    this.closedReason ??= 'QMP connection closed by us';
    this.stream.destroy();
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if ('QMP' in msg) this.greeting?.(msg);
      else if ('event' in msg) this.emit('event', msg as unknown as QmpEvent);
      else if (typeof msg.id === 'string' && this.pending.has(msg.id)) {
        const p = this.pending.get(msg.id)!;
        if ('error' in msg) {
          const e = msg.error as { class: string; desc: string };
          p.reject(new Error(`${this.label}: QMP ${p.cmd}: ${e.desc} (${e.class})`));
        } else p.resolve(msg.return);
      }
    }
  }

  private fail(reason: string): void {
    if (!this.closedReason) this.closedReason = reason;
    for (const p of this.pending.values()) p.reject(new Error(`${this.label}: ${reason} (during ${p.cmd})`));
    this.pending.clear();
    this.emit('closed', reason);
  }

  private withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout;
    return Promise.race([
      p,
      new Promise<T>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${this.label}: ${what} timed out after ${ms} ms`)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }
}

/** The subset of `query-migrate` pofbench reads (field names of QEMU 7.2-10.x). */
export interface MigrateInfo {
  status: string;
  'total-time'?: number;
  'expected-downtime'?: number;
  downtime?: number;
  'setup-time'?: number;
  'error-desc'?: string;
  ram?: {
    transferred: number;
    remaining: number;
    total: number;
    duplicate: number;
    normal: number;
    'normal-bytes': number;
    'dirty-pages-rate': number;
    mbps: number;
    'dirty-sync-count': number;
    'pages-per-second'?: number;
    'precopy-bytes'?: number;
    'downtime-bytes'?: number;
    'postcopy-bytes'?: number;
  };
}
