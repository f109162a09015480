import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../util/exec.js';
import { DATASET_MTIME, writeDataset, type DatasetResult } from './dataset.js';

const MiB = 1024 * 1024;
export const DISK_BLOCK_BYTES = 4096;

/** Free space the data disk keeps beyond the dataset (the guest rewrites files). */
export function wantedFreeBytes(datasetBytes: number): number {
  return Math.max(64 * MiB, Math.ceil(datasetBytes * 0.15));
}

/** A UUID derived from text (so repeated builds give the same filesystem UUID and hash seed). */
export function seededUuid(text: string): string {
  const h = createHash('sha256').update(text).digest();
  h[6] = (h[6] & 0x0f) | 0x40;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

async function freeBytes(image: string): Promise<number> {
  const r = await run('dumpe2fs', ['-h', image]);
  const free = /^Free blocks:\s+(\d+)/m.exec(r.stdout);
  const bs = /^Block size:\s+(\d+)/m.exec(r.stdout);
  if (!free || !bs) throw new Error(`cannot read free space of ${image} from dumpe2fs`);
  return Number(free[1]) * Number(bs[1]);
}

/**
 * mkfs -d copies each inode's ctime from the source file (which cannot be set from userspace):
 * set them to DATASET_MTIME so repeated builds give the same bytes.
 */
async function fixCtimes(image: string, names: string[]): Promise<void> {
  const t = `@${DATASET_MTIME}`;
  const cmds = ['/dataset', '/dataset/MANIFEST', ...names.map((n) => `/dataset/${n}`)]
    .map((p) => `sif ${p} ctime ${t}\n`)
    .join('');
  const r = await execa('debugfs', ['-w', '-f', '-', image], {
    input: cmds,
    reject: false,
    env: { E2FSPROGS_FAKE_TIME: String(DATASET_MTIME) },
  });
  if (r.exitCode !== 0 || /error|not found/i.test(String(r.stderr).replace(/^debugfs \S+ \(.*\)$/m, ''))) {
    throw new Error(
      `debugfs could not set inode times in ${image}: ${String(r.stderr).trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
}

/**
 * A fresh `size`-byte ext4 in `outFile` holding `root`, made reproducible: UUID and hash seed derived
 * from `label`, times faked to DATASET_MTIME.
 */
async function makeExt4(outFile: string, size: number, root: string, label: string): Promise<void> {
  await rm(outFile, { force: true });
  await writeFile(outFile, '');
  await truncate(outFile, size);
  const mk = await execa(
    'mkfs.ext4',
    [
      '-F',
      '-q',
      '-b',
      String(DISK_BLOCK_BYTES),
      '-m',
      '0',
      '-T',
      'default',
      '-L',
      'pofdata',
      '-U',
      seededUuid(`${label}\0uuid`),
      '-E',
      `hash_seed=${seededUuid(`${label}\0hash`)},lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0`,
      '-d',
      root,
      outFile,
    ],
    { env: { E2FSPROGS_FAKE_TIME: String(DATASET_MTIME) }, reject: false, stdin: 'ignore' },
  );
  if (mk.exitCode !== 0)
    throw new Error(
      `mkfs.ext4 failed (exit ${mk.exitCode ?? mk.signal}): ${String(mk.stderr || mk.stdout || mk.message)
        .trim()
        .split('\n')
        .slice(-3)
        .join(' | ')}`,
    );
}

/** e2fsck -fn must find the new disk clean. */
async function checkExt4(outFile: string): Promise<void> {
  const fsck = await execa('e2fsck', ['-fn', outFile], { reject: false, stdin: 'ignore' });
  if (fsck.exitCode !== 0)
    throw new Error(
      `e2fsck found problems in the new data disk ${outFile}: ` +
        `${String(fsck.stdout).trim().split('\n').slice(-3).join(' | ')}`,
    );
}

/**
 * Builds the raw ext4 data disk `outFile` holding /dataset (generated in `workDir`, removed after).
 * Size: dataset + max(64 MiB, 15 %) free + filesystem overhead, rounded to MiB; checked with
 * dumpe2fs and grown if the free space came out short.
 */
export async function buildDataDisk(opts: {
  outFile: string;
  workDir: string;
  datasetMib: number;
  seed: string;
  log: (line: string) => void;
}): Promise<{ bytes: number; freeBytes: number; dataset: DatasetResult }> {
  const root = join(opts.workDir, 'root');
  const dsDir = join(root, 'dataset');
  await rm(opts.workDir, { recursive: true, force: true });
  await mkdir(dsDir, { recursive: true });
  try {
    let t = Date.now();
    const dataset = await writeDataset(dsDir, { datasetMib: opts.datasetMib, seed: opts.seed, log: opts.log });
    await utimes(root, DATASET_MTIME, DATASET_MTIME);
    opts.log(
      `dataset: ${dataset.files.length} files, ${(dataset.totalBytes / MiB).toFixed(0)} MiB generated in ` +
        `${((Date.now() - t) / 1000).toFixed(1)} s`,
    );

    const want = wantedFreeBytes(dataset.totalBytes);
    const label = `pofbench-data-v1\0${opts.datasetMib}\0${opts.seed}`;
    let size = dataset.totalBytes + want + Math.ceil(dataset.totalBytes * 0.03) + 16 * MiB;
    for (let attempt = 1; ; attempt++) {
      size = Math.ceil(size / MiB) * MiB;
      t = Date.now();
      await makeExt4(opts.outFile, size, root, label);
      await fixCtimes(
        opts.outFile,
        dataset.files.map((f) => f.name),
      );
      await checkExt4(opts.outFile);
      const free = await freeBytes(opts.outFile);
      opts.log(
        `data disk: ${(size / MiB).toFixed(0)} MiB ext4, ${(free / MiB).toFixed(0)} MiB free (want ≥ ` +
          `${(want / MiB).toFixed(0)}), mkfs ${((Date.now() - t) / 1000).toFixed(1)} s`,
      );
      if (free >= want) return { bytes: (await stat(opts.outFile)).size, freeBytes: free, dataset };
      if (attempt >= 3)
        throw new Error(`data disk ${opts.outFile} has only ${free} bytes free after ${attempt} attempts`);
      size += want - free + 4 * MiB;
    }
  } finally {
    await rm(opts.workDir, { recursive: true, force: true });
  }
}
