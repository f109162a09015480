/** Synthetic run records for the analysis unit tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunRecord } from '../../src/results/record.js';

let counter = 0;

export interface RecOpts {
  scenario?: string;
  strategy?: string;
  config_id?: string;
  workload?: string | null;
  status?: 'completed' | 'failed';
  warmup?: boolean;
}

/** A record with the given measurements; workload null = no params.workload at all. */
export function rec(o: RecOpts, values: Record<string, number> = {}): RunRecord {
  const scenario = o.scenario ?? 'quick';
  const strategy = o.strategy ?? 'stock';
  const n = counter++;
  const r: RunRecord = {
    run_id: `20240101T0000${String(n).padStart(4, '0')}-${scenario}-${strategy}-r${n}`,
    scenario,
    strategy,
    repeat: n,
    status: o.status ?? 'completed',
    started_at: '2024-01-01T00:00:00Z',
    testbed: 'local',
    src_host: 'src',
    dst_host: 'dst',
    pofbench_rev: 'test',
    params: o.workload === null ? {} : { workload: { type: o.workload ?? 'pagecache' } },
    ...values,
  };
  if (o.config_id !== undefined) r.config_id = o.config_id;
  if (o.warmup) r.warmup = true;
  if (r.status === 'failed') r.error = 'synthetic failure';
  return r;
}

/** One record per value of `field` (other measurements shared). */
export function recs(o: RecOpts, field: string, values: number[], shared: Record<string, number> = {}): RunRecord[] {
  return values.map((v) => rec(o, { ...shared, [field]: v }));
}

const tempDirs: string[] = [];
process.once('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir, removed when the test process exits. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pofb-analysis-test-'));
  tempDirs.push(d);
  return d;
}

/** Writes records as `<dir>/<run-id>/run.json`. */
export function writeRecords(dir: string, records: RunRecord[]): void {
  for (const r of records) {
    mkdirSync(join(dir, r.run_id), { recursive: true });
    writeFileSync(join(dir, r.run_id, 'run.json'), JSON.stringify(r));
  }
}
