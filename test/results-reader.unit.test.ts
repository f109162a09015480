import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecords } from '../src/analysis/group.js';
import { loadRunSet } from '../src/reports/html/runSet.js';
import { readRecords, scanRuns } from '../src/results/runReader.js';
import { countSessionRuns } from '../src/results/session.js';
import { readSeries, readSeriesFile } from '../src/results/series.js';

const root = mkdtempSync(join(tmpdir(), 'pofb-reader-'));
after(() => rmSync(root, { recursive: true, force: true }));

const record = (id: string, extra: Record<string, unknown> = {}) => ({
  run_id: id,
  scenario: 'q',
  strategy: 'stock',
  repeat: 0,
  status: 'completed',
  started_at: '2026-12-01T05:00:00.000Z',
  testbed: 'local',
  src_host: 'src',
  dst_host: 'dst',
  pofbench_rev: 'abc',
  params: {},
  ...extra,
});
const put = (dir: string, text: string) => {
  mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, dir, 'run.json'), text);
};

// a session with a good run, a warm-up, a failed run, a record cut mid-write, one without run_id,
// a directory without run.json (a crashed run), and its series
put('s1/r1', JSON.stringify(record('r1')));
put('s1/r2', JSON.stringify(record('r2', { warmup: true })));
put('s1/r3', JSON.stringify(record('r3', { status: 'failed' })));
put('s1/r4', '{"run_id": "r4", "scen');
put('s1/r5', JSON.stringify({ scenario: 'q', strategy: 'stock' }));
mkdirSync(join(root, 's1', 'r6'));
mkdirSync(join(root, 's1', 'r1', 'series'));
writeFileSync(join(root, 's1', 'r1', 'series', 'qmp.jsonl'), '{"t":1,"status":"active"}\n\n{"t":2,"status"');
const broken = [join(root, 's1', 'r4', 'run.json'), join(root, 's1', 'r5', 'run.json')];

test('one validity rule: every reader keeps the same runs and names the same unreadable run.json', async () => {
  const scan = await scanRuns(root);
  assert.deepEqual(
    scan.runs.map((r) => r.record.run_id),
    ['r1', 'r2', 'r3'],
  );
  assert.deepEqual(
    scan.unreadable.map((u) => u.file),
    broken,
  );
  assert.match(scan.unreadable[0].reason, /^cannot be read as JSON/);
  assert.equal(scan.unreadable[1].reason, 'is not a run record (no run_id)');

  const warnings: string[] = [];
  assert.deepEqual(
    (await loadRecords([root], (m) => warnings.push(m))).map((r) => r.run_id),
    ['r1', 'r2', 'r3'],
  );
  assert.deepEqual(
    warnings,
    scan.unreadable.map((u) => `${u.file} ${u.reason}: not counted`),
  );

  const counted = await countSessionRuns(join(root, 's1'));
  assert.deepEqual(counted, { completed: 1, failed: 1, warmups: 1, unreadable: broken });
  assert.deepEqual(
    (await readRecords(join(root, 's1'))).map((r) => r.run_id),
    ['r1', 'r2', 'r3'],
  );

  const stderr: string[] = [];
  const original = console.error;
  console.error = (m: string) => stderr.push(m);
  try {
    const runs = await loadRunSet([root]);
    assert.deepEqual(
      runs.map((r) => r.record.run_id),
      ['r1', 'r2', 'r3'],
    );
    assert.deepEqual(runs[0].qmp, [{ t: 1, status: 'active' }]);
  } finally {
    console.error = original;
  }
  assert.deepEqual(
    stderr,
    scan.unreadable.map((u) => `warning: ${u.file} ${u.reason}: not reported`),
  );
});

test('series: a missing file is no rows (or undefined), a partial or refused line is skipped', async () => {
  const run = join(root, 's1', 'r1');
  assert.equal(await readSeriesFile(run, 'web'), undefined);
  assert.deepEqual(await readSeries(run, 'web'), []);
  assert.deepEqual(await readSeries(run, 'qmp'), [{ t: 1, status: 'active' }]);
  const isLater = (v: unknown): v is { t: number } => (v as { t: number }).t > 1;
  assert.deepEqual(await readSeries(run, 'qmp', isLater), []);
});
