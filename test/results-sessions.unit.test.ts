import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupRecords, loadRecords } from '../src/analysis/group.js';
import { compareGroups } from '../src/analysis/compare.js';
import { paramsHash, paramsDiff, runParams } from '../src/results/params.js';
import {
  createSessionDir,
  listSessions,
  readSession,
  writeSession,
  type SessionManifest,
} from '../src/results/session.js';
import { assertSameParams } from '../src/plan/resume.js';
import { parseScenarios } from '../src/scenario/load.js';
import type { RunRecord } from '../src/results/record.js';

const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'pofb-sessions-'));
  temps.push(d);
  return d;
};

const params = (cap: number) => ({
  memory_mib: 256,
  vcpus: 1,
  accel: 'tcg',
  link_cap_mbit: cap,
  downtime_limit_ms: 300,
  workload: { type: 'pagecache', dataset_mib: 64 },
  image_id: 'img1',
});

function rec(id: string, strategy: string, cap: number, total: number, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    run_id: id,
    scenario: 'q',
    strategy,
    repeat: 0,
    warmup: false,
    status: 'completed',
    started_at: '2026-12-01T00:00:00Z',
    testbed: 'local',
    src_host: 'pofb-src',
    dst_host: 'pofb-dst',
    pofbench_rev: 'abc',
    qemu_version: '10.0.2',
    params: params(cap),
    params_hash: paramsHash(params(cap)),
    total_time_ms: total,
    ...extra,
  } as RunRecord;
}

test('params hash: key order does not matter, values do; diffs name the leaf', () => {
  assert.equal(paramsHash({ a: 1, b: { c: 2, d: 3 } }), paramsHash({ b: { d: 3, c: 2 }, a: 1 }));
  assert.notEqual(paramsHash(params(1000)), paramsHash(params(500)));
  assert.deepEqual(paramsDiff(params(1000), params(500)), [{ field: 'link_cap_mbit', a: '1000', b: '500' }]);
  assert.deepEqual(
    paramsDiff({ workload: { dataset_mib: 64 } }, { workload: { dataset_mib: 128 } }).map((d) => d.field),
    ['workload.dataset_mib'],
  );
});

test(
  'two sessions of one scenario with different link caps are never pooled: kept apart, named, and --pool merges ' +
    'with a warning',
  () => {
    const records = [
      rec('a-stock', 'stock', 1000, 2000),
      rec('a-pof', 'pof', 1000, 2500),
      rec('b-stock', 'stock', 500, 4000),
      rec('b-pof', 'pof', 500, 3000),
    ];
    const warnings: string[] = [];
    const groups = groupRecords(records, 'stock', { warn: (m) => warnings.push(m) });
    assert.equal(groups.length, 4, groups.map((g) => `${g.config_id}/${g.strategy}`).join(' '));
    for (const g of groups)
      assert.equal(g.completed.length, 1, `${g.config_id} / ${g.strategy}: one run each, never two pooled`);
    assert.deepEqual([...new Set(groups.map((g) => g.config_id))].sort(), ['link_cap_mbit=1000', 'link_cap_mbit=500']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /scenario q differ in link_cap_mbit \(1000 vs 500\): kept apart/);
    // stock and pof of one session are compared with each other, not across sessions
    const c = compareGroups(groups, { fields: ['total_time_ms'], baseline: 'stock', seed: 1, resamples: 200 });
    const change = (cfg: string) => c.changes.find((x) => x.config_id === cfg && x.field === 'total_time_ms')!;
    assert.equal(
      Math.round(change('link_cap_mbit=1000').change! * 100),
      25,
      'pof 2500 vs stock 2000 of the same session',
    );
    assert.equal(
      Math.round(change('link_cap_mbit=500').change! * 100),
      -25,
      'pof 3000 vs stock 4000 of the same session',
    );

    const pooledWarnings: string[] = [];
    const pooled = groupRecords(records, 'stock', { pool: true, warn: (m) => pooledWarnings.push(m) });
    assert.equal(pooled.length, 2);
    assert.equal(pooled.find((g) => g.strategy === 'stock')!.completed.length, 2);
    assert.match(pooledWarnings[0], /--pool: merging 4 runs of scenario q that differ in link_cap_mbit/);
  },
);

test(
  'runs that differ in QEMU version or revision are kept apart; a failed run without a version stays ' + 'with its own',
  () => {
    const records = [
      rec('a', 'stock', 1000, 2000),
      rec('b', 'stock', 1000, 2100, { qemu_version: '10.1.0' }),
      rec('c', 'stock', 1000, 2200, { pofbench_rev: 'def' }),
      // failed before QEMU answered: no version; the only QEMU of its parameters and revision is 10.0.2
      rec('d', 'pof', 1000, 0, { status: 'failed', qemu_version: undefined, pofbench_rev: 'def' }),
    ];
    const warnings: string[] = [];
    const groups = groupRecords(records, 'stock', { warn: (m) => warnings.push(m) });
    const ids = groups.map((g) => `${g.config_id}/${g.strategy}`).sort();
    assert.deepEqual(ids, [
      'qemu 10.0.2, rev abc/stock',
      'qemu 10.0.2, rev def/pof',
      'qemu 10.0.2, rev def/stock',
      'qemu 10.1.0, rev abc/stock',
    ]);
    assert.match(warnings[0], /qemu_version \(10\.0\.2 vs 10\.1\.0\), pofbench_rev \(abc vs def\)/);
    assert.equal(groups.find((g) => g.strategy === 'pof')!.failed, 1);
  },
);

test('an unreadable run.json is named, never skipped silently; a duplicate run counts once', async () => {
  const root = tempDir();
  for (const [sess, id] of [
    ['s1', 'r1'],
    ['s2', 'r1'],
    ['s2', 'r2'],
  ]) {
    mkdirSync(join(root, sess, id), { recursive: true });
    writeFileSync(join(root, sess, id, 'run.json'), JSON.stringify(rec(id, 'stock', 1000, 2000)));
  }
  mkdirSync(join(root, 's2', 'r3'));
  writeFileSync(join(root, 's2', 'r3', 'run.json'), '{"scenario": "q", "strat');
  const warnings: string[] = [];
  const records = await loadRecords([root], (m) => warnings.push(m));
  assert.deepEqual(records.map((r) => r.run_id).sort(), ['r1', 'r2'], 'r1 twice (in two sessions) counts once');
  assert.equal(warnings.length, 1);
  assert.ok(warnings[0].includes(join(root, 's2', 'r3', 'run.json')) && /not counted/.test(warnings[0]), warnings[0]);
});

test('--resume with changed parameters is refused naming the field; the same parameters pass', () => {
  const [s1000] = parseScenarios('name: q\nguest: { memory_mib: 256 }\nmigration: { link_cap_mbit: 1000 }\n', 'q.yaml');
  const [s500] = parseScenarios('name: q\nguest: { memory_mib: 256 }\nmigration: { link_cap_mbit: 500 }\n', 'q.yaml');
  const p = runParams(s1000, { accel: 'tcg' }, 'img1');
  const done = [{ scenario: 'q', strategy: 'stock', repeat: 0, params: p, params_hash: paramsHash(p) }];
  assert.doesNotThrow(() => assertSameParams(done, [s1000], { accel: 'tcg' }, 'img1'));
  assert.throws(
    () => assertSameParams(done, [s500], { accel: 'tcg' }, 'img1'),
    /--resume: scenario q was run in this session with other parameters: link_cap_mbit 1000 \(session\) vs 500 \(now\)/,
  );
  assert.throws(
    () => assertSameParams(done, [s1000], { accel: 'tcg' }, 'img2'),
    /image_id "img1" \(session\) vs "img2" \(now\)/,
  );
  // RAM the destination backs on demand is what runs before the setting had: same hash; prealloc differs
  const onDemand = { accel: 'tcg', destinationRam: 'on-demand' } as const;
  assert.equal(paramsHash(runParams(s1000, onDemand, 'img1')), paramsHash(p));
  assert.doesNotThrow(() => assertSameParams(done, [s1000], onDemand, 'img1'));
  assert.throws(
    () => assertSameParams(done, [s1000], { accel: 'tcg', destinationRam: 'prealloc' }, 'img1'),
    /destination_ram \(absent\) \(session\) vs "prealloc" \(now\)/,
  );
  // the same for the source's RAM, each setting its own field
  const bothOnDemand = { ...onDemand, sourceRam: 'on-demand' } as const;
  assert.equal(paramsHash(runParams(s1000, bothOnDemand, 'img1')), paramsHash(p));
  const srcPre = runParams(s1000, { ...bothOnDemand, sourceRam: 'prealloc' }, 'img1');
  assert.equal(srcPre.source_ram, 'prealloc');
  assert.equal(srcPre.destination_ram, undefined);
  assert.notEqual(paramsHash(srcPre), paramsHash(p));
  assert.notEqual(
    paramsHash(srcPre),
    paramsHash(runParams(s1000, { accel: 'tcg', destinationRam: 'prealloc' }, 'img1')),
  );
  assert.throws(
    () => assertSameParams(done, [s1000], { accel: 'tcg', sourceRam: 'prealloc' }, 'img1'),
    /source_ram \(absent\) \(session\) vs "prealloc" \(now\)/,
  );
  const preDone = [{ ...done[0], params: srcPre, params_hash: paramsHash(srcPre) }];
  assert.doesNotThrow(() => assertSameParams(preDone, [s1000], { accel: 'tcg', sourceRam: 'prealloc' }, 'img1'));
  assert.throws(
    () => assertSameParams(preDone, [s1000], bothOnDemand, 'img1'),
    /source_ram "prealloc" \(session\) vs \(absent\) \(now\)/,
  );
});

test('sessions: a directory per session with its manifest; results list counts its runs', async () => {
  const root = tempDir();
  const a = await createSessionDir(root, ['quick', 'idle']);
  const b = await createSessionDir(root, ['quick']);
  assert.match(a.id, /^\d{8}T\d{6}-quick\+1$/);
  assert.notEqual(a.dir, b.dir, 'two sessions in the same second get two directories');
  const m: SessionManifest = {
    session_id: a.id,
    status: 'completed',
    started_at: '2026-12-01T05:00:00.000Z',
    seed: 7,
    command_line: ['run', 'q.yaml'],
    pofbench_rev: 'abc',
    testbed: { kind: 'local', accel: 'tcg', pairs: [{ src: 'pofb-src', dst: 'pofb-dst', nas: 'pofb-nas' }] },
    qemu_versions: { 'pofb-src': '10.0.2' },
    scenarios: [],
    runs: { planned: 2, completed: 1, failed: 1, warmups: 0 },
  };
  await writeSession(a.dir, m);
  await writeSession(b.dir, { ...m, session_id: b.id, status: 'interrupted' });
  for (const [id, status] of [
    ['r1', 'completed'],
    ['r2', 'failed'],
  ]) {
    mkdirSync(join(a.dir, id));
    writeFileSync(
      join(a.dir, id, 'run.json'),
      JSON.stringify(rec(id, 'stock', 1000, 1, { status: status as 'completed' })),
    );
  }
  assert.equal((await readSession(a.dir)).seed, 7);
  await assert.rejects(readSession(root), /is not a session directory \(no session\.json\)/);
  const list = await listSessions(root);
  assert.equal(list.length, 2);
  const sa = list.find((s) => s.dir === a.dir)!;
  assert.deepEqual([sa.completed, sa.failed, sa.manifest?.status], [1, 1, 'completed']);
  assert.equal(list.find((s) => s.dir === b.dir)!.manifest?.status, 'interrupted');
});
