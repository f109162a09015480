import { readFile, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../results/runDir.js';
import { PRECISION } from './influxPoints.js';

/**
 * Points that could not reach InfluxDB wait in `<run-dir>/influx-spool.lp` (line protocol,
 * millisecond timestamps). Once pushed, the file is renamed to `influx-spool.lp.pushed`, so a
 * later push skips it.
 */
export const SPOOL_FILE = 'influx-spool.lp';
export const PUSHED_FILE = `${SPOOL_FILE}.pushed`;
const PUSH = '`pofbench results push`';
const HEADER = `# pofbench InfluxDB spool: line protocol, precision=${PRECISION}; send with ${PUSH}\n`;

export const spoolPath = (runDir: string) => join(runDir, SPOOL_FILE);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The spooled lines of a run directory (none when it has no spool). */
export async function readSpool(runDir: string): Promise<string[]> {
  const text = await readFile(spoolPath(runDir), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  return text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
}

/** Adds lines to a run directory's spool (atomically; lines already there are not repeated). */
export async function spoolLines(runDir: string, lines: string[]): Promise<void> {
  const have = await readSpool(runDir);
  const seen = new Set(have);
  const all = [...have, ...lines.filter((l) => !seen.has(l))];
  await writeFileAtomic(spoolPath(runDir), `${HEADER}${all.join('\n')}\n`);
}

/** Replaces the spool with what is still unsent, or marks it pushed when nothing is left. */
export async function settleSpool(runDir: string, unsent: string[]): Promise<void> {
  if (unsent.length) await writeFileAtomic(spoolPath(runDir), `${HEADER}${unsent.join('\n')}\n`);
  else await rename(spoolPath(runDir), join(runDir, PUSHED_FILE));
}

/**
 * Run directories with a spool waiting: `dir` itself, its run directories (a session), or the run
 * directories of its sessions (a results root).
 */
export async function findSpooledRuns(dir: string, depth = 2): Promise<string[]> {
  if (await exists(spoolPath(dir))) return [dir];
  if (depth === 0) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries
    .filter((x) => x.isDirectory())
    .map((x) => x.name)
    .sort()) {
    out.push(...(await findSpooledRuns(join(dir, e), depth - 1)));
  }
  return out;
}
