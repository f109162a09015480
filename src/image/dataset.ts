import { createCipheriv, createHash, type Cipher } from 'node:crypto';
import { mkdir, open, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';

/**
 * The deterministic dataset on the guest's data disk (/data/dataset). Its blocks are what POF can
 * find in guest RAM (page cache) and fetch from the NAS instead of sending them.
 *
 * Files are mostly 4 MiB. Content is the AES-256-CTR keystream keyed by
 * sha256("pofbench-dataset-v1", seed, index) — incompressible and never a repeated 4 KiB block.
 * Every 10th file (index % 10 == 3) is log-like text drawn from the same keystream: it compresses
 * (about 3:1 with gzip) but every line carries its own number, so no two 4 KiB blocks are equal.
 * Changing anything here changes the data: bump DATASET_VERSION.
 */
export const DATASET_VERSION = 1;
export const DATASET_FILE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_DATASET_MIB = 640;
export const DEFAULT_SEED = 'pofbench';
/** mtime of every dataset file (and the directory), so repeated builds are identical. */
export const DATASET_MTIME = 1_704_067_200; // 2024-01-01T00:00:00Z

const MiB = 1024 * 1024;
const CHUNK = MiB;
const ZERO = Buffer.alloc(CHUNK);

export interface DatasetPlanEntry {
  name: string;
  bytes: number;
  kind: 'random' | 'text';
}
export interface DatasetEntry {
  name: string;
  bytes: number;
  sha256: string;
}
export interface DatasetResult {
  seed: string;
  totalBytes: number;
  files: DatasetEntry[];
  manifest: string;
}

export function validateDatasetParams(datasetMib: number, seed: string): void {
  if (!Number.isInteger(datasetMib) || datasetMib < 1 || datasetMib > 1024 * 1024) {
    throw new UserError(`invalid dataset size ${datasetMib} MiB`, 'use a whole number of MiB between 1 and 1048576');
  }
  if (typeof seed !== 'string' || seed.length === 0 || seed.length > 200 || /[\0\n]/.test(seed)) {
    throw new UserError(`invalid dataset seed ${JSON.stringify(seed)}`, 'use 1-200 characters, no newlines');
  }
}

/** The files of a dataset of `datasetMib` MiB: 4 MiB each, the remainder in a last, smaller file. */
export function planDataset(datasetMib: number): DatasetPlanEntry[] {
  const total = datasetMib * MiB;
  const n = Math.ceil(total / DATASET_FILE_BYTES);
  const width = Math.max(4, String(n).length);
  const out: DatasetPlanEntry[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 10 === 3 ? 'text' : 'random';
    out.push({
      name: `f${String(i + 1).padStart(width, '0')}.${kind === 'text' ? 'txt' : 'bin'}`,
      bytes: Math.min(DATASET_FILE_BYTES, total - i * DATASET_FILE_BYTES),
      kind,
    });
  }
  return out;
}

function keystream(seed: string, index: number): Cipher {
  const key = createHash('sha256').update('pofbench-dataset-v1\0').update(seed, 'utf8').update(`\0${index}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
}

// 256 words, one per keystream byte value.
const WORDS: string[] = (() => {
  const stems = [
    'page',
    'block',
    'cache',
    'dirty',
    'migrate',
    'stream',
    'vm',
    'host',
    'nas',
    'disk',
    'read',
    'write',
    'sync',
    'flush',
    'ram',
    'copy',
    'pass',
    'round',
    'delta',
    'index',
    'hash',
    'ref',
    'link',
    'rate',
    'time',
    'down',
    'setup',
    'total',
    'bytes',
    'agent',
    'qemu',
    'guest',
  ];
  const suffixes = ['', 's', 'ed', 'ing', '_id', '=0', '=1', '.'];
  const out: string[] = [];
  for (const s of stems) for (const x of suffixes) out.push(s + x);
  return out; // 32 * 8 = 256
})();

/** Produces text bytes in order, exactly as many as asked for, across calls. */
class TextSource {
  private ks: Buffer = Buffer.alloc(0);
  private kpos = 0;
  private carry: Buffer = Buffer.alloc(0);
  private line = 0;

  constructor(private readonly cipher: Cipher) {}

  private byte(): number {
    if (this.kpos >= this.ks.length) {
      this.ks = this.cipher.update(ZERO.subarray(0, 64 * 1024));
      this.kpos = 0;
    }
    return this.ks[this.kpos++];
  }

  private produce(): Buffer {
    let s = '';
    while (s.length < 64 * 1024) {
      this.line++;
      const words = 6 + (this.byte() % 10);
      s += `${String(this.line).padStart(7, '0')} ${((this.byte() << 8) | this.byte()).toString(16).padStart(4, '0')}`;
      for (let w = 0; w < words; w++) s += ` ${WORDS[this.byte()]}`;
      s += '\n';
    }
    return Buffer.from(s, 'latin1');
  }

  fill(out: Buffer): void {
    let o = 0;
    while (o < out.length) {
      if (this.carry.length === 0) this.carry = this.produce();
      const n = this.carry.copy(out, o);
      o += n;
      this.carry = this.carry.subarray(n);
    }
  }
}

/** The content of one dataset file, in chunks of at most 1 MiB (streaming; buffers are reused: copy to keep). */
export function* datasetFileChunks(
  seed: string,
  index: number,
  entry: Pick<DatasetPlanEntry, 'bytes' | 'kind'>,
): Generator<Buffer> {
  const cipher = keystream(seed, index);
  const text = entry.kind === 'text' ? new TextSource(cipher) : undefined;
  const buf = Buffer.alloc(CHUNK);
  for (let left = entry.bytes; left > 0; left -= CHUNK) {
    const n = Math.min(CHUNK, left);
    if (text) {
      text.fill(buf.subarray(0, n));
      yield buf.subarray(0, n);
    } else {
      yield cipher.update(ZERO.subarray(0, n));
    }
  }
}

export function manifestText(files: DatasetEntry[]): string {
  return files.map((f) => `${f.name} ${f.bytes} ${f.sha256}\n`).join('');
}

export function parseManifest(text: string): DatasetEntry[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [name, bytes, sha256] = l.trim().split(/\s+/);
      return { name, bytes: Number(bytes), sha256 };
    });
}

/** Writes the dataset files and MANIFEST into `dir` (created). */
export async function writeDataset(
  dir: string,
  opts: { datasetMib: number; seed: string; log?: (line: string) => void },
): Promise<DatasetResult> {
  validateDatasetParams(opts.datasetMib, opts.seed);
  await mkdir(dir, { recursive: true });
  const plan = planDataset(opts.datasetMib);
  const files: DatasetEntry[] = [];
  let totalBytes = 0;
  for (let i = 0; i < plan.length; i++) {
    const e = plan[i];
    const path = join(dir, e.name);
    const h = createHash('sha256');
    const fh = await open(path, 'w', 0o644);
    try {
      for (const chunk of datasetFileChunks(opts.seed, i, e)) {
        h.update(chunk);
        await fh.write(chunk, 0, chunk.length);
      }
    } finally {
      await fh.close();
    }
    await utimes(path, DATASET_MTIME, DATASET_MTIME);
    files.push({ name: e.name, bytes: e.bytes, sha256: h.digest('hex') });
    totalBytes += e.bytes;
    if (opts.log && plan.length >= 20 && (i + 1) % Math.ceil(plan.length / 4) === 0 && i + 1 < plan.length) {
      opts.log(`dataset: ${i + 1}/${plan.length} files`);
    }
  }
  const manifest = manifestText(files);
  await writeFile(join(dir, 'MANIFEST'), manifest, { mode: 0o644 });
  await utimes(join(dir, 'MANIFEST'), DATASET_MTIME, DATASET_MTIME);
  await utimes(dir, DATASET_MTIME, DATASET_MTIME);
  return { seed: opts.seed, totalBytes, files, manifest };
}
