import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';
import type { RunRecord } from '../src/results/record.js';
import { LINK_FIELDS, MEASUREMENTS, PROGRESS_FIELDS, runPoint } from '../src/sinks/influxPoints.js';

/** The Grafana dashboard must only query what the InfluxDB sink writes. */

interface Target {
  query?: string;
  datasource?: { type?: string };
}
interface Panel {
  title: string;
  datasource?: { type?: string };
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  query?: string;
  current?: { value?: unknown };
}
interface FullPanel extends Panel {
  fieldConfig?: { defaults?: { displayName?: string } };
}
const dashboard = JSON.parse(
  readFileSync(join(projectRoot, 'ansible', 'roles', 'grafana', 'files', 'pofbench-dashboard.json'), 'utf8'),
) as {
  uid: string;
  panels: FullPanel[];
  templating: { list: Variable[] };
};

// A record as the runner writes it: its `migration` point's fields are what the sink writes.
const record: RunRecord = {
  run_id: 'r',
  scenario: 's',
  strategy: 'stock',
  repeat: 0,
  status: 'completed',
  started_at: '2024-05-01T10:00:00Z',
  testbed: 'local',
  src_host: 'a',
  dst_host: 'b',
  pofbench_rev: 'x',
  params: {},
  total_time_ms: 1,
  wall_time_ms: 1,
  setup_time_ms: 1,
  downtime_ms: 1,
  app_downtime_ms: 1,
  passes: 1,
  migration_link_bytes: 1,
  storage_link_bytes: 1,
  qmp_transferred_bytes: 1,
  src_qemu_cpu_s: 1,
  dst_qemu_cpu_s: 1,
};
const fieldsOf: Record<string, Set<string>> = {
  migration: new Set(Object.keys((runPoint(record) as unknown as { fields: Record<string, string> }).fields)),
  migration_progress: new Set(PROGRESS_FIELDS),
  host_link: new Set(LINK_FIELDS),
};
const tagsOf: Record<string, Set<string>> = {
  migration: new Set([
    'scenario',
    'strategy',
    'testbed',
    'src_host',
    'dst_host',
    'status',
    'params_hash',
    'repeat',
    'config_id',
    'pair',
    'pofbench_rev',
    'warmup',
  ]),
  migration_progress: new Set(['run_id', 'scenario', 'strategy']),
  host_link: new Set(['run_id', 'scenario', 'strategy', 'role', 'nic']),
};

const all = (re: RegExp, s: string) => [...s.matchAll(re)].map((m) => m[1]);

function checkQuery(where: string, query: string): void {
  const measurements = all(/_measurement == "([^"]+)"/g, query);
  assert.ok(measurements.length > 0, `${where}: names no measurement`);
  for (const m of measurements)
    assert.ok(
      (MEASUREMENTS as readonly string[]).includes(m),
      `${where}: measurement "${m}" is not written by the sink`,
    );
  for (const f of all(/_field == "([^"]+)"/g, query)) {
    assert.ok(
      measurements.some((m) => fieldsOf[m].has(f)),
      `${where}: field "${f}" is not a field of ${measurements.join('/')}`,
    );
  }
  // columns a pivot on the strategy makes (r.pof, r.stock), and Flux's own (_value, _time, …)
  const pivoted = /pivot\([^)]*columnKey: \["strategy"\]/.test(query) ? ['pof', 'stock'] : [];
  const columns = [
    ...all(/\br\.(\w+)/g, query).filter((c) => !c.startsWith('_') && !pivoted.includes(c)),
    ...all(/group\(columns: \[([^\]]*)\]/g, query).flatMap((c) => all(/"([^"]+)"/g, c)),
  ];
  for (const c of columns) {
    if (c === '_measurement' || c === '_field') continue;
    assert.ok(
      measurements.some((m) => tagsOf[m].has(c)),
      `${where}: "${c}" is not a tag of ${measurements.join('/')}`,
    );
  }
}

test('every panel queries InfluxDB (Flux) for measurements, fields and tags the sink writes', () => {
  assert.ok(dashboard.panels.length >= 4);
  assert.equal(dashboard.uid, 'pofbench-migration');
  for (const p of dashboard.panels) {
    assert.equal(p.datasource?.type, 'influxdb', p.title);
    assert.ok(p.targets?.length, `${p.title}: no query`);
    for (const t of p.targets) {
      assert.ok(t.query, `${p.title}: empty query`);
      assert.match(
        t.query,
        /^from\(bucket: "\$\{bucket\}"\)\n\s+\|> range\(start: v\.timeRangeStart, stop: v\.timeRangeStop\)/,
        p.title,
      );
      checkQuery(`panel "${p.title}"`, t.query);
    }
  }
  const written = new Set(
    dashboard.panels.flatMap((p) => p.targets!.flatMap((t) => all(/_measurement == "([^"]+)"/g, t.query!))),
  );
  assert.deepEqual([...written].sort(), [...MEASUREMENTS].sort(), 'every measurement has a panel');
});

test('template variables use only what the sink writes, and every ${var} in a query is defined', () => {
  const names = new Set(dashboard.templating.list.map((v) => v.name));
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query'))
    checkQuery(`variable ${v.name}`, v.query!);
  const used = dashboard.panels.flatMap((p) => p.targets!.flatMap((t) => all(/\$\{(\w+)(?::\w+)?\}/g, t.query!)));
  for (const u of used) assert.ok(names.has(u), `\${${u}} is not a dashboard variable`);
});

test('the tags the dashboard filters by are the ones the sink writes', () => {
  const tags = Object.keys((runPoint({ ...record, config_id: 'c', pair: 'p1' }) as unknown as { tags: object }).tags);
  for (const t of ['scenario', 'config_id', 'pair', 'pofbench_rev', 'warmup', 'strategy'])
    assert.ok(tags.includes(t), t);
});

const migrationQueries = () =>
  dashboard.panels.flatMap((p) =>
    (p.targets ?? [])
      .filter((t) => t.query?.includes('_measurement == "migration"'))
      .map((t) => ({ panel: p, query: t.query! })),
  );

test('variables for scenario, config, pair, revision and warm-up; every run panel filters by all of them', () => {
  const byName = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  for (const [name, tag] of [
    ['config', 'config_id'],
    ['pair', 'pair'],
    ['revision', 'pofbench_rev'],
  ]) {
    const v = byName.get(name);
    assert.equal(v?.type, 'query', name);
    assert.match(v!.query!, new RegExp(`tag: "${tag}"`), name);
  }
  const warmup = byName.get('warmup');
  assert.equal(warmup?.type, 'custom');
  assert.equal(warmup?.current?.value, 'exclude', 'warm-up runs are left out unless asked for');
  const queries = migrationQueries();
  assert.ok(queries.length >= 4);
  for (const { panel, query } of queries) {
    for (const f of [
      'contains(value: r.scenario, set: ${scenario:json})',
      'contains(value: r.config_id, set: ${config:json})',
      'contains(value: r.pair, set: ${pair:json})',
      'contains(value: r.pofbench_rev, set: ${revision:json})',
      '"${warmup}" == "include" or not exists r.warmup or r.warmup == "false"',
    ])
      assert.ok(query.includes(f), `${panel.title}: no filter ${f}`);
  }
});

test('run panels keep configs, pairs and revisions apart (grouped by them, named by them)', () => {
  for (const { panel, query } of migrationQueries()) {
    const groups = all(/group\(columns: \[([^\]]*)\]/g, query).map((c) => all(/"([^"]+)"/g, c));
    assert.ok(groups.length > 0, `${panel.title}: no group()`);
    for (const k of ['scenario', 'config_id', 'pair', 'pofbench_rev'])
      assert.ok(groups[0].includes(k), `${panel.title}: first group() lacks ${k}: ${groups[0].join(', ')}`);
    const name = panel.fieldConfig?.defaults?.displayName ?? '';
    for (const k of ['scenario', 'config_id', 'pofbench_rev', 'pair'])
      assert.ok(name.includes(`__field.labels.${k}`), `${panel.title}: series name lacks ${k}`);
  }
});

test('a pof/stock ratio panel: daily medians per strategy, pivoted, pof over stock', () => {
  const ratio = dashboard.panels.find((p) => /pof \/ stock ratio/.test(p.title));
  assert.ok(ratio, 'no ratio panel');
  const q = ratio.targets![0].query!;
  assert.match(q, /r\.strategy == "stock" or r\.strategy == "pof"/);
  assert.match(q, /aggregateWindow\(every: 1d, fn: median/);
  assert.match(q, /pivot\(rowKey: \["_time"\], columnKey: \["strategy"\], valueColumn: "_value"\)/);
  assert.match(q, /_value: r\.pof \/ r\.stock/);
  assert.match(q, /r\.stock != 0\.0/);
});
