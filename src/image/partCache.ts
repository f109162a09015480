/**
 * The guest image's parts cached by their own input keys under <imagesDir()>/.cache (the initramfs,
 * the data disk), and the temp-name bookkeeping that lets a crashed builder's leftovers be removed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { imagesDir } from '../util/paths.js';
import { processEnded } from '../util/procStat.js';
import type { DatasetEntry } from './dataset.js';
import { buildDataDisk } from './disk.js';
import type { HostInputs } from './host.js';
import { initramfsEntries, writeCpioGz } from './initramfs.js';

const MiB = 1024 * 1024;

/** The dataset parameters of an image (defaults applied, validated). */
export interface Params {
  datasetMib: number;
  seed: string;
}

export const cacheDir = (): string => join(imagesDir(), '.cache');
export const tmpName = (what: string): string => `.tmp-${what}-${process.pid}-${randomBytes(3).toString('hex')}`;

export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * A cached part of the image (`<name>-<key>.<ext>` with its metadata in `<name>-<key>.json`): its paths,
 * and its metadata when the part is complete (same key, file of the recorded size) and not `force`d.
 */
async function cachedPart<M extends { key: string; bytes: number }>(
  name: string,
  ext: string,
  key: string,
  force: boolean,
): Promise<{ path: string; metaPath: string; cached?: M }> {
  const path = join(cacheDir(), `${name}-${key}.${ext}`);
  const metaPath = join(cacheDir(), `${name}-${key}.json`);
  const meta = await readJson<M>(metaPath);
  const complete = !force && meta && meta.key === key && (await fileSize(path)) === meta.bytes;
  return { path, metaPath, cached: complete ? meta : undefined };
}

/** Writes `data` to `path` atomically (temp file in the same directory, then rename). */
async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${tmpName('w')}`;
  await writeFile(tmp, data, { mode: 0o644 });
  await rename(tmp, path);
}

/** Is `pid` a live process (zombies count as dead)? */
function pidAlive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !processEnded(st);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp/old entries (`.tmp-…-<pid>-<rand>`) left by builders that are no longer running. */
export async function removeStale(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = /^\.(?:tmp|old)-.*-(\d+)-[0-9a-f]{6}$/.exec(name) ?? /\.\.tmp-.*-(\d+)-[0-9a-f]{6}$/.exec(name);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1])))
      await rm(join(dir, name), { recursive: true, force: true });
  }
}

export interface InitrdMeta {
  key: string;
  bytes: number;
  cpioBytes: number;
  entries: number;
  kernelVersion: string;
}
export interface DataMeta {
  key: string;
  bytes: number;
  freeBytes: number;
  datasetMib: number;
  seed: string;
  totalBytes: number;
  files: DatasetEntry[];
  manifest: string;
}

export async function ensureInitrd(
  host: HostInputs,
  key: string,
  force: boolean,
  log: (l: string) => void,
): Promise<{ path: string; meta: InitrdMeta }> {
  const { path, metaPath, cached } = await cachedPart<InitrdMeta>('initrd', 'img', key, force);
  if (cached) {
    log(`initramfs: cached ${path} (${(cached.bytes / MiB).toFixed(1)} MiB)`);
    return { path, meta: cached };
  }
  const t = Date.now();
  const tmp = join(cacheDir(), tmpName(`initrd-${key}`));
  try {
    const entries = await initramfsEntries(host);
    const r = await writeCpioGz(entries, tmp);
    const meta: InitrdMeta = {
      key,
      bytes: (await stat(tmp)).size,
      cpioBytes: r.cpioBytes,
      entries: r.entries,
      kernelVersion: host.kernelVersion,
    };
    await rename(tmp, path);
    await writeAtomic(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
    log(
      `initramfs: ${r.entries} entries, ${(r.cpioBytes / MiB).toFixed(1)} MiB -> ${(meta.bytes / MiB).toFixed(1)} ` +
        `MiB gzip in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
    return { path, meta };
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function ensureDataDisk(
  p: Params,
  key: string,
  force: boolean,
  log: (l: string) => void,
): Promise<{ path: string; meta: DataMeta }> {
  const { path, metaPath, cached } = await cachedPart<DataMeta>('data', 'raw', key, force);
  if (cached) {
    log(`data disk: cached ${path} (${(cached.bytes / MiB).toFixed(0)} MiB)`);
    return { path, meta: cached };
  }
  const tmp = join(cacheDir(), tmpName(`data-${key}`));
  const work = join(cacheDir(), tmpName(`dataset-${key}`));
  try {
    const r = await buildDataDisk({ outFile: tmp, workDir: work, datasetMib: p.datasetMib, seed: p.seed, log });
    const meta: DataMeta = {
      key,
      bytes: r.bytes,
      freeBytes: r.freeBytes,
      datasetMib: p.datasetMib,
      seed: p.seed,
      totalBytes: r.dataset.totalBytes,
      files: r.dataset.files,
      manifest: r.dataset.manifest,
    };
    await rename(tmp, path);
    await writeAtomic(metaPath, `${JSON.stringify(meta)}\n`);
    return { path, meta };
  } finally {
    await rm(tmp, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}
