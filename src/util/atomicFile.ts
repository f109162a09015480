import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

let tmpCounter = 0;

/** Writes, fsyncs and closes a file (the bytes are on disk before the caller goes on). */
async function writeSynced(path: string, content: string, flag: 'w' | 'wx'): Promise<void> {
  const fh = await open(path, flag);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync of a directory (a rename in it is durable after this); not every filesystem allows it. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}

/**
 * Writes a file atomically and durably: the content goes to a temporary file, is fsync'd, then renamed over `path`
 * and the directory fsync'd — a crash or power loss leaves either the old or the new content, never half (concurrent
 * writers each use their own temporary file). On a full disk (ENOSPC) an existing file is overwritten in place
 * instead: truncating it frees its blocks, so a record about the same size as the one it replaces still fits (not
 * atomic then, but the reason a run failed is not lost to the full disk).
 */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${++tmpCounter}`;
  try {
    await writeSynced(tmp, content, 'wx');
  } catch (err) {
    await rm(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    // O_TRUNC frees the old content's blocks first
    await writeSynced(path, content, 'w').catch(() => {
      throw err;
    });
    return;
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}
