import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunRecord } from '../src/results/record.js';
import { loadRunSet, type RunData } from '../src/reports/html/runSet.js';
import {
  downtimePoints,
  groupName,
  linkBars,
  paretoPoints,
  progressPoints,
  reportGroups,
  webPoints,
} from '../src/reports/html/chartData.js';
import { runSetInfo } from '../src/reports/html/summary.js';
import { reportSummary } from '../src/reports/html/groupSummary.js';
import { thin } from '../src/reports/html/stats.js';
import { UserError } from '../src/util/errors.js';

const MiB = 1024 * 1024;
const T0 = Date.parse('2025-03-01T10:00:00Z');

function record(over: Partial<RunRecord> & Pick<RunRecord, 'run_id' | 'strategy'>): RunRecord {
  return {
    scenario: 'anon',
    repeat: 0,
    status: 'completed',
    started_at: '2025-03-01T09:59:00.000Z',
    testbed: 'local',
    src_host: 'pofb-src',
    dst_host: 'pofb-dst',
    qemu_version: '7.2.15',
    pofbench_rev: 'abc1234',
    params: { memory_mib: 512, link_cap_mbit: 1000, workload: { type: 'anon', size_mib: 256 } },
    ...over,
  };
}

const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

async function writeRun(root: string, rec: RunRecord, series: Record<string, string>): Promise<void> {
  const dir = join(root, rec.run_id.includes('-w') ? 'batch2' : '', rec.run_id);
  await mkdir(join(dir, 'series'), { recursive: true });
  await writeFile(join(dir, 'run.json'), JSON.stringify(rec, null, 2));
  for (const [name, text] of Object.entries(series)) await writeFile(join(dir, 'series', `${name}.jsonl`), text);
}

const qmpRow = (t: number, status: string, transferredMiB: number, remainingMiB: number, pass: number) => ({
  t,
  status,
  'total-time': t - T0,
  ram: {
    transferred: transferredMiB * MiB,
    remaining: remainingMiB * MiB,
    total: 512 * MiB,
    mbps: 940.2,
    'dirty-sync-count': pass,
    normal: 0,
    duplicate: 0,
  },
});

let root: string;
let runs: RunData[];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'pofb-report-data-'));
  // stock r0: 4 QMP samples (the first is `setup` without ram), a web series, host counters, probe replies
  await writeRun(
    root,
    record({
      run_id: 'r-anon-stock-r0',
      strategy: 'stock',
      total_time_ms: 6000,
      downtime_ms: 120,
      app_downtime_ms: 180,
      passes: 3,
      migration_link_bytes: 600 * MiB,
      storage_link_bytes: 2 * MiB,
      qmp_transferred_bytes: 590 * MiB,
      src_qemu_cpu_s: 4.5,
    }),
    {
      qmp: `${jsonl([
        { t: T0, status: 'setup' },
        qmpRow(T0 + 50, 'active', 5, 507, 1),
        qmpRow(T0 + 3050, 'active', 300, 212, 1),
        qmpRow(T0 + 6000, 'completed', 590, 0, 3),
      ])}{"t": 1740823206050, "status": "compl`, // a partial last line (crash)
      web: jsonl([
        { t: T0 - 1000, p50_ms: 1.2, p99_ms: 3.4, max_ms: 5, rps: 400, errors: 0 },
        { t: T0 + 5900, p50_ms: 2, p99_ms: 150, max_ms: 180, rps: 120, errors: 1 },
      ]),
      'host-src': jsonl([{ t: T0, nic: { mig0: [0, 0], sto0: [0, 0] }, cpu: { 1234: 10 } }]),
      probe: jsonl([{ t: T0, seq: 1, rttMs: 0.2 }]),
    },
  );
  // stock r1: no web series
  await writeRun(
    root,
    record({
      run_id: 'r-anon-stock-r1',
      strategy: 'stock',
      repeat: 1,
      total_time_ms: 7000,
      downtime_ms: 140,
      app_downtime_ms: 220,
      passes: 4,
      migration_link_bytes: 640 * MiB,
      storage_link_bytes: 4 * MiB,
      qmp_transferred_bytes: 630 * MiB,
      src_qemu_cpu_s: 5.5,
    }),
    { qmp: jsonl([qmpRow(T0 + 60000, 'active', 1, 511, 1), qmpRow(T0 + 67000, 'completed', 630, 0, 4)]) },
  );
  // pof r0: fewer migration-link bytes, more storage bytes, faster
  await writeRun(
    root,
    record({
      run_id: 'r-anon-pof-r0',
      strategy: 'pof',
      total_time_ms: 3000,
      downtime_ms: 90,
      app_downtime_ms: 150,
      passes: 2,
      migration_link_bytes: 100 * MiB,
      storage_link_bytes: 300 * MiB,
      qmp_transferred_bytes: 580 * MiB,
      src_qemu_cpu_s: 6,
    }),
    { qmp: jsonl([qmpRow(T0 + 120000, 'active', 2, 510, 1), qmpRow(T0 + 123000, 'completed', 580, 0, 2)]) },
  );
  // pof r1: failed (timeout), with a QMP series that never converged and no measurements
  await writeRun(
    root,
    record({
      run_id: 'r-anon-pof-r1',
      strategy: 'pof',
      repeat: 1,
      status: 'failed',
      error: 'migration did not complete within migration.timeout_s=300 s',
    }),
    { qmp: jsonl([qmpRow(T0 + 200000, 'active', 2, 510, 1), qmpRow(T0 + 500000, 'cancelling', 9000, 300, 40)]) },
  );
  // a warm-up run (in a nested results dir), of another QEMU and revision: counted, never drawn
  await writeRun(
    root,
    record({
      run_id: 'r-anon-stock-w0',
      strategy: 'stock',
      warmup: true,
      qemu_version: '8.2.0',
      pofbench_rev: 'def5678',
      total_time_ms: 99000,
      downtime_ms: 9999,
      app_downtime_ms: 9999,
      migration_link_bytes: 9999 * MiB,
      storage_link_bytes: 9999 * MiB,
    }),
    {
      qmp: jsonl([qmpRow(T0 - 60000, 'completed', 512, 0, 1)]),
      web: jsonl([{ t: T0 - 60000, p50_ms: 1, p99_ms: 2, max_ms: 3, rps: 1, errors: 0 }]),
    },
  );
  // a second scenario swept over two link caps (two configurations)
  for (const [i, cap, time, bytes] of [
    [0, 500, 9000, 700],
    [1, 1000, 5000, 720],
  ] as const) {
    await writeRun(
      root,
      record({
        run_id: `r-idle-pof-r${i}`,
        scenario: 'idle',
        config_id: `link_cap_mbit=${cap}`,
        strategy: 'pof',
        repeat: i,
        total_time_ms: time,
        migration_link_bytes: bytes * MiB,
        params: { memory_mib: 512, link_cap_mbit: cap, workload: { type: 'idle' } },
      }),
      {},
    );
  }
  await mkdir(join(root, 'not-a-run'));
  await writeFile(join(root, 'README.md'), 'not a run\n');
  runs = await loadRunSet([root]);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const byId = (id: string) => runs.find((r) => r.record.run_id === id)!;

test('loadRunSet finds every run directory (one level deeper too), once, with its series', async () => {
  assert.deepEqual(
    runs.map((r) => r.record.run_id),
    [
      'r-anon-stock-w0',
      'r-anon-pof-r0',
      'r-anon-pof-r1',
      'r-anon-stock-r0',
      'r-anon-stock-r1',
      'r-idle-pof-r0',
      'r-idle-pof-r1',
    ],
  );
  assert.equal(byId('r-anon-stock-r0').qmp.length, 4, 'the partial last line is skipped');
  assert.equal(byId('r-anon-stock-r0').web?.length, 2);
  assert.equal(byId('r-anon-stock-r1').web, undefined, 'no web.jsonl: no web series');
  // a run directory itself, and the same run reached twice, count once
  const again = await loadRunSet([root, join(root, 'r-anon-pof-r0')]);
  assert.equal(again.length, 7);
  const one = await loadRunSet([join(root, 'r-anon-pof-r0')]);
  assert.deepEqual(
    one.map((r) => r.record.run_id),
    ['r-anon-pof-r0'],
  );
});

test('loadRunSet: a directory without runs, or no directory, is a one-line user error', async () => {
  await assert.rejects(
    loadRunSet([join(root, 'not-a-run')]),
    (err: unknown) =>
      err instanceof UserError &&
      err.message === `no run.json under ${join(root, 'not-a-run')}` &&
      !err.message.includes('\n'),
  );
  await assert.rejects(
    loadRunSet([join(root, 'missing')]),
    (err: unknown) => err instanceof UserError && /no such directory/.test(err.message),
  );
});

test('progress: seconds since the first QMP sample, MiB, samples without ram skipped', () => {
  const pts = progressPoints(runs).filter((p) => p.run_id === 'r-anon-stock-r0');
  assert.deepEqual(
    pts.map((p) => [p.t_s, p.remaining_mib, p.transferred_mib, p.pass]),
    [
      [0.05, 507, 5, 1],
      [3.05, 212, 300, 1],
      [6, 0, 590, 3],
    ],
  );
  assert.ok(pts.every((p) => p.strategy === 'stock' && p.scenario === 'anon' && p.status === 'completed'));
  const failed = progressPoints(runs).filter((p) => p.run_id === 'r-anon-pof-r1');
  assert.deepEqual(
    failed.map((p) => [p.t_s, p.status]),
    [
      [0, 'failed'],
      [300, 'failed'],
    ],
    'failed runs keep their progress',
  );
  assert.equal(progressPoints(runs).filter((p) => p.scenario === 'idle').length, 0, 'no qmp.jsonl: no points');
  assert.equal(progressPoints(runs, 2).filter((p) => p.run_id === 'r-anon-stock-r0').length, 2, 'thinned per run');
  assert.ok(!progressPoints(runs).some((p) => p.run_id === 'r-anon-stock-w0'), 'warm-up runs are not drawn');
});

test('link bytes: medians per configuration group over completed, non-warm-up runs', () => {
  const bars = linkBars(runs).filter((b) => b.scenario === 'anon');
  assert.deepEqual(bars, [
    { scenario: 'anon', strategy: 'stock', group: 'stock', link: 'migration link', median_mib: 620, n: 2 },
    { scenario: 'anon', strategy: 'stock', group: 'stock', link: 'storage link', median_mib: 3, n: 2 },
    { scenario: 'anon', strategy: 'pof', group: 'pof', link: 'migration link', median_mib: 100, n: 1 },
    { scenario: 'anon', strategy: 'pof', group: 'pof', link: 'storage link', median_mib: 300, n: 1 },
  ]);
  assert.deepEqual(
    linkBars(runs)
      .filter((b) => b.scenario === 'idle')
      .map((b) => [b.group, b.link, b.median_mib]),
    [
      ['link_cap_mbit=500 / pof', 'migration link', 700],
      ['link_cap_mbit=1000 / pof', 'migration link', 720],
    ],
    'one group per config_id, ordered by value; a link no run measured has no bar',
  );
});

test('downtime: one point per completed run and measure, plus the median', () => {
  const pts = downtimePoints(runs).filter((p) => p.strategy === 'stock');
  assert.deepEqual(
    pts.filter((p) => p.role === 'run').map((p) => [p.measure, p.ms, p.run_id]),
    [
      ['QMP downtime', 120, 'r-anon-stock-r0'],
      ['QMP downtime', 140, 'r-anon-stock-r1'],
      ['app-observed downtime', 180, 'r-anon-stock-r0'],
      ['app-observed downtime', 220, 'r-anon-stock-r1'],
    ],
  );
  assert.deepEqual(
    pts.filter((p) => p.role === 'median').map((p) => [p.measure, p.ms]),
    [
      ['QMP downtime', 130],
      ['app-observed downtime', 200],
    ],
  );
  assert.ok(!downtimePoints(runs).some((p) => p.run_id === 'r-anon-pof-r1'), 'failed run has no point');
  assert.ok(!downtimePoints(runs).some((p) => p.ms === 9999), 'warm-up run has no point and no part in the median');
});

test('web latency: p50/p99 relative to migrate, and the migration window', () => {
  const pts = webPoints(runs);
  assert.ok(
    pts.every((p) => p.run_id === 'r-anon-stock-r0'),
    'only the run with web.jsonl',
  );
  assert.deepEqual(
    pts.filter((p) => p.role === 'latency').map((p) => [p.t_s, p.stat, p.ms]),
    [
      [-1, 'p50', 1.2],
      [-1, 'p99', 3.4],
      [5.9, 'p50', 2],
      [5.9, 'p99', 150],
    ],
  );
  assert.deepEqual(
    pts.filter((p) => p.role !== 'latency').map((p) => [p.role, p.t_s]),
    [
      ['migration start', 0],
      ['migration end', 6],
    ],
  );
  assert.deepEqual(webPoints(runs.filter((r) => !r.web)), []);
});

test('group names: strategy, after the config_id and (when asked) the scenario', () => {
  assert.equal(groupName({ scenario: 'anon', strategy: 'pof' }), 'pof');
  assert.equal(
    groupName({ scenario: 'idle', config_id: 'link_cap_mbit=500', strategy: 'pof' }),
    'link_cap_mbit=500 / pof',
  );
  assert.equal(
    groupName({ scenario: 'idle', config_id: 'link_cap_mbit=500', strategy: 'pof' }, true),
    'idle / link_cap_mbit=500 / pof',
  );
});

test('pareto: medians per scenario/config/strategy and the front within each workload type', () => {
  const pts = paretoPoints(runs);
  assert.deepEqual(
    pts.map((p) => [
      p.workload,
      p.scenario,
      p.config_id,
      p.strategy,
      p.n,
      p.total_time_s,
      p.migration_link_mib,
      p.front,
      p.dominated_by,
      p.label,
    ]),
    [
      ['anon', 'anon', undefined, 'stock', 2, 6.5, 620, false, ['pof'], 'stock'],
      ['anon', 'anon', undefined, 'pof', 1, 3, 100, true, [], 'pof'],
      ['idle', 'idle', 'link_cap_mbit=500', 'pof', 1, 9, 700, true, [], 'link_cap_mbit=500 / pof'],
      ['idle', 'idle', 'link_cap_mbit=1000', 'pof', 1, 5, 720, true, [], 'link_cap_mbit=1000 / pof'],
    ],
  );
});

test('summary: what compare computes per scenario and config, the environment per strategy, warnings', () => {
  const s = reportSummary(reportGroups(runs));
  assert.deepEqual(
    s.configs.map((c) => [c.scenario, c.config_id, c.rows.map((r) => [r.strategy, r.runs, r.failed])]),
    [
      [
        'anon',
        undefined,
        [
          ['stock', 2, 0],
          ['pof', 1, 1],
        ],
      ],
      ['idle', 'link_cap_mbit=500', [['pof', 1, 0]]],
      ['idle', 'link_cap_mbit=1000', [['pof', 1, 0]]],
    ],
  );
  const [stock, pof] = s.configs[0].rows;
  assert.equal(stock.median.total_time_ms, 6500);
  assert.equal(stock.iqr.total_time_ms, 500);
  assert.deepEqual(stock.ci95.total_time_ms, [6000, 7000]);
  assert.equal(stock.median.app_downtime_ms, 200);
  assert.equal(stock.n.wall_time_ms ?? 0, 0, 'a field no run carries has n 0');
  const change = s.configs[0].changes.find((c) => c.strategy === 'pof' && c.field === 'total_time_ms');
  assert.ok(change && change.change !== null);
  assert.ok(Math.abs(change.change - (3000 / 6500 - 1)) < 1e-9, `${change.change}`);
  assert.equal(change.note, 'n too small');
  assert.equal(pof.median.total_time_ms, 3000);
  // the warm-up run (QEMU 8.2.0, def5678) is not part of the environment
  assert.deepEqual(s.configs[0].environments[0], {
    strategy: 'stock',
    qemu: ['7.2.15'],
    revision: ['abc1234'],
    testbed: ['local'],
    accel: [],
    hosts: ['pofb-src → pofb-dst'],
  });
  assert.ok(
    s.warnings.some((w) => /^anon: fewer than 5 completed runs \(stock 2, pof 1\)/.test(w)),
    s.warnings.join('\n'),
  );
  assert.deepEqual(s.fields.slice(0, 4), ['total_time_ms', 'wall_time_ms', 'downtime_ms', 'app_downtime_ms']);
});

test('run set info: scenarios, strategies, versions and revisions of every run', () => {
  const info = runSetInfo(runs);
  assert.deepEqual(info, {
    runs: 7,
    completed: 6,
    failed: 1,
    warmups: 1,
    scenarios: ['anon', 'idle'],
    strategies: ['stock', 'pof'],
    testbeds: ['local'],
    hosts: ['pofb-dst', 'pofb-src'],
    qemuVersions: ['7.2.15', '8.2.0'],
    revisions: ['abc1234', 'def5678'],
    firstStarted: '2025-03-01T09:59:00.000Z',
    lastStarted: '2025-03-01T09:59:00.000Z',
  });
});

test('thin keeps evenly spaced items with both ends', () => {
  assert.deepEqual(thin([1, 2, 3, 4, 5, 6, 7, 8, 9], 3), [1, 5, 9]);
  assert.deepEqual(thin([1, 2], 5), [1, 2]);
});
