import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dominates, paretoFront } from '../src/analysis/pareto.js';
import { groupRecords } from '../src/analysis/group.js';
import { workloadFronts } from '../src/analysis/workloadFront.js';
import { configLabel } from '../src/analysis/group.js';
import { rec, recs } from './helpers/analysisRecords.js';

interface P {
  name: string;
  v: number[];
}
const names = (ps: P[]) => ps.map((p) => p.name);

test('front of 5 points with known dominance (2 objectives, minimised)', () => {
  const p1 = { name: 'P1', v: [1, 5] };
  const p2 = { name: 'P2', v: [2, 3] };
  const p3 = { name: 'P3', v: [3, 4] }; // worse than P2 on both
  const p4 = { name: 'P4', v: [4, 1] };
  const p5 = { name: 'P5', v: [5, 5] }; // P1 ties on y, better on x; P2, P3, P4 better on both or tie
  const r = paretoFront([p1, p2, p3, p4, p5], (p) => p.v);
  assert.deepEqual(names(r.front), ['P1', 'P2', 'P4']);
  assert.deepEqual(
    r.dominated.map((d) => [d.item.name, names(d.by)]),
    [
      ['P3', ['P2']],
      ['P5', ['P1', 'P2', 'P3', 'P4']],
    ],
  );
});

test('three objectives', () => {
  const a = { name: 'a', v: [1, 1, 9] };
  const b = { name: 'b', v: [2, 2, 2] };
  const c = { name: 'c', v: [2, 3, 2] }; // dominated by b only (a is worse on the third)
  const d = { name: 'd', v: [9, 9, 9] }; // dominated by all
  const r = paretoFront([d, c, b, a], (p) => p.v);
  assert.deepEqual(names(r.front), ['b', 'a']);
  assert.deepEqual(
    r.dominated.map((x) => [x.item.name, names(x.by)]),
    [
      ['d', ['c', 'b', 'a']],
      ['c', ['b']],
    ],
  );
});

test('dominance: equal vectors do not dominate, ties need one strict improvement, NaN never dominates', () => {
  assert.equal(dominates([1, 2], [1, 2]), false);
  assert.equal(dominates([1, 2], [1, 3]), true);
  assert.equal(dominates([1, 3], [1, 2]), false);
  assert.equal(dominates([0, Number.NaN], [1, 1]), false);
  assert.equal(dominates([0, 0], [1, Number.NaN]), false);
  assert.throws(() => dominates([1], [1, 2]), /length/);
  const twins = paretoFront(
    [
      { name: 'x', v: [1, 1] },
      { name: 'y', v: [1, 1] },
    ],
    (p) => p.v,
  );
  assert.deepEqual(names(twins.front), ['x', 'y']);
  assert.deepEqual(
    paretoFront([], (p: P) => p.v),
    { front: [], dominated: [] },
  );
});

test('per-workload fronts over configuration medians', () => {
  const records = [
    // pagecache, three configurations
    ...recs({ strategy: 'stock' }, 'total_time_ms', [3000, 1000, 2000, 10000], {
      downtime_ms: 300,
      migration_link_bytes: 100,
    }), // median 2500
    // median 1500: dominates stock
    ...recs({ strategy: 'pof' }, 'total_time_ms', [1000, 2000, 1500], { downtime_ms: 300, migration_link_bytes: 50 }),
    ...recs({ strategy: 'stock', config_id: 'cap=100' }, 'total_time_ms', [9000, 9000, 9000], {
      downtime_ms: 100,
      migration_link_bytes: 100,
    }),
    rec({ strategy: 'pof', status: 'failed' }),
    rec({ strategy: 'pof', warmup: true }, { total_time_ms: 1, downtime_ms: 1, migration_link_bytes: 1 }), // discarded
    // anon: one configuration never measured downtime, one only failed
    ...recs({ scenario: 'burn', workload: 'anon' }, 'total_time_ms', [5000, 6000, 7000], { migration_link_bytes: 10 }),
    rec({ scenario: 'burn', workload: 'anon', strategy: 'pof', status: 'failed' }),
    // no params.workload: the scenario name is the workload
    ...recs({ scenario: 'legacy', workload: null }, 'total_time_ms', [1, 2, 3], {
      downtime_ms: 1,
      migration_link_bytes: 1,
    }),
  ];
  const fronts = workloadFronts(groupRecords(records), ['total_time_ms', 'downtime_ms', 'migration_link_bytes']);
  assert.deepEqual(
    fronts.map((f) => f.workload),
    ['anon', 'legacy', 'pagecache'],
  );

  const pc = fronts.find((f) => f.workload === 'pagecache')!;
  assert.deepEqual(pc.front.map(configLabel), ['quick / pof', 'quick [cap=100] / stock']);
  assert.deepEqual(pc.front[0].median, { total_time_ms: 1500, downtime_ms: 300, migration_link_bytes: 50 });
  assert.equal(pc.front[0].runs, 3);
  assert.equal(pc.front[0].failed, 1);
  assert.deepEqual(
    pc.dominated.map((d) => [configLabel(d.item), d.by.map(configLabel)]),
    [['quick / stock', ['quick / pof']]],
  );
  assert.equal(pc.dominated[0].item.median.total_time_ms, 2500);

  const anon = fronts.find((f) => f.workload === 'anon')!;
  assert.deepEqual(anon.front, []);
  assert.deepEqual(
    anon.skipped.map((s) => [configLabel(s), s.reason]),
    [
      ['burn / stock', 'no values for downtime_ms'],
      ['burn / pof', 'no completed runs'],
    ],
  );
  assert.deepEqual(fronts.find((f) => f.workload === 'legacy')!.front.map(configLabel), ['legacy / stock']);
});

test('cpu_s objective is QEMU CPU on both hosts plus the agents', () => {
  const records = [
    ...recs({ strategy: 'stock' }, 'total_time_ms', [10, 10, 10], { src_qemu_cpu_s: 3, dst_qemu_cpu_s: 1 }), // cpu 4
    // cpu 5
    ...recs({ strategy: 'pof' }, 'total_time_ms', [5, 5, 5], { src_qemu_cpu_s: 2, dst_qemu_cpu_s: 1, agent_cpu_s: 2 }),
  ];
  const [f] = workloadFronts(groupRecords(records), ['total_time_ms', 'cpu_s']);
  assert.deepEqual(
    f.front.map((p) => [p.strategy, p.median.cpu_s]),
    [
      ['stock', 4],
      ['pof', 5],
    ],
  );
  const [g] = workloadFronts(groupRecords(records.map((r) => ({ ...r, total_time_ms: 10 }))), [
    'total_time_ms',
    'cpu_s',
  ]);
  assert.deepEqual(
    g.front.map((p) => p.strategy),
    ['stock'],
  );
  assert.deepEqual(
    g.dominated.map((d) => [d.item.strategy, d.by.map((b) => b.strategy)]),
    [['pof', ['stock']]],
  );
});
