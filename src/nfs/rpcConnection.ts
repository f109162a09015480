/**
 * One ONC-RPC client connection over TCP: calls are pipelined (many in flight on one socket),
 * replies are matched to calls by xid in whatever order they come, every call has a timeout, and a
 * connection that dies rejects everything still pending with one error saying so.
 */
import { connect as tcpConnect, type Socket, type OnReadOpts } from 'node:net';
import { randomInt } from 'node:crypto';
import { RecordParser, markRecord } from './record.js';
import { MSG_REPLY, readReplyHeader, writeCallHeader, authNone, type RpcAuth } from './rpcMessage.js';
import { XdrReader, XdrWriter } from './xdr.js';

export interface RpcConnectOptions {
  host: string;
  port: number;
  /** Names the connection in errors, e.g. "NFS" or "MOUNT". */
  label?: string;
  connectTimeoutMs?: number;
  /** Default per-call timeout. */
  callTimeoutMs?: number;
  /** Bind the local end to a port below 1024 (servers that insist on a "secure" port; needs root). */
  privilegedPort?: boolean;
  /** Calls sent and not yet answered, at most; more wait in a queue (default 128). */
  maxInFlight?: number;
  /**
   * Reply bytes expected (the calls' `replyBytes`) in flight at most (default 4 MiB); a call is
   * always sent when nothing else is out. Bounds the memory replies take, whatever the caller's
   * concurrency (measured here, a smaller window did not lower the CPU cost of reads).
   */
  maxInFlightBytes?: number;
  /** Default credential (AUTH_NONE if unset). */
  auth?: RpcAuth;
}

export interface CallOptions {
  timeoutMs?: number;
  auth?: RpcAuth;
  /** Expected size of the reply (e.g. a READ's count), for `maxInFlightBytes`. */
  replyBytes?: number;
}

/**
 * Reads an accepted reply's results, synchronously, while the reply's bytes are valid (they sit in
 * the connection's reused receive buffer): whatever it keeps it copies, e.g. a READ's data into the
 * caller's buffer. Its result (or error) settles the call.
 */
export type ReplyDecoder<T> = (r: XdrReader) => T;

/** The default decoder: the results as a reader over a copy of them. */
const copyResults: ReplyDecoder<XdrReader> = (r) => new XdrReader(Buffer.from(r.buf.subarray(r.pos)));

/** Bytes the socket reads into, reused for every read (a fresh 64 KiB buffer per read costs allocation and GC). */
const RECEIVE_BUFFER_BYTES = 512 * 1024;

export class RpcConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpcConnectionError';
  }
}

export class RpcTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpcTimeoutError';
  }
}

interface Pending {
  xid: number;
  what: string;
  msg: Buffer;
  replyBytes: number;
  sent: boolean;
  timer: NodeJS.Timeout;
  decode: ReplyDecoder<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** Opens the TCP connection, from a privileged local port when asked (retrying ports in use). */
async function openSocket(o: RpcConnectOptions & { onread: OnReadOpts }, label: string): Promise<Socket> {
  const timeoutMs = o.connectTimeoutMs ?? 5000;
  for (let attempt = 0; ; attempt++) {
    const localPort = o.privilegedPort ? randomInt(600, 1024) : undefined;
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = tcpConnect({ host: o.host, port: o.port, localPort, onread: o.onread });
        const timer = setTimeout(() => {
          s.destroy();
          reject(new RpcConnectionError(`${label}: no TCP connection to ${o.host}:${o.port} within ${timeoutMs} ms`));
        }, timeoutMs);
        s.once('connect', () => {
          clearTimeout(timer);
          s.removeAllListeners('error');
          resolve(s);
        });
        s.once('error', (err) => {
          clearTimeout(timer);
          s.destroy();
          reject(err);
        });
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (localPort !== undefined && (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL') && attempt < 20) continue;
      if (err instanceof RpcConnectionError) throw err;
      throw new RpcConnectionError(`${label}: cannot connect to ${o.host}:${o.port}: ${(err as Error).message}`);
    }
  }
}

export class RpcConnection {
  private readonly pending = new Map<number, Pending>();
  /** Calls not sent yet: `queue[queueHead..]` (a head index: shift() is O(n) on long arrays). */
  private queue: Pending[] = [];
  private queueHead = 0;
  private inFlight = 0;
  private inFlightBytes = 0;
  private nextXid = randomInt(0, 0x7fff_ffff);
  private dead: Error | undefined;
  private corked = false;
  /** Replies whose xid matched no pending call (answered after their call timed out). */
  strayReplies = 0;
  /** The most calls that were out on the wire at once. */
  peakInFlight = 0;

  private constructor(
    private readonly socket: Socket,
    readonly label: string,
    private readonly o: RpcConnectOptions,
  ) {
    socket.setNoDelay(true);
    socket.on('error', (err) => this.fail(err.message));
    socket.on('close', () => this.fail('connection closed'));
    socket.on('end', () => this.fail('server closed the connection'));
    socket.unref();
  }

  static async connect(o: RpcConnectOptions): Promise<RpcConnection> {
    const label = o.label ?? 'RPC';
    // the socket reads into one reused buffer (onread), the parser hands on views of it or of its
    // own reused scratch, and each reply is decoded before the next read: no allocation per read
    let conn: RpcConnection | undefined;
    const parser = new RecordParser((rec) => conn!.onRecord(rec));
    const receive = Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES);
    const onread: OnReadOpts = {
      buffer: receive,
      callback: (n) => {
        if (!conn || conn.dead) return false;
        try {
          parser.push(receive.subarray(0, n));
        } catch (err) {
          conn.fail(`bad data from the server: ${(err as Error).message}`);
          return false;
        }
        return true;
      },
    };
    conn = new RpcConnection(await openSocket({ ...o, onread }, label), label, o);
    return conn;
  }

  get endpoint(): string {
    return `${this.o.host}:${this.o.port}`;
  }

  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  /** Why the connection is unusable, or undefined while it works. */
  get error(): Error | undefined {
    return this.dead;
  }

  /**
   * Calls `proc` of program `prog` version `vers`; `args` appends the arguments. Resolves once the
   * server accepted and ran the call: with `decode`'s result (run on the reply as it arrives), by
   * default a reader positioned at the results (over a copy of them).
   */
  call(
    prog: number,
    vers: number,
    proc: number,
    args: (w: XdrWriter) => void,
    what: string,
    co?: CallOptions,
  ): Promise<XdrReader>;
  call<T>(
    prog: number,
    vers: number,
    proc: number,
    args: (w: XdrWriter) => void,
    what: string,
    co: CallOptions,
    decode: ReplyDecoder<T>,
  ): Promise<T>;
  call<T>(
    prog: number,
    vers: number,
    proc: number,
    args: (w: XdrWriter) => void,
    what: string,
    co: CallOptions = {},
    decode?: ReplyDecoder<T>,
  ): Promise<T | XdrReader> {
    if (this.dead) return Promise.reject(this.dead);
    const xid = this.nextXid;
    this.nextXid = (this.nextXid + 1) >>> 0;
    let msg: Buffer;
    try {
      const w = new XdrWriter(192, 4);
      writeCallHeader(w, { xid, prog, vers, proc, cred: co.auth ?? this.o.auth ?? authNone() });
      args(w);
      msg = markRecord(w.finish());
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = co.timeoutMs ?? this.o.callTimeoutMs ?? 10_000;
    const label = `${this.label} ${what}`;
    return new Promise<T | XdrReader>((resolve, reject) => {
      const replyBytes = co.replyBytes ?? 0;
      const p: Pending = {
        xid,
        what: label,
        msg,
        replyBytes,
        sent: false,
        decode: decode ?? copyResults,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: undefined as never,
      };
      p.timer = setTimeout(() => this.timeout(p, timeoutMs), timeoutMs);
      this.pending.set(xid, p);
      if (this.pending.size === 1) this.socket.ref();
      this.queue.push(p);
      this.pump();
    });
  }

  /** Sends queued calls within the in-flight limits; writes made in one tick go out together. */
  private pump(): void {
    const max = this.o.maxInFlight ?? 128;
    const maxBytes = this.o.maxInFlightBytes ?? 4 << 20;
    while (this.queueHead < this.queue.length && this.inFlight < max) {
      const p = this.queue[this.queueHead];
      if (!this.pending.has(p.xid)) {
        this.queueHead++;
        continue;
      }
      if (this.inFlight > 0 && this.inFlightBytes + p.replyBytes > maxBytes) break;
      this.queueHead++;
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(() => {
          this.corked = false;
          this.socket.uncork();
        });
      }
      p.sent = true;
      this.inFlight++;
      this.inFlightBytes += p.replyBytes;
      if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
      this.socket.write(p.msg);
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private settle(p: Pending): void {
    clearTimeout(p.timer);
    this.pending.delete(p.xid);
    if (p.sent) {
      this.inFlight--;
      this.inFlightBytes -= p.replyBytes;
    }
    if (this.pending.size === 0) this.socket.unref();
  }

  private timeout(p: Pending, ms: number): void {
    if (!this.pending.has(p.xid)) return;
    this.settle(p);
    const where = p.sent ? 'no reply' : 'still queued behind other calls';
    p.reject(new RpcTimeoutError(`${p.what}: ${where} from ${this.endpoint} within ${ms} ms`));
    this.pump();
  }

  private onRecord(rec: Buffer): void {
    const r = new XdrReader(rec);
    const xid = r.u32();
    if (r.u32() !== MSG_REPLY) throw new Error(`record with xid ${xid} is not an RPC reply`);
    const p = this.pending.get(xid);
    if (!p) {
      this.strayReplies++;
      return;
    }
    this.settle(p);
    try {
      readReplyHeader(r, p.what);
      p.resolve(p.decode(r));
    } catch (err) {
      p.reject(err as Error);
    }
    this.pump();
  }

  private fail(reason: string): void {
    if (this.dead) return;
    const n = this.pending.size;
    const failed = n ? `; ${n} call(s) pending were failed` : '';
    this.dead = new RpcConnectionError(`${this.label} connection to ${this.endpoint} is dead (${reason})${failed}`);
    this.socket.destroy();
    const all = [...this.pending.values()];
    this.pending.clear();
    this.queue = [];
    this.queueHead = 0;
    this.inFlight = 0;
    this.inFlightBytes = 0;
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(this.dead);
    }
  }

  /** Closes the connection; calls still pending are rejected. */
  async close(): Promise<void> {
    if (this.dead) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.fail('closed by the client');
    });
  }
}
