/**
 * A small NFSv3 read client: finds the ports (portmap), mounts an export (MOUNT3), looks files up
 * by path and reads them over one pipelined TCP connection.
 *
 *   const c = await NfsClient.connect({ host, exportPath: '/export', uid: 0, gid: 0 });
 *   const f = await c.open('runs/x/disk.raw');
 *   const buf = await f.read(offset, length);
 *   await c.close();
 */
import { RpcConnection } from './rpcConnection.js';
import { authSys, type RpcAuth } from './rpcMessage.js';
import { getPorts, mountExport, unmountExport } from './mount.js';
import type { XdrReader, XdrWriter } from './xdr.js';
import {
  FTYPE_NAMES,
  MOUNT_PROG,
  MOUNT_V3,
  NF3DIR,
  NF3REG,
  NFS3_OK,
  NFS3ERR_JUKEBOX,
  NFS_PROG,
  NFS_V3,
  NFSPROC3_FSINFO,
  NFSPROC3_GETATTR,
  NFSPROC3_LOOKUP,
  NFSPROC3_READ,
  NfsError,
  nfs3StatusName,
  readFattr3,
  readFh,
  readFsInfo,
  readPostOpAttr,
  readRead3Ok,
  writeFh,
  type Fattr3,
  type FsInfo,
  type ReadResult,
} from './nfs3.js';

export const DEFAULT_MAX_READ = 256 * 1024;
/** The largest READ this client sends whatever the server allows (replies must fit a 16 MiB record). */
export const MAX_READ_LIMIT = 4 * 1024 * 1024;

export interface NfsConnectOptions {
  host: string;
  /** The export as MOUNT knows it, e.g. "/export". */
  exportPath: string;
  uid?: number;
  gid?: number;
  gids?: number[];
  machineName?: string;
  /** Ports, when known; otherwise asked from the portmapper (port 111, or `portmapPort`). */
  nfsPort?: number;
  mountPort?: number;
  portmapPort?: number;
  /** Connect from ports below 1024 (for exports that insist on it; needs root). Default false. */
  privilegedPort?: boolean;
  /** Per-call timeout (default 10 s). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Largest READ sent (default 256 KiB; never above the server's FSINFO rtmax, nor 4 MiB). */
  maxReadSize?: number;
  /** READs and other calls in flight on the connection at most (default 128). */
  maxInFlight?: number;
  /** READ bytes in flight at most (default 4 MiB; one READ always goes). */
  maxInFlightBytes?: number;
}

export interface NfsClientInfo {
  nfsPort: number;
  mountPort: number;
  fsinfo: FsInfo;
  /** The READ size used: min(maxReadSize, rtmax). */
  maxRead: number;
  authFlavors: number[];
  mountLocalPort?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class NfsClient {
  /** Bytes of file data received and READ calls made. */
  readonly stats = { reads: 0, bytesRead: 0 };

  private constructor(
    private readonly o: NfsConnectOptions,
    private readonly conn: RpcConnection,
    private readonly auth: RpcAuth,
    readonly rootFh: Buffer,
    readonly info: NfsClientInfo,
  ) {}

  static async connect(o: NfsConnectOptions): Promise<NfsClient> {
    const auth = authSys({ uid: o.uid ?? 0, gid: o.gid ?? 0, gids: o.gids, machineName: o.machineName });
    const svc = {
      host: o.host,
      timeoutMs: o.timeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      privilegedPort: o.privilegedPort,
    };
    let { nfsPort, mountPort } = o;
    if (!nfsPort || !mountPort) {
      const [m, n] = await getPorts({ ...svc, portmapPort: o.portmapPort }, [
        { name: 'MOUNT', prog: MOUNT_PROG, vers: MOUNT_V3 },
        { name: 'NFS', prog: NFS_PROG, vers: NFS_V3 },
      ]);
      mountPort ??= m;
      nfsPort ??= n;
    }
    const mnt = await mountExport({ ...svc, port: mountPort, exportPath: o.exportPath, auth });
    const conn = await RpcConnection.connect({
      ...svc,
      port: nfsPort,
      label: 'NFS',
      auth,
      callTimeoutMs: o.timeoutMs,
      maxInFlight: o.maxInFlight,
      maxInFlightBytes: o.maxInFlightBytes,
    });
    const client = new NfsClient(o, conn, auth, mnt.rootFh, {
      nfsPort,
      mountPort,
      fsinfo: { rtmax: 0, rtpref: 0, rtmult: 0, wtmax: 0, maxFileSize: 0 },
      maxRead: 0,
      authFlavors: mnt.authFlavors,
      mountLocalPort: mnt.localPort,
    });
    try {
      const fsinfo = await client.call(
        NFSPROC3_FSINFO,
        'FSINFO',
        o.exportPath,
        (w) => writeFh(w, mnt.rootFh),
        (r) => {
          readPostOpAttr(r);
          return readFsInfo(r);
        },
      );
      client.info.fsinfo = fsinfo;
      const rtmax = fsinfo.rtmax || DEFAULT_MAX_READ;
      client.info.maxRead = Math.max(4096, Math.min(o.maxReadSize ?? DEFAULT_MAX_READ, rtmax, MAX_READ_LIMIT));
    } catch (err) {
      await conn.close();
      throw err;
    }
    return client;
  }

  /** Why the connection is unusable, or undefined while it works. */
  get error(): Error | undefined {
    return this.conn.error;
  }

  /** The most calls that were out on the connection at once (pipelining depth reached). */
  get peakInFlight(): number {
    return this.conn.peakInFlight;
  }

  get endpoint(): string {
    return this.conn.endpoint;
  }

  /**
   * One NFSv3 call: the status is checked (NFS3ERR_JUKEBOX, "try again later", is retried a few
   * times), `onOk` reads the rest of a successful reply as it arrives (see `ReplyDecoder`: it copies
   * what it keeps).
   */
  async call<T>(
    proc: number,
    op: string,
    path: string,
    args: (w: XdrWriter) => void,
    onOk: (r: XdrReader) => T,
    what = `${op} ${path}`,
    replyBytes?: number,
  ): Promise<T> {
    const decode = (r: XdrReader): { ok: true; value: T } | { ok: false; status: number } => {
      const status = r.u32();
      return status === NFS3_OK ? { ok: true, value: onOk(r) } : { ok: false, status };
    };
    for (let attempt = 0; ; attempt++) {
      const res = await this.conn.call(NFS_PROG, NFS_V3, proc, args, what, { replyBytes }, decode);
      if (res.ok) return res.value;
      if (res.status === NFS3ERR_JUKEBOX && attempt < 5) {
        await sleep(20 << attempt);
        continue;
      }
      throw new NfsError(op, path, res.status, nfs3StatusName(res.status), this.conn.endpoint);
    }
  }

  /** The full path of `rel` on the server, for messages. */
  displayPath(rel: string): string {
    return `${this.o.exportPath.replace(/\/+$/, '')}/${rel.replace(/^\/+/, '')}`;
  }

  /** LOOKUP of each component of `rel` (relative to the export): its handle and attributes. */
  async lookup(rel: string): Promise<{ fh: Buffer; attrs: Fattr3 }> {
    const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
    let fh = this.rootFh;
    let attrs: Fattr3 | undefined;
    for (let i = 0; i < parts.length; i++) {
      const path = this.displayPath(parts.slice(0, i + 1).join('/'));
      const dir = fh;
      const got = await this.call(
        NFSPROC3_LOOKUP,
        'LOOKUP',
        path,
        (w) => {
          writeFh(w, dir);
          w.string(parts[i], 255);
        },
        (r) => ({ fh: readFh(r), attrs: readPostOpAttr(r) }),
      );
      fh = got.fh;
      attrs = got.attrs;
      if (i < parts.length - 1 && attrs && attrs.type !== NF3DIR) {
        throw new NfsError('LOOKUP', path, 20, 'NFS3ERR_NOTDIR', this.conn.endpoint);
      }
    }
    return { fh, attrs: attrs ?? (await this.getattr(fh, this.displayPath(rel))) };
  }

  async getattr(fh: Buffer, path: string): Promise<Fattr3> {
    return this.call(NFSPROC3_GETATTR, 'GETATTR', path, (w) => writeFh(w, fh), readFattr3);
  }

  /** Opens a regular file by its path relative to the export. */
  async open(rel: string): Promise<NfsFile> {
    const path = this.displayPath(rel);
    const { fh, attrs } = await this.lookup(rel);
    if (attrs.type !== NF3REG) {
      const kind = FTYPE_NAMES[attrs.type] ?? `type ${attrs.type}`;
      throw new Error(`${path} on ${this.conn.endpoint} is a ${kind}, not a file`);
    }
    return new NfsFile(this, fh, path, attrs.size);
  }

  /**
   * One READ call (at most `info.maxRead` bytes). The data is copied out of the receive buffer once:
   * into `into` when given (at least `count` bytes; `data` is then a view of it), else into a new buffer.
   */
  async readRaw(fh: Buffer, offset: number, count: number, path = '?', into?: Buffer): Promise<ReadResult> {
    if (count > this.info.maxRead) throw new RangeError(`READ of ${count} bytes exceeds ${this.info.maxRead}`);
    if (into && into.length < count) throw new RangeError(`READ of ${count} bytes into a buffer of ${into.length}`);
    const res = await this.call(
      NFSPROC3_READ,
      'READ',
      path,
      (w) => {
        writeFh(w, fh);
        w.u64(offset).u32(count);
      },
      (r) => {
        const got = readRead3Ok(r);
        if (got.data.length > count)
          throw new Error(`READ ${path} @${offset}: asked ${count} bytes, got ${got.data.length}`);
        const data = into ? into.subarray(0, got.data.length) : Buffer.allocUnsafe(got.data.length);
        data.set(got.data);
        return { data, eof: got.eof };
      },
      `READ ${path} @${offset}+${count}`,
      count,
    );
    this.stats.reads++;
    this.stats.bytesRead += res.data.length;
    return res;
  }

  /** Closes the connection (calls still pending are rejected) and sends MOUNT3 UMNT when `umount`. */
  async close(o: { umount?: boolean } = {}): Promise<void> {
    await this.conn.close();
    if (o.umount) {
      await unmountExport({
        host: this.o.host,
        port: this.info.mountPort,
        exportPath: this.o.exportPath,
        auth: this.auth,
        timeoutMs: this.o.timeoutMs,
        privilegedPort: this.o.privilegedPort,
      }).catch(() => undefined);
    }
  }
}

/** An open file: reads of any size, split into READs of `maxRead` sent together. */
export class NfsFile {
  constructor(
    readonly client: NfsClient,
    readonly fh: Buffer,
    readonly path: string,
    public size: number,
  ) {}

  /** Re-reads the attributes; updates `size`. */
  async stat(): Promise<Fattr3> {
    const a = await this.client.getattr(this.fh, this.path);
    this.size = a.size;
    return a;
  }

  /**
   * Reads `length` bytes at `offset`; shorter only where the file ends. The data is copied once, out
   * of the connection's receive buffer: into `into` when it holds `length` bytes (the result is a
   * view of it), else into a new buffer. Reads larger than one READ are split and sent together.
   */
  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`bad read of ${this.path}: offset ${offset}, length ${length}`);
    }
    const out = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    const max = this.client.info.maxRead;
    if (length <= max) return out.subarray(0, await this.readSpan(offset, out));
    const spans: Promise<number>[] = [];
    for (let at = 0; at < length; at += max)
      spans.push(this.readSpan(offset + at, out.subarray(at, Math.min(length, at + max))));
    const got = await Promise.all(spans);
    // the file ends in the first span that came back short
    let total = 0;
    for (const n of got) {
      total += n;
      if (n < max) break;
    }
    return out.subarray(0, total);
  }

  /** `count` blocks of `blockSize` from block `first`; throws when they do not all lie in the file. */
  async readBlocks(first: number, count = 1, blockSize = 4096, into?: Buffer): Promise<Buffer> {
    const want = count * blockSize;
    const buf = await this.read(first * blockSize, want, into);
    if (buf.length !== want) {
      throw new RangeError(
        `NFS READ ${this.path}: blocks ${first}+${count} (of ${blockSize} bytes) pass the end ` +
          `of the file (got ${buf.length} of ${want} bytes)`,
      );
    }
    return buf;
  }

  /**
   * Fills `into` from `offset`: one READ, plus more when the server answers short before EOF. Resolves to the bytes
   * read.
   */
  private async readSpan(offset: number, into: Buffer): Promise<number> {
    let got = 0;
    while (got < into.length) {
      const r = await this.client.readRaw(this.fh, offset + got, into.length - got, this.path, into.subarray(got));
      got += r.data.length;
      if (r.eof || r.data.length === 0) break;
    }
    return got;
  }
}
