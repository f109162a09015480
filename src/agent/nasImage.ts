import { open, type FileHandle } from 'node:fs/promises';

export const BLOCK = 4096;

/**
 * Read-only access to the guest's disk image on the NAS (a local path: the host's NFS mount or
 * FUSE view). Every read is bounds-checked against the image named for this run; reads are
 * counted for the stats.
 */
export class NasImage {
  bytesRead = 0;
  reads = 0;

  private constructor(readonly path: string, private readonly fh: FileHandle, readonly blocks: number) {}

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
    if (!Number.isInteger(block) || block < 0 || count < 1 || block + count > this.blocks) {
      throw new Error(`NAS read outside the image: blocks ${block}+${count} of ${this.blocks}`);
    }
    const buf = into && into.length >= count * BLOCK ? into.subarray(0, count * BLOCK) : Buffer.allocUnsafe(count * BLOCK);
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
