import { stat } from 'node:fs/promises';
import type { RunRecord } from '../../results/record.js';
import { scanRuns } from '../../results/runReader.js';
import { readSeries, readSeriesFile, type QmpRow, type WebRow } from '../../results/series.js';
import { UserError } from '../../util/errors.js';

/** A `series/web.jsonl` row of a bucket with responses (the latency chart's points). */
export type AnsweredWebRow = WebRow & { p50_ms: number; p99_ms: number };

/** What the HTML report reads from one run directory. */
export interface RunData {
  dir: string;
  record: RunRecord;
  qmp: QmpRow[];
  /** Absent when the run has no `series/web.jsonl` (no web workload). */
  web?: AnsweredWebRow[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isQmpRow = (v: unknown): v is QmpRow => isObj(v) && typeof v.t === 'number' && typeof v.status === 'string';
const isWebRow = (v: unknown): v is AnsweredWebRow =>
  isObj(v) && typeof v.t === 'number' && typeof v.p50_ms === 'number' && typeof v.p99_ms === 'number';

/** A run's record with the series the report draws. */
async function withSeries(dir: string, record: RunRecord): Promise<RunData> {
  const qmp = await readSeries(dir, 'qmp', isQmpRow);
  const web = await readSeriesFile(dir, 'web', isWebRow);
  return { dir, record, qmp, ...(web === undefined ? {} : { web }) };
}

/**
 * The runs under each of `dirs` — a run directory (has run.json), a results directory holding run
 * directories, or a directory of results directories (as `pofbench compare` reads them), each run
 * once. A DIR with no run at all is a user error; an unreadable run.json is named on stderr.
 */
export async function loadRunSet(dirs: string[]): Promise<RunData[]> {
  const runs: RunData[] = [];
  for (const dir of dirs) {
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory())
      throw new UserError(`${dir}: no such directory`, 'pass a results directory written by pofbench run (--out)');
    const scan = await scanRuns(dir);
    for (const u of scan.unreadable) console.error(`warning: ${u.file} ${u.reason}: not reported`);
    if (scan.runs.length === 0)
      throw new UserError(
        `no run.json under ${dir}`,
        'pass a results directory written by pofbench run (it holds <run-id>/run.json)',
      );
    for (const r of scan.runs) runs.push(await withSeries(r.dir, r.record));
  }
  // the same run reached twice (a results dir and one of its run dirs): report it once
  const seen = new Set<string>();
  return runs.filter((r) => !seen.has(r.record.run_id) && Boolean(seen.add(r.record.run_id)));
}
