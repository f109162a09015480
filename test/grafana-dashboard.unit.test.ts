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
}
const dashboard = JSON.parse(
  readFileSync(join(projectRoot, 'ansible', 'roles', 'grafana', 'files', 'pofbench-dashboard.json'), 'utf8'),
) as {
  uid: string;
  panels: Panel[];
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
  const columns = [
    ...all(/\br\.(\w+)/g, query),
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
