/**
 * Loads run records from result directories and groups them by configuration:
 * scenario + config_id (absent = the scenario's only configuration) + strategy.
 * Warm-up records (`warmup: true`) are discarded; only completed runs feed statistics, failed
 * ones are counted.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunRecord } from '../runner/record.js';
import { UserError } from '../util/errors.js';

export interface ConfigKey {
  scenario: string;
  /** Absent: the scenario's only configuration. */
  config_id?: string;
  strategy: string;
}

export interface RecordGroup extends ConfigKey {
  /** Completed, non-warm-up runs. */
  completed: RunRecord[];
  /** Failed, non-warm-up runs. */
  failed: number;
  /** Warm-up runs that were discarded. */
  warmups: number;
  /** `params.workload.type` of the group's runs, or the scenario name when absent. */
  workload: string;
}

async function readRecord(path: string): Promise<RunRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as RunRecord;
    return r && typeof r === 'object' && typeof r.scenario === 'string' && typeof r.strategy === 'string' ? r : undefined;
  } catch {
    return undefined; // not a run directory, or a run that never wrote its record
  }
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/**
 * Every run.json in `dir`: the dir itself if it is a run dir, its run dirs (`<run-id>/run.json`),
 * and run dirs one level deeper (a dir of result dirs). Oldest first within each level (run ids
 * start with a timestamp).
 */
async function recordsIn(dir: string): Promise<RunRecord[]> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new UserError(`result directory ${dir} does not exist`, 'give directories written by "pofbench run --out DIR"');
  const own = await readRecord(join(dir, 'run.json'));
  if (own) return [own];
  const out: RunRecord[] = [];
  for (const name of await subdirs(dir)) {
    const r = await readRecord(join(dir, name, 'run.json'));
    if (r) { out.push(r); continue; }
    for (const inner of await subdirs(join(dir, name))) {
      const r2 = await readRecord(join(dir, name, inner, 'run.json'));
      if (r2) out.push(r2);
    }
  }
  return out;
}

/** Records from all `dirs`, each run once (by run_id) even when dirs overlap. */
export async function loadRecords(dirs: readonly string[]): Promise<RunRecord[]> {
  const seen = new Set<string>();
  const out: RunRecord[] = [];
  for (const d of dirs) {
    for (const r of await recordsIn(d)) {
      const id = typeof r.run_id === 'string' ? r.run_id : undefined;
      if (id !== undefined) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      out.push(r);
    }
  }
  if (out.length === 0) throw new UserError(`no run records (run.json) found in ${dirs.join(', ')}`, 'give directories written by "pofbench run --out DIR"');
  return out;
}

/** The configuration key of a record. */
export function configKey(r: RunRecord): ConfigKey {
  const id = typeof r.config_id === 'string' && r.config_id !== '' ? r.config_id : undefined;
  return { scenario: r.scenario, ...(id !== undefined ? { config_id: id } : {}), strategy: r.strategy };
}

/** Workload type of a record: `params.workload.type`, else the scenario name. */
export function workloadOf(r: RunRecord): string {
  const w = (r.params as { workload?: { type?: unknown } } | undefined)?.workload;
  return typeof w?.type === 'string' && w.type !== '' ? w.type : r.scenario;
}

/** `scenario [config_id] / strategy` */
export function configLabel(k: ConfigKey): string {
  return `${k.scenario}${k.config_id !== undefined ? ` [${k.config_id}]` : ''} / ${k.strategy}`;
}

/** Same scenario and config_id (strategy ignored). */
export function sameConfig(a: ConfigKey, b: ConfigKey): boolean {
  return a.scenario === b.scenario && a.config_id === b.config_id;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Orders by scenario, then config_id (absent first; numbers by value), then strategy with `first` ahead of the rest. */
export function compareKeys(a: ConfigKey, b: ConfigKey, first = 'stock'): number {
  return cmp(a.scenario, b.scenario)
    || (a.config_id ?? '').localeCompare(b.config_id ?? '', 'en', { numeric: true })
    || Number(b.strategy === first) - Number(a.strategy === first)
    || cmp(a.strategy, b.strategy);
}

/** Groups records by scenario + config_id + strategy, sorted by compareKeys. */
export function groupRecords(records: readonly RunRecord[], baseline = 'stock'): RecordGroup[] {
  const groups = new Map<string, RecordGroup>();
  for (const r of records) {
    const key = configKey(r);
    const id = JSON.stringify([key.scenario, key.config_id ?? null, key.strategy]);
    let g = groups.get(id);
    if (!g) {
      g = { ...key, completed: [], failed: 0, warmups: 0, workload: workloadOf(r) };
      groups.set(id, g);
    }
    if (r.warmup === true) g.warmups++;
    else if (r.status === 'completed') g.completed.push(r);
    else g.failed++;
  }
  // the workload type as seen by the group's completed runs, when it has some
  for (const g of groups.values()) if (g.completed.length) g.workload = workloadOf(g.completed[0]);
  // a configuration seen only in warm-up runs has nothing to report
  return [...groups.values()].filter((g) => g.completed.length + g.failed > 0).sort((a, b) => compareKeys(a, b, baseline));
}
