/**
 * Loads run records from result directories and groups them by configuration:
 * scenario + config_id (absent = the scenario's only configuration) + strategy.
 * Warm-up records (`warmup: true`) are discarded; only completed runs feed statistics, failed
 * ones are counted.
 */
import { stat } from 'node:fs/promises';
import type { RunRecord } from '../results/record.js';
import { scanRuns } from '../results/runReader.js';
import { UserError } from '../util/errors.js';
import { paramsDiff, recordParamsHash } from '../results/params.js';

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

/** Where loading and grouping say what they skipped or kept apart (default: stderr). */
export type Warn = (message: string) => void;
const warned = new Set<string>();
/** Each warning once per process (the report groups the same records for several charts). */
const toStderr: Warn = (m) => {
  if (warned.has(m)) return;
  warned.add(m);
  console.error(`warning: ${m}`);
};

/**
 * Every run.json in `dir` (see scanRuns: the dir itself if it is a run dir, its run dirs, and run dirs
 * one level deeper), oldest first within each level; unreadable ones are named.
 */
async function recordsIn(dir: string, warn: Warn): Promise<RunRecord[]> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory())
    throw new UserError(
      `result directory ${dir} does not exist`,
      'give directories written by "pofbench run --out DIR"',
    );
  const scan = await scanRuns(dir);
  for (const u of scan.unreadable) warn(`${u.file} ${u.reason}: not counted`);
  return scan.runs.map((r) => r.record);
}

/** Records from all `dirs`, each run once (by run_id) even when dirs overlap; unreadable records are named. */
export async function loadRecords(dirs: readonly string[], warn: Warn = toStderr): Promise<RunRecord[]> {
  const seen = new Set<string>();
  const out: RunRecord[] = [];
  for (const d of dirs) {
    for (const r of await recordsIn(d, warn)) {
      if (seen.has(r.run_id)) continue;
      seen.add(r.run_id);
      out.push(r);
    }
  }
  if (out.length === 0)
    throw new UserError(
      `no run records (run.json) found in ${dirs.join(', ')}`,
      'give directories written by "pofbench run --out DIR"',
    );
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

/**
 * Orders by scenario, then config_id (absent first; numbers by value), then strategy with `first` ahead of the rest.
 */
export function compareKeys(a: ConfigKey, b: ConfigKey, first = 'stock'): number {
  return (
    cmp(a.scenario, b.scenario) ||
    (a.config_id ?? '').localeCompare(b.config_id ?? '', 'en', { numeric: true }) ||
    Number(b.strategy === first) - Number(a.strategy === first) ||
    cmp(a.strategy, b.strategy)
  );
}

/** What makes two runs of one scenario and config different experiments. */
interface Variant {
  hash: string;
  qemu: string;
  rev: string;
  params: unknown;
}

/**
 * Runs of one scenario and config that differ in parameters (their hash), QEMU version or pofbench
 * revision are different experiments (e.g. two sessions of one scenario name with other link caps).
 * Unless `pool`, each variant becomes its own configuration: its config_id gains a label naming what
 * differs (`link_cap_mbit=500`, `qemu 10.0.2`, `rev 1a2b3c`), and a warning says so.
 */
function separateVariants(records: readonly RunRecord[], pool: boolean, warn: Warn): RunRecord[] {
  const byConfig = new Map<string, RunRecord[]>();
  for (const r of records) {
    const k = JSON.stringify([r.scenario, configKey(r).config_id ?? null]);
    (byConfig.get(k) ?? byConfig.set(k, []).get(k)!).push(r);
  }
  const out: RunRecord[] = [];
  for (const rs of byConfig.values()) {
    // one hash per record (records from before params_hash have theirs computed from params)
    const hashes = new Map(rs.map((r) => [r, recordParamsHash(r)]));
    const hashOf = (r: RunRecord) => hashes.get(r)!;
    const revOf = (r: RunRecord) => (typeof r.pofbench_rev === 'string' ? r.pofbench_rev : '');
    // a run that failed before QEMU answered has no version: it belongs with the runs of its parameters and revision
    const qemuOf = (r: RunRecord): string => {
      if (typeof r.qemu_version === 'string' && r.qemu_version) return r.qemu_version;
      const seen = new Set(
        rs
          .filter((x) => hashOf(x) === hashOf(r) && revOf(x) === revOf(r) && x.qemu_version)
          .map((x) => x.qemu_version!),
      );
      return seen.size === 1 ? [...seen][0] : '';
    };
    const variants = new Map<string, Variant>();
    const variantOf = new Map<RunRecord, string>();
    // warm-up runs are discarded by every analysis: they never make a variant of their own
    for (const r of [...rs.filter((x) => x.warmup !== true), ...rs.filter((x) => x.warmup === true)]) {
      const v: Variant = { hash: hashOf(r), qemu: qemuOf(r), rev: revOf(r), params: r.params };
      const k = JSON.stringify([v.hash, v.qemu, v.rev]);
      if (!variants.has(k) && r.warmup !== true) variants.set(k, v);
      variantOf.set(r, k);
    }
    if (variants.size < 2) {
      out.push(...rs);
      continue;
    }
    const all = [...variants.values()];
    const ref = all[0];
    const fields = [...new Set(all.flatMap((v) => paramsDiff(ref.params, v.params).map((d) => d.field)))];
    const qemuDiffers = new Set(all.map((v) => v.qemu)).size > 1;
    const revDiffers = new Set(all.map((v) => v.rev)).size > 1;
    const what = [...fields, ...(qemuDiffers ? ['qemu_version'] : []), ...(revDiffers ? ['pofbench_rev'] : [])];
    const name =
      `${rs[0].scenario}` + `${configKey(rs[0]).config_id !== undefined ? ` [${configKey(rs[0]).config_id}]` : ''}`;
    const values = (f: string) =>
      [
        ...new Set(
          all.map((v) => (f === 'qemu_version' ? v.qemu : f === 'pofbench_rev' ? v.rev : valueAt(v.params, f))),
        ),
      ].join(' vs ');
    const detail =
      what.map((f) => `${f} (${values(f)})`).join(', ') || `parameters' hash (${all.map((v) => v.hash).join(' vs ')})`;
    if (pool) {
      warn(`--pool: merging ${rs.length} runs of scenario ${name} that differ in ${detail}`);
      out.push(...rs);
      continue;
    }
    warn(
      `runs of scenario ${name} differ in ${detail}: kept apart as ${variants.size} configurations (--pool ` +
        `merges them)`,
    );
    const labelOf = (v: Variant): string => {
      const parts = fields.map((f) => `${f.replace(/^.*\./, '')}=${valueAt(v.params, f)}`);
      if (qemuDiffers) parts.push(`qemu ${v.qemu || '?'}`);
      if (revDiffers) parts.push(`rev ${v.rev || '?'}`);
      return parts.join(', ') || `params ${v.hash}`;
    };
    for (const r of rs) {
      const v = variants.get(variantOf.get(r)!);
      if (!v) continue; // a warm-up of no measured variant: nothing would ever show it
      const label = labelOf(v);
      const base = configKey(r).config_id;
      out.push({ ...r, config_id: base !== undefined ? `${base}; ${label}` : label });
    }
  }
  return out;
}

/** A parameter's value by dotted path, for labels. */
function valueAt(params: unknown, path: string): string {
  let v: unknown = params;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v === undefined ? '(absent)' : typeof v === 'string' ? v : JSON.stringify(v);
}

export interface GroupOptions {
  /** Merge runs that differ in parameters, QEMU version or revision (with a warning). */
  pool?: boolean;
  warn?: Warn;
}

/**
 * Groups records by scenario + config_id + strategy, sorted by compareKeys. Runs that differ in
 * parameters, QEMU version or pofbench revision are never pooled (see separateVariants).
 */
export function groupRecords(records: readonly RunRecord[], baseline = 'stock', o: GroupOptions = {}): RecordGroup[] {
  const groups = new Map<string, RecordGroup>();
  for (const r of separateVariants(records, o.pool ?? false, o.warn ?? toStderr)) {
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
  return [...groups.values()]
    .filter((g) => g.completed.length + g.failed > 0)
    .sort((a, b) => compareKeys(a, b, baseline));
}
