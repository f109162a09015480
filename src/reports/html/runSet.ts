import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunRecord } from '../../runner/record.js';
import { UserError } from '../../util/errors.js';

/** One `series/qmp.jsonl` row: `query-migrate` output sampled at 20 Hz, `t` in ms since epoch. */
export interface QmpRow {
  t: number;
  status: string;
  ram?: { transferred: number; remaining: number; mbps: number; 'dirty-sync-count': number; [k: string]: unknown };
  [k: string]: unknown;
}

/** One `series/web.jsonl` row: the web workload's latency over the last 100 ms. */
export interface WebRow {
  t: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  rps: number;
  errors: number;
}

/** What the HTML report reads from one run directory. */
export interface RunData {
  dir: string;
  record: RunRecord;
  qmp: QmpRow[];
  /** Absent when the run has no `series/web.jsonl` (no web workload). */
  web?: WebRow[];
}

/** Parses JSON lines, skipping blank and broken lines (a crash can leave a partial last line). */
export function parseJsonl<T>(text: string, valid: (row: unknown) => row is T): T[] {
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const row: unknown = JSON.parse(line);
      if (valid(row)) out.push(row);
    } catch {
      /* partial line */
    }
  }
  return out;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
export const isQmpRow = (v: unknown): v is QmpRow =>
  isObj(v) && typeof v.t === 'number' && typeof v.status === 'string';
export const isWebRow = (v: unknown): v is WebRow =>
  isObj(v) && typeof v.t === 'number' && typeof v.p50_ms === 'number' && typeof v.p99_ms === 'number';

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // no such file, or a file where a directory was expected
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Reads one run directory; undefined when it has no readable run.json. */
export async function readRunDir(dir: string): Promise<RunData | undefined> {
  const text = await readOptional(join(dir, 'run.json'));
  if (text === undefined) return undefined;
  let record: RunRecord;
  try {
    record = JSON.parse(text) as RunRecord;
  } catch (err) {
    // e.g. a record a crashed runner was writing: named, never skipped silently
    console.error(`warning: ${join(dir, 'run.json')} cannot be read as JSON (${(err as Error).message}): not reported`);
    return undefined;
  }
  if (!isObj(record) || typeof record.run_id !== 'string') {
    console.error(`warning: ${join(dir, 'run.json')} is not a run record (no run_id): not reported`);
    return undefined;
  }
  const qmp = parseJsonl((await readOptional(join(dir, 'series', 'qmp.jsonl'))) ?? '', isQmpRow);
  const webText = await readOptional(join(dir, 'series', 'web.jsonl'));
  return { dir, record, qmp, ...(webText === undefined ? {} : { web: parseJsonl(webText, isWebRow) }) };
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name))
    .sort();
}

/** The runs in `dir`: the dir itself when it is a run dir, its run dirs, or run dirs one level deeper. */
async function runsIn(dir: string): Promise<RunData[]> {
  const self = await readRunDir(dir);
  if (self) return [self];
  const out: RunData[] = [];
  for (const sub of await subdirs(dir)) {
    const run = await readRunDir(sub);
    if (run) out.push(run);
    else
      for (const inner of await subdirs(sub)) {
        const r = await readRunDir(inner);
        if (r) out.push(r);
      }
  }
  return out;
}

/**
 * The runs under each of `dirs` — a run directory (has run.json), a results directory holding run
 * directories, or a directory of results directories (as `pofbench compare` reads them), each run
 * once. A DIR with no run at all is a user error.
 */
export async function loadRunSet(dirs: string[]): Promise<RunData[]> {
  const runs: RunData[] = [];
  for (const dir of dirs) {
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory())
      throw new UserError(`${dir}: no such directory`, 'pass a results directory written by pofbench run (--out)');
    const found = await runsIn(dir);
    if (found.length === 0)
      throw new UserError(
        `no run.json under ${dir}`,
        'pass a results directory written by pofbench run (it holds <run-id>/run.json)',
      );
    runs.push(...found);
  }
  // the same run reached twice (a results dir and one of its run dirs): report it once
  const seen = new Set<string>();
  return runs.filter((r) => !seen.has(r.record.run_id) && Boolean(seen.add(r.record.run_id)));
}
