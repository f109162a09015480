/**
 * Reads run directories (`<run-id>/run.json`): the one reader every command uses (analyses, the
 * HTML report, session counts, --resume), with one rule for what counts as a run record. A run.json
 * that exists but fails the rule is reported as unreadable (callers name it), never skipped silently.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RUN_FILE, type RunRecord } from './record.js';

/** A run directory and its record. */
export interface FoundRun {
  dir: string;
  record: RunRecord;
}

/** A run.json that exists but is not a run record, and why (`cannot be read as JSON (...)`, ...). */
export interface UnreadableRun {
  file: string;
  reason: string;
}

export type RunRead = { record: RunRecord } | { unreadable: UnreadableRun } | undefined;

const REQUIRED = ['run_id', 'scenario', 'strategy'] as const;

/** The rule: a JSON object with string run_id, scenario and strategy. Undefined when `v` passes, else why not. */
export function runRecordProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'is not a run record (not a JSON object)';
  const missing = REQUIRED.filter((k) => typeof (v as Record<string, unknown>)[k] !== 'string');
  return missing.length ? `is not a run record (no ${missing.join(', ')})` : undefined;
}

/** The record of run directory `dir`; undefined when it has no run.json (not a run directory). */
export async function readRunRecord(dir: string): Promise<RunRead> {
  const file = join(dir, RUN_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // no such file, or a file where a directory was expected
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    return { unreadable: { file, reason: `cannot be read (${(err as Error).message})` } };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // e.g. a record a crashed runner was writing
    return { unreadable: { file, reason: `cannot be read as JSON (${(err as Error).message})` } };
  }
  const problem = runRecordProblem(value);
  return problem ? { unreadable: { file, reason: problem } } : { record: value as RunRecord };
}

/** What a directory holds: its runs in directory-name order (run ids start with a timestamp), and the unreadable. */
export interface RunScan {
  runs: FoundRun[];
  unreadable: UnreadableRun[];
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name))
    .sort();
}

function add(scan: RunScan, dir: string, read: RunRead): boolean {
  if (read && 'record' in read) scan.runs.push({ dir, record: read.record });
  else if (read) scan.unreadable.push(read.unreadable);
  return read !== undefined && 'record' in read;
}

/** The run directories directly under `dir` (a session directory, or a results directory of the flat layout). */
export async function scanRunDirs(dir: string): Promise<RunScan> {
  const scan: RunScan = { runs: [], unreadable: [] };
  for (const sub of await subdirs(dir)) add(scan, sub, await readRunRecord(sub));
  return scan;
}

/**
 * Every run in `dir`, as the analyses and the report read what they are given: `dir` itself when it
 * is a run directory, else its run directories, and the run directories one level deeper under those
 * subdirectories that are no run (a results root of sessions, or a directory of results directories).
 */
export async function scanRuns(dir: string): Promise<RunScan> {
  const scan: RunScan = { runs: [], unreadable: [] };
  if (add(scan, dir, await readRunRecord(dir))) return scan;
  for (const sub of await subdirs(dir)) {
    if (add(scan, sub, await readRunRecord(sub))) continue;
    for (const inner of await subdirs(sub)) add(scan, inner, await readRunRecord(inner));
  }
  return scan;
}

/** The records of the run directories directly under `dir`, oldest first (unreadable ones left out). */
export async function readRecords(dir: string): Promise<RunRecord[]> {
  return (await scanRunDirs(dir)).runs.map((r) => r.record);
}
