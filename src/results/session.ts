/**
 * A session: one `pofbench run`. Its directory `<out>/<session-id>/` holds `session.json` (this
 * manifest: what was run, where, with which seed and revision, how it ended) and one directory per
 * run (`<run-id>/run.json`, series, logs).
 */
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { timestampId } from '../scenario/runId.js';
import { writeFileAtomic } from './runDir.js';
import { scanRunDirs } from './runReader.js';
import { UserError } from '../util/errors.js';

export const SESSION_FILE = 'session.json';

export type SessionStatus = 'running' | 'completed' | 'failed' | 'interrupted';

/** One configuration as run: its parameters and their hash (what `--resume` and the analyses match on). */
export interface SessionScenario {
  name: string;
  file: string;
  config_id?: string;
  strategies: string[];
  repeat: number;
  params_hash: string;
  params: Record<string, unknown>;
}

export interface SessionManifest {
  session_id: string;
  status: SessionStatus;
  started_at: string;
  ended_at?: string;
  /** The shuffled run order's seed (`--seed` reproduces it). */
  seed: number;
  /** `pofbench run …` as typed (argv after node). */
  command_line: string[];
  pofbench_rev: string;
  /** The testbed kind (local, file), accelerator, source and destination RAM backing; each host pair used. */
  testbed: {
    kind: string;
    accel: string;
    source_ram?: string;
    destination_ram?: string;
    pairs: { pair?: string; src: string; dst: string; nas: string }[];
  };
  /** QEMU version per source host, as the runs' QMP reported it (preflight refuses mismatched pairs). */
  qemu_versions: Record<string, string>;
  scenarios: SessionScenario[];
  /** Runs the last invocation planned; the session's runs on disk by how they ended (warm-ups apart). */
  runs: { planned: number; completed: number; failed: number; warmups: number; unreadable?: string[] };
  /** Earlier invocations of `--resume` on this session (their start times). */
  resumed_at?: string[];
}

/** `20261201T053012-quick` (+`-2`, `-3` … when that directory exists): a new session directory under `root`. */
export async function createSessionDir(
  root: string,
  scenarioNames: readonly string[],
): Promise<{ id: string; dir: string }> {
  const names = [...new Set(scenarioNames)];
  const base = `${timestampId()}-${names[0] ?? 'session'}${names.length > 1 ? `+${names.length - 1}` : ''}`;
  await mkdir(root, { recursive: true });
  for (let n = 1; ; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    const dir = join(resolve(root), id);
    try {
      await mkdir(dir);
      return { id, dir };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) throw err;
    }
  }
}

export async function writeSession(dir: string, m: SessionManifest): Promise<void> {
  await writeFileAtomic(join(dir, SESSION_FILE), `${JSON.stringify(m, null, 2)}\n`);
}

/** The manifest of session directory `dir`; a clear error when it is none. */
export async function readSession(dir: string): Promise<SessionManifest> {
  const file = join(dir, SESSION_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    const st = await stat(dir).catch(() => undefined);
    throw new UserError(
      st?.isDirectory()
        ? `${dir} is not a session directory (no ${SESSION_FILE})`
        : `no such session directory: ${dir}`,
      'give a session directory written by "pofbench run" (see "pofbench results list")',
    );
  }
  try {
    const m = JSON.parse(text) as SessionManifest;
    if (!m || typeof m !== 'object' || typeof m.session_id !== 'string') throw new Error('no session_id');
    return m;
  } catch (err) {
    throw new UserError(`${file} is not a valid session manifest: ${(err as Error).message}`);
  }
}

/** A session found under a results root, with its runs counted from their run.json files. */
export interface SessionSummary {
  dir: string;
  manifest?: SessionManifest;
  /** Why the manifest could not be read (the directory has run dirs but no readable session.json). */
  problem?: string;
  completed: number;
  failed: number;
  warmups: number;
  /** run.json files that exist but are no run record (see runRecordProblem). */
  unreadable: string[];
}

/** Counts the runs of one directory (its `<run-id>/run.json`; unreadable ones are listed). */
export async function countSessionRuns(dir: string): Promise<Omit<SessionSummary, 'dir' | 'manifest' | 'problem'>> {
  const scan = await scanRunDirs(dir);
  const out = { completed: 0, failed: 0, warmups: 0, unreadable: scan.unreadable.map((u) => u.file) };
  for (const { record: r } of scan.runs) {
    if (r.warmup === true) out.warmups++;
    else if (r.status === 'completed') out.completed++;
    else out.failed++;
  }
  return out;
}

/** The sessions under `root` (directories with a session.json, or run dirs of an older flat layout), oldest first. */
export async function listSessions(root: string): Promise<SessionSummary[]> {
  const st = await stat(root).catch(() => undefined);
  if (!st?.isDirectory())
    throw new UserError(
      `no such results directory: ${root}`,
      'give the --out directory of "pofbench run" (default: results)',
    );
  const out: SessionSummary[] = [];
  const entries = (await readdir(root, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  for (const name of entries) {
    const dir = join(root, name);
    const hasManifest = await stat(join(dir, SESSION_FILE)).then(
      () => true,
      () => false,
    );
    if (!hasManifest) continue;
    let manifest: SessionManifest | undefined;
    let problem: string | undefined;
    try {
      manifest = await readSession(dir);
    } catch (err) {
      problem = (err as Error).message;
    }
    out.push({ dir, manifest, problem, ...(await countSessionRuns(dir)) });
  }
  // runs written straight into the root (before sessions existed)
  const flat = await countSessionRuns(root);
  if (flat.completed + flat.failed + flat.warmups + flat.unreadable.length > 0) {
    out.push({ dir: root, problem: 'runs outside any session (written before sessions existed)', ...flat });
  }
  return out;
}
