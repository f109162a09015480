import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareGroups } from '../src/analysis/compare.js';
import { configLabel, groupRecords, loadRecords } from '../src/analysis/group.js';
import { parseFieldList } from '../src/analysis/metrics.js';
import { bootstrapMedianCI, relativeChange } from '../src/analysis/stats.js';
import {
  formatChange,
  renderCompareCsv,
  renderCompareJson,
  renderCompareMarkdown,
  renderCompareTable,
} from '../src/reports/compareReport.js';
import { UserError } from '../src/util/errors.js';
import { rec, recs, tempDir, writeRecords } from './helpers/analysisRecords.js';

const FIELDS = ['total_time_ms', 'downtime_ms', 'app_downtime_ms', 'agent_cpu_s'];
const STOCK_T = [3000, 1000, 2000, 10000]; // median 2500, q1 1750, q3 4750
const POF_T = [1000, 2000, 1500]; // median 1500, q1 1250, q3 1750

function dataset() {
  return [
    ...STOCK_T.map((t) => rec({ strategy: 'stock' }, { total_time_ms: t, downtime_ms: 100, app_downtime_ms: 100 })),
    rec({ strategy: 'stock', status: 'failed' }),
    rec({ strategy: 'stock', warmup: true }, { total_time_ms: 1e9, downtime_ms: 1e9 }),
    rec({ strategy: 'pof' }, { total_time_ms: POF_T[0], downtime_ms: 100, app_downtime_ms: 200, agent_cpu_s: 1 }),
    rec({ strategy: 'pof' }, { total_time_ms: POF_T[1], downtime_ms: 100, app_downtime_ms: 300, agent_cpu_s: 2 }),
    rec({ strategy: 'pof' }, { total_time_ms: POF_T[2], downtime_ms: 100, agent_cpu_s: 3 }),
    ...recs({ strategy: 'pof', config_id: 'cap=100,dl=300' }, 'total_time_ms', [10, 20, 30]),
    ...recs({ strategy: 'stock', config_id: 'cap=100,dl=300' }, 'total_time_ms', [40, 50, 60]),
    ...recs({ strategy: 'stock', config_id: 'cap=20,dl=300' }, 'total_time_ms', [1, 2, 3]),
  ];
}

test(
  'grouping: scenario + config_id + strategy, warm-ups discarded, failed counted, stock first, numeric ' +
    'config order',
  () => {
    const groups = groupRecords([...dataset(), rec({ strategy: 'pof', config_id: '' }, { total_time_ms: 1 })]);
    assert.deepEqual(
      groups.map((g) => [configLabel(g), g.completed.length, g.failed, g.warmups]),
      [
        ['quick / stock', 4, 1, 1],
        ['quick / pof', 4, 0, 0], // config_id "" is the scenario's only configuration
        ['quick [cap=20,dl=300] / stock', 3, 0, 0],
        ['quick [cap=100,dl=300] / stock', 3, 0, 0],
        ['quick [cap=100,dl=300] / pof', 3, 0, 0],
      ],
    );
    assert.equal(groups[0].workload, 'pagecache');
  },
);

test(
  'loading: run dirs, a dir of result dirs, a single run dir; duplicates once; missing dir is a ' + 'UserError',
  async () => {
    const root = tempDir();
    try {
      const a = [rec({}, { total_time_ms: 1 }), rec({}, { total_time_ms: 2 })];
      const b = [rec({ strategy: 'pof' }, { total_time_ms: 3 })];
      writeRecords(join(root, 'batch-a'), a);
      writeRecords(join(root, 'batch-b'), b);
      mkdirSync(join(root, 'empty'));
      mkdirSync(join(root, 'batch-a', 'crashed-run')); // no run.json
      writeFileSync(join(root, 'notes.txt'), 'x');
      const ids = (rs: { run_id: string }[]) => rs.map((r) => r.run_id).sort();
      assert.deepEqual(ids(await loadRecords([root])), ids([...a, ...b]));
      assert.deepEqual(ids(await loadRecords([join(root, 'batch-a'), join(root, 'batch-a'), root])), ids([...a, ...b]));
      assert.deepEqual(ids(await loadRecords([join(root, 'batch-a', a[0].run_id)])), [a[0].run_id]);
      await assert.rejects(
        loadRecords([join(root, 'nope')]),
        (e: unknown) => e instanceof UserError && /nope does not exist/.test(e.message),
      );
      await assert.rejects(
        loadRecords([join(root, 'empty')]),
        (e: unknown) => e instanceof UserError && /no run records/.test(e.message),
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
);

test('unknown field names are a UserError naming the field and listing the valid ones', () => {
  assert.deepEqual(parseFieldList('total_time_ms, cpu_s,total_time_ms', '--fields', []), ['total_time_ms', 'cpu_s']);
  assert.deepEqual(
    parseFieldList('my_metric_ms', '--fields', [rec({}, { my_metric_ms: 1 })]),
    ['my_metric_ms'],
    'numbers found in the records are valid',
  );
  try {
    parseFieldList('total_time_ms,downtme_ms', '--fields', []);
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, 'unknown field "downtme_ms" in --fields');
    assert.match(e.hint!, /^valid fields: total_time_ms, .*downtime_ms.*cpu_s/);
    assert.doesNotMatch(e.hint!, /\brepeat\b/);
  }
});

test('compare JSON: rows and changes field by field', () => {
  const c = compareGroups(groupRecords(dataset()), { fields: FIELDS, seed: 5 });
  const json = JSON.parse(renderCompareJson(c)) as {
    rows: Record<string, unknown>[];
    changes: Record<string, unknown>[];
  };
  assert.deepEqual(Object.keys(json), ['rows', 'changes']);
  assert.equal(json.rows.length, 5);
  assert.deepEqual(json.rows[0], {
    scenario: 'quick',
    strategy: 'stock',
    runs: 4,
    failed: 1,
    n: { total_time_ms: 4, downtime_ms: 4, app_downtime_ms: 4, agent_cpu_s: 0 },
    median: { total_time_ms: 2500, downtime_ms: 100, app_downtime_ms: 100 },
    q1: { total_time_ms: 1750, downtime_ms: 100, app_downtime_ms: 100 },
    q3: { total_time_ms: 4750, downtime_ms: 100, app_downtime_ms: 100 },
    iqr: { total_time_ms: 3000, downtime_ms: 0, app_downtime_ms: 0 },
    min: { total_time_ms: 1000, downtime_ms: 100, app_downtime_ms: 100 },
    max: { total_time_ms: 10000, downtime_ms: 100, app_downtime_ms: 100 },
    ci95: {
      total_time_ms: bootstrapMedianCI(STOCK_T, { seed: 5 }),
      downtime_ms: [100, 100],
      app_downtime_ms: [100, 100],
    },
    // median 2500, MAD 1000: 10000 lies 7500 > 3 x 1.4826 x 1000 away
    outliers: { total_time_ms: [10000] },
  });
  const pof = json.rows[1];
  assert.equal(pof.strategy, 'pof');
  assert.equal(pof.runs, 3);
  assert.equal(pof.failed, 0);
  assert.deepEqual(pof.median, { total_time_ms: 1500, downtime_ms: 100, app_downtime_ms: 250, agent_cpu_s: 2 });
  assert.deepEqual(pof.iqr, { total_time_ms: 500, downtime_ms: 0, app_downtime_ms: 50, agent_cpu_s: 1 });
  assert.deepEqual(pof.n, { total_time_ms: 3, downtime_ms: 3, app_downtime_ms: 2, agent_cpu_s: 3 });
  assert.equal(json.rows[3].config_id, 'cap=100,dl=300');

  // changes: pof vs stock for each field measured on both sides (agent_cpu_s is pof-only: none)
  assert.deepEqual(
    json.changes.map((x) => [x.config_id ?? '', x.field]),
    [
      ['', 'total_time_ms'],
      ['', 'downtime_ms'],
      ['', 'app_downtime_ms'],
      ['cap=100,dl=300', 'total_time_ms'],
    ],
  );
  const rc = relativeChange(STOCK_T, POF_T, { seed: 5 });
  assert.deepEqual(json.changes[0], {
    scenario: 'quick',
    field: 'total_time_ms',
    baseline: 'stock',
    strategy: 'pof',
    baseline_median: 2500,
    median: 1500,
    change: 1500 / 2500 - 1,
    ci95: rc.ci,
    within_noise: rc.within_noise,
    ...(rc.note ? { note: rc.note } : {}),
    n_baseline: 4,
    n: 3,
  });
  // the 10000 ms outlier among four stock runs makes the interval wide: -40 % is within the noise
  assert.ok((json.changes[0].ci95 as number[])[0] < 0 && (json.changes[0].ci95 as number[])[1] > 0);
  assert.deepEqual([json.changes[0].within_noise, json.changes[0].note], [true, 'within noise']);
  assert.deepEqual(
    [json.changes[1].change, json.changes[1].ci95, json.changes[1].within_noise, json.changes[1].note],
    [0, [0, 0], true, 'within noise'],
  );
  assert.deepEqual(
    [json.changes[2].change, json.changes[2].ci95, json.changes[2].within_noise, json.changes[2].note],
    [1.5, [1, 2], true, 'n too small'],
  );
  // cap=100: medians 50 -> 20. Resampled medians: P(pof* = 10) = P(stock* = 60) = 7/27 each, so
  // P(ratio = 10/60) ≈ 0.067 > 0.025: the interval runs from 10/60 - 1 to 30/40 - 1, outside 0
  assert.equal(json.changes[3].change, 20 / 50 - 1);
  assert.deepEqual(json.changes[3].ci95, [10 / 60 - 1, 30 / 40 - 1]);
  assert.equal(json.changes[3].within_noise, false);
  assert.equal(json.changes[3].note, undefined);
});

test('compare markdown is ready for release notes', () => {
  const c = compareGroups(groupRecords(dataset()), { fields: FIELDS, seed: 5 });
  const md = renderCompareMarkdown(c, { baseline: 'stock' }).split('\n');
  const total = formatChange(c.changes[0]);
  assert.match(total, /^-40\.0 % \[-\d+\.\d, \+\d+\.\d\] \(within noise\)$/);
  assert.deepEqual(md.slice(0, 11), [
    '### quick',
    '',
    'stock: 4 runs, 1 failed · pof: 3 runs — warning: fewer than 5 runs per strategy, spread and changes are rough',
    '',
    '| metric | stock | pof | pof vs stock |',
    '|---|---:|---:|---:|',
    `| total_time_ms (ms) | 2500 (IQR 3000, n=4, 1 outlier) | 1500 (IQR 500, n=3) | ` +
      `${total.replace(' (within noise)', ' _(within noise)_')} |`,
    '| downtime_ms (ms) | 100 (IQR 0.0, n=4) | 100 (IQR 0.0, n=3) | 0.0 % [0.0, 0.0] _(within noise)_ |',
    '| app_downtime_ms (ms) | 100 (IQR 0.0, n=4) | 250 (IQR 50.0, n=2) | +150.0 % [+100.0, +200.0] _(n too small)_ |',
    '| agent_cpu_s (s) | - | 2.00 (IQR 1.00, n=3) | - |',
    '',
  ]);
  assert.ok(md.includes('### quick — `cap=20,dl=300`'));
  assert.ok(md.includes('| metric | stock |'), 'a config with only the baseline has no change column');
  assert.ok(
    md.includes('| total_time_ms (ms) | 50.0 (IQR 10.0, n=3) | 20.0 (IQR 10.0, n=3) | -60.0 % [-83.3, -25.0] |'),
  );
  assert.match(md.at(-2)!, /95 % bootstrap interval \(2000 resamples\)/);
});

test('compare CSV and table', () => {
  const c = compareGroups(groupRecords(dataset()), { fields: ['total_time_ms', 'agent_cpu_s'], seed: 5 });
  const csv = renderCompareCsv(c).trim().split('\n');
  assert.equal(
    csv[0],
    'scenario,config_id,strategy,field,runs,failed,n,median,q1,q3,iqr,min,max,ci95_lo,ci95_hi,baseline,change,change_ci95_lo,change_ci95_hi,within_noise,note',
  );
  const [lo, hi] = bootstrapMedianCI(STOCK_T, { seed: 5 });
  assert.equal(csv[1], `quick,,stock,total_time_ms,4,1,4,2500,1750,4750,3000,1000,10000,${lo},${hi},,,,,,`);
  assert.equal(
    csv.length,
    1 + 1 + 2 + 1 + 1 + 1,
    'one line per group and field with values (stock has no agent_cpu_s)',
  );
  const capPof = csv.find((l) => l.startsWith('quick,"cap=100,dl=300",pof,total_time_ms,'))!;
  assert.ok(capPof, 'config ids with commas are quoted');
  assert.ok(capPof.endsWith(`,stock,-0.6,${10 / 60 - 1},${30 / 40 - 1},false,`));

  const t = renderCompareTable(c, { baseline: 'stock' });
  assert.match(
    t,
    /^quick — stock: 4 runs, 1 failed · pof: 3 runs — warning: fewer than 5 runs per strategy, spread and changes are rough\n/,
  );
  assert.match(t, /quick \[cap=100,dl=300\] — stock: 3 runs · pof: 3 runs/);
  assert.match(t, /│ 2500 \(IQR 3000, n=4, 1 outlier\) +│ 1500 \(IQR 500, n=3\) +│ -40\.0 % \[/);
});
