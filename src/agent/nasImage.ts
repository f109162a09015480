import { open, type FileHandle } from 'node:fs/promises';
import { NfsClient, type NfsFile } from '../nfs/index.js';

export const BLOCK = 4096;

/** The guest's disk image on the NAS as the agents read it: 4 KiB blocks, bounds-checked, counted. */
export interface BlockImage {
  readonly path: string;
  readonly blocks: number;
  bytesRead: number;
  reads: number;
  /** `count` consecutive blocks from `block` (into `into` when it fits; the result may be a view of it). */
  readBlocks(block: number, count?: number, into?: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}

/** `nfs://HOST[:PORT]/EXPORT/REL` → its parts; the export is the first path segment unless `exportPath` says more. */
export function parseNfsUrl(
  url: string,
  exportPath?: string,
): { host: string; port?: number; exportPath: string; rel: string } {
  const m = /^nfs:\/\/([^/:]+)(?::(\d+))?(\/.*)$/.exec(url);
  if (!m) throw new Error(`not an NFS URL (nfs://HOST/EXPORT/PATH): ${url}`);
  const path = m[3];
  const exp = exportPath ?? `/${path.split('/')[1]}`;
  if (!path.startsWith(`${exp}/`) || path.length <= exp.length + 1)
    throw new Error(`NFS URL ${url} does not name a file under the export ${exp}`);
  return { host: m[1], ...(m[2] ? { port: Number(m[2]) } : {}), exportPath: exp, rel: path.slice(exp.length + 1) };
}

/** Opens the image: a local path (a host's kernel NFS mount) or `nfs://…` (the agents' own NFSv3 client). */
export function openNasImage(spec: string, o: { exportPath?: string; timeoutMs?: number } = {}): Promise<BlockImage> {
  return spec.startsWith('nfs://') ? NfsImage.open(spec, o) : NasImage.open(spec);
}

function checkRange(path: string, blocks: number, block: number, count: number): void {
  if (!Number.isInteger(block) || block < 0 || count < 1 || block + count > blocks) {
    throw new Error(`NAS read outside the image ${path}: blocks ${block}+${count} of ${blocks}`);
  }
}

/**
 * The image read with pofbench's own NFSv3 client over the storage network: no FUSE, no
 * qemu-storage-daemon, reads pipelined on one connection, every call with a deadline (a dead or
 * slow NAS is an error the agent can act on, not a read that hangs).
 */
export class NfsImage implements BlockImage {
  bytesRead = 0;
  reads = 0;

  private constructor(
    readonly path: string,
    private readonly client: NfsClient,
    private readonly file: NfsFile,
    readonly blocks: number,
  ) {}

  static async open(url: string, o: { exportPath?: string; timeoutMs?: number } = {}): Promise<NfsImage> {
    const u = parseNfsUrl(url, o.exportPath);
    const client = await NfsClient.connect({
      host: u.host,
      exportPath: u.exportPath,
      uid: 0,
      gid: 0,
      timeoutMs: o.timeoutMs ?? 10000,
      ...(u.port ? { nfsPort: u.port } : {}),
    });
    try {
      const file = await client.open(u.rel);
      if (file.size < BLOCK) throw new Error(`NAS image ${url} is empty (size ${file.size})`);
      return new NfsImage(url, client, file, Math.floor(file.size / BLOCK));
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  }

  async readBlocks(block: number, count = 1, into?: Buffer): Promise<Buffer> {
    checkRange(this.path, this.blocks, block, count);
    const buf = await this.file.readBlocks(
      block,
      count,
      BLOCK,
      into && into.length >= count * BLOCK ? into : undefined,
    );
    this.bytesRead += buf.length;
    this.reads++;
    return buf;
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}

/**
 * Read-only access to the guest's disk image on the NAS (a local path: the host's NFS mount or
 * FUSE view). Every read is bounds-checked against the image named for this run; reads are
 * counted for the stats.
 */
export class NasImage implements BlockImage {
  bytesRead = 0;
  reads = 0;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly blocks: number,
  ) {}

  static async open(path: string): Promise<NasImage> {
    const fh = await open(path, 'r');
    const { size } = await fh.stat();
    if (size < BLOCK) throw new Error(`NAS image ${path} is empty or unreadable (size ${size})`);
    return new NasImage(path, fh, Math.floor(size / BLOCK));
  }

  /**
   * Reads `count` consecutive 4 KiB blocks starting at `block`, into `into` when it is large enough
   * (a reused buffer; the result is then a view of it).
   */
  async readBlocks(block: number, count = 1, into?: Buffer): Promise<Buffer> {
    checkRange(this.path, this.blocks, block, count);
    const buf =
      into && into.length >= count * BLOCK ? into.subarray(0, count * BLOCK) : Buffer.allocUnsafe(count * BLOCK);
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await this.fh.read(buf, done, buf.length - done, block * BLOCK + done);
      if (bytesRead === 0) throw new Error(`NAS image ${this.path}: short read at block ${block}`);
      done += bytesRead;
    }
    this.bytesRead += buf.length;
    this.reads++;
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
