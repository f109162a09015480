import { createHash } from 'node:crypto';
import { copyFile, link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GUEST_SCRIPT_TEXT } from '../guest/scripts.js';
import { UserError } from '../util/errors.js';
import { imagesDir } from '../util/paths.js';
import { DATASET_VERSION, DEFAULT_DATASET_MIB, DEFAULT_SEED, validateDatasetParams } from './dataset.js';
import { inspectHost, type HostInputs } from './host.js';
import {
  cacheDir,
  ensureDataDisk,
  ensureInitrd,
  fileSize,
  readJson,
  removeStale,
  tmpName,
  type DataMeta,
  type Params,
} from './partCache.js';

export interface DatasetFile {
  path: string /* in-guest path, e.g. /data/dataset/f0001.bin */;
  bytes: number;
}

/** The image's dataset files in order until `mib` MiB are reached (what page-cache workloads read), and their size. */
export function firstDatasetFiles(
  image: Pick<GuestImage, 'dataset'>,
  mib: number,
): { files: DatasetFile[]; bytes: number } {
  const want = mib * 1024 * 1024;
  const files: DatasetFile[] = [];
  let bytes = 0;
  for (const f of image.dataset.files) {
    if (bytes >= want) break;
    files.push(f);
    bytes += f.bytes;
  }
  return { files, bytes };
}
export interface GuestImage {
  id: string;
  dir: string; // dir = <imagesDir()>/<id>
  kernel: string;
  initrd: string; // absolute paths
  dataDisk: string;
  dataDiskBytes: number; // raw ext4, 4096-byte blocks
  dataset: { seed: string; totalBytes: number; files: DatasetFile[] };
  kernelVersion: string;
  packages: Record<string, string>; // package -> version used
  builtAt: string;
}
export interface ImageOptions {
  datasetMib?: number /* default 640 */;
  seed?: string /* default 'pofbench' */;
}

/** Bump when the builder's output changes for the same inputs (layout, init, format). */
export const BUILDER_VERSION = 1;
/** Where the dataset is mounted in the guest. */
export const GUEST_DATA_MOUNT = '/data';
export const GUEST_DATASET_DIR = '/data/dataset';

const MANIFEST_NAME = 'image.json';
const FILES = { kernel: 'vmlinuz', initrd: 'initrd.img', dataDisk: 'data.raw', manifest: 'MANIFEST' } as const;

/** The dataset MANIFEST (`name bytes sha256` per line) kept next to the image, same as /data/dataset/MANIFEST. */
export function imageManifestPath(img: Pick<GuestImage, 'dir'>): string {
  return join(img.dir, FILES.manifest);
}

function params(opts: ImageOptions): Params {
  const p = { datasetMib: opts.datasetMib ?? DEFAULT_DATASET_MIB, seed: opts.seed ?? DEFAULT_SEED };
  validateDatasetParams(p.datasetMib, p.seed);
  return p;
}

const sha = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex');

interface Keys {
  initrd: string;
  data: string;
  id: string;
}

function inputKeys(host: HostInputs, p: Params): Keys {
  const { e2fsprogs, ...initrdPkgs } = host.packages;
  const initrd = sha({
    builder: BUILDER_VERSION,
    kernel: host.kernelSha256,
    kernelVersion: host.kernelVersion,
    modules: host.modules,
    programs: host.programs,
    libraries: host.libraries,
    packages: initrdPkgs,
    scripts: GUEST_SCRIPT_TEXT,
  }).slice(0, 16);
  const data = sha({
    builder: BUILDER_VERSION,
    dataset: DATASET_VERSION,
    datasetMib: p.datasetMib,
    seed: p.seed,
    e2fsprogs,
  }).slice(0, 16);
  return { initrd, data, id: `pofguest-d${p.datasetMib}-${sha([initrd, data]).slice(0, 12)}` };
}

/** Hard link (the cache part and the image share the blocks), or a copy where links fail. */
async function linkOrCopy(src: string, dst: string): Promise<void> {
  try {
    await link(src, dst);
  } catch {
    await copyFile(src, dst);
  }
}

/** A complete image in `dir`, or undefined. Paths are taken relative to `dir` (the home may have moved). */
async function readComplete(dir: string, id: string): Promise<GuestImage | undefined> {
  const m = await readJson<GuestImage>(join(dir, MANIFEST_NAME));
  if (!m || m.id !== id || !m.dataset || !Array.isArray(m.dataset.files)) return undefined;
  const img: GuestImage = {
    ...m,
    dir,
    kernel: join(dir, FILES.kernel),
    initrd: join(dir, FILES.initrd),
    dataDisk: join(dir, FILES.dataDisk),
  };
  const [k, i, d, man] = await Promise.all([
    fileSize(img.kernel),
    fileSize(img.initrd),
    fileSize(img.dataDisk),
    fileSize(imageManifestPath(img)),
  ]);
  if (!k || !i || d !== m.dataDiskBytes || man === undefined) return undefined;
  return img;
}

/** The cached image for these options, if present and complete (never a half-built one). */
export async function loadImage(opts: ImageOptions): Promise<GuestImage | undefined> {
  const p = params(opts);
  const host = await inspectHost();
  const keys = inputKeys(host, p);
  return readComplete(join(imagesDir(), keys.id), keys.id);
}

/** The cache directory, created (a clear error where it cannot be), and leftovers of dead builders removed. */
async function prepareCacheDirs(): Promise<void> {
  try {
    await mkdir(cacheDir(), { recursive: true });
  } catch (err) {
    throw new UserError(
      `cannot create ${cacheDir()}: ${(err as Error).message}`,
      'run as root or set POFBENCH_HOME to a writable directory',
    );
  }
  await removeStale(imagesDir());
  await removeStale(cacheDir());
}

interface ImageParts {
  host: HostInputs;
  keys: Keys;
  p: Params;
  initrdPath: string;
  data: { path: string; meta: DataMeta };
}

/** Fills `tmp` with the image's files and its image.json; returns the image as it will be once at `dir`. */
async function assembleImageDir(tmp: string, dir: string, parts: ImageParts): Promise<GuestImage> {
  const { host, keys, p, data } = parts;
  await copyFile(host.kernelPath, join(tmp, FILES.kernel));
  await linkOrCopy(parts.initrdPath, join(tmp, FILES.initrd));
  await linkOrCopy(data.path, join(tmp, FILES.dataDisk));
  await writeFile(join(tmp, FILES.manifest), data.meta.manifest, { mode: 0o644 });
  const img: GuestImage = {
    id: keys.id,
    dir,
    kernel: join(dir, FILES.kernel),
    initrd: join(dir, FILES.initrd),
    dataDisk: join(dir, FILES.dataDisk),
    dataDiskBytes: data.meta.bytes,
    dataset: {
      seed: p.seed,
      totalBytes: data.meta.totalBytes,
      files: data.meta.files.map((f) => ({ path: `${GUEST_DATASET_DIR}/${f.name}`, bytes: f.bytes })),
    },
    kernelVersion: host.kernelVersion,
    packages: host.packages,
    builtAt: new Date().toISOString(),
  };
  const record = {
    ...img,
    inputs: {
      builderVersion: BUILDER_VERSION,
      initramfsKey: keys.initrd,
      dataDiskKey: keys.data,
      kernelSource: host.kernelPath,
      kernelSha256: host.kernelSha256,
    },
  };
  await writeFile(join(tmp, MANIFEST_NAME), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
  return img;
}

/**
 * Renames `tmp` to `dir`; an existing (stale, incomplete, or --force'd) dir is moved aside first.
 * Returns another builder's complete image when it got there first, else undefined (ours is in place).
 */
async function swapIntoPlace(
  tmp: string,
  dir: string,
  id: string,
  log: (l: string) => void,
): Promise<GuestImage | undefined> {
  const old = join(imagesDir(), tmpName(id).replace(/^\.tmp-/, '.old-'));
  let moved = false;
  try {
    await rename(dir, old);
    moved = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    await rename(tmp, dir);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    // another builder got there first: use theirs if it is complete
    const theirs = await readComplete(dir, id);
    if (!theirs) throw err;
    log(`image ${id} was completed by another build meanwhile`);
    return theirs;
  } finally {
    if (moved) await rm(old, { recursive: true, force: true });
  }
}

/**
 * Builds (or reuses) the guest image for these options. Parts are cached by their own inputs:
 * the initramfs by kernel, packages and guest scripts; the data disk by dataset size and seed.
 * The image directory is assembled in a temp dir and renamed into place, so a crash never leaves
 * a half image that loadImage() accepts.
 */
export async function buildImage(
  opts: ImageOptions & { force?: boolean; log?: (line: string) => void },
): Promise<GuestImage> {
  const log = opts.log ?? (() => undefined);
  const p = params(opts);
  const force = opts.force ?? false;
  const t0 = Date.now();
  const host = await inspectHost();
  const keys = inputKeys(host, p);
  const dir = join(imagesDir(), keys.id);
  log(`kernel: ${host.kernelPath} (${host.kernelVersion})`);
  if (!force) {
    const existing = await readComplete(dir, keys.id);
    if (existing) {
      log(`image ${keys.id} is up to date (built ${existing.builtAt})`);
      return existing;
    }
  }
  await prepareCacheDirs();

  const initrd = await ensureInitrd(host, keys.initrd, force, log);
  const data = await ensureDataDisk(p, keys.data, force, log);

  const tmp = join(imagesDir(), tmpName(keys.id));
  await mkdir(tmp);
  try {
    const img = await assembleImageDir(tmp, dir, { host, keys, p, initrdPath: initrd.path, data });
    const theirs = await swapIntoPlace(tmp, dir, keys.id, log);
    if (theirs) return theirs;
    log(`image ${keys.id} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return img;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Kernel command line for the guest: console on ttyS0, optional address for eth0 (`pof.ip=`). */
export function guestKernelCmdline(opts: { ip?: string /* CIDR e.g. 198.18.3.100/24 */; extra?: string }): string {
  // panic=-1: reboot at once on a panic, which QEMU's -no-reboot turns into an exit (a visible failure)
  const parts = ['console=ttyS0', 'panic=-1'];
  if (opts.ip !== undefined) {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(opts.ip);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
      throw new UserError(
        `invalid guest address ${JSON.stringify(opts.ip)}`,
        'give an IPv4 address with prefix length, e.g. 198.18.3.100/24',
      );
    }
    parts.push(`pof.ip=${opts.ip}`);
  }
  if (opts.extra?.trim()) parts.push(opts.extra.trim());
  return parts.join(' ');
}
