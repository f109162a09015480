import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../src/scenario/load.js';
import { runSession } from '../src/runner/session.js';
import type { WebRow } from '../src/results/series.js';
import { runLeftovers } from './helpers/leftovers.js';
import { useLocalTestbed } from './helpers/localTestbed.js';

const tb = useLocalTestbed('web', { verbose: true });
const out = tb.out;

const jsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

test('web workload: autocannon reaches the guest on src before and on dst after the migration, latency timeline ' +
  'recorded', {
  timeout: 900_000,
}, async () => {
  const scenario = parseScenario(
    [
      'name: it-web',
      'guest: { memory_mib: 256 }',
      'workload: { type: web, connections: 4, files: 8, object_kib: 64, dataset_mib: 32, warmup_s: 2 }',
      'migration: { link_cap_mbit: 400, timeout_s: 120 }',
    ].join('\n'),
    'it-web.yaml',
  );
  const records = await runSession({
    scenarios: [scenario],
    strategies: ['stock', 'pof'],
    testbed: tb.testbed,
    image: tb.image,
    outDir: out,
    seed: 1,
  });
  assert.equal(records.length, 2);
  assert.deepEqual(runLeftovers(), [], 'no per-run process left (the load generator included)');
  for (const r of records) {
    assert.equal(r.status, 'completed', `${r.strategy}: ${r.error}`);
    assert.equal(r.guest_on_dst, true);
    console.log(
      `${r.strategy}: requests ${r.web_requests}, errors ${r.web_errors}, timeouts ${r.web_timeouts}; rps ` +
        `${r.web_rps_before}/${r.web_rps_during}/${r.web_rps_after}, ` +
        `p99 ms ${r.web_p99_ms_before}/${r.web_p99_ms_during}/${r.web_p99_ms_after} (before/during/after), max ` +
        `${r.web_max_latency_ms} ms, stall ${r.web_stall_ms} ms; ` +
        `QMP downtime ${r.downtime_ms} ms, app downtime ${r.app_downtime_ms} ms, total ${r.total_time_ms} ms`,
    );
    assert.ok((r.web_rps_before as number) > 0, `${r.strategy}: traffic reached the guest on src before the migration`);
    assert.ok((r.web_rps_after as number) > 0, `${r.strategy}: traffic reached the guest on dst after the migration`);
    for (const f of [
      'web_requests',
      'web_errors',
      'web_timeouts',
      'web_rps_during',
      'web_p99_ms_before',
      'web_p99_ms_after',
      'web_stall_ms',
    ] as const) {
      assert.equal(typeof r[f], 'number', `${r.strategy}: ${f} recorded`);
    }
    assert.ok((r.web_stall_ms as number) > 0, `${r.strategy}: the switchover shows as a stall`);

    // the timeline: 100 ms rows from before `migrate` to after the guest answered on dst
    const dir = join(out, r.run_id);
    const web = jsonl<WebRow>(join(dir, 'series', 'web.jsonl'));
    const qmp = jsonl<{ t: number }>(join(dir, 'series', 'qmp.jsonl'));
    const migrateStart = qmp[0].t;
    const migrateEnd = qmp[qmp.length - 1].t;
    const steps = web.slice(1, -1).map((w, i) => w.t - web[i].t);
    assert.ok(
      steps.every((s) => s === 100),
      '100 ms buckets, none missing',
    );
    for (const w of web)
      for (const k of ['t', 'rps', 'ok', 'errors', 'timeouts', 'gap_ms'] as const)
        assert.equal(typeof w[k], 'number', `row field ${k}`);
    const okBefore = web.filter((w) => w.t <= migrateStart && w.ok > 0);
    const okAfter = web.filter((w) => w.t > migrateEnd + 1000 && w.ok > 0);
    assert.ok(okBefore.length >= 5, `${r.strategy}: successful responses in ${okBefore.length} buckets before migrate`);
    assert.ok(okAfter.length >= 5, `${r.strategy}: successful responses in ${okAfter.length} buckets on dst`);
    for (const w of [...okBefore, ...okAfter]) {
      assert.ok(
        w.p50_ms !== null && w.p99_ms !== null && w.max_ms !== null && w.p50_ms <= w.p99_ms && w.p99_ms <= w.max_ms,
        `quantiles ordered at ${w.t}`,
      );
    }
  }
});
