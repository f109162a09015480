import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configLabel, groupRecords } from '../src/analysis/group.js';
import { recommend } from '../src/analysis/recommend.js';
import { UserError } from '../src/util/errors.js';
import { rec } from './helpers/analysisRecords.js';

/** Three runs per configuration around the given medians. */
function config(strategy: string, config_id: string | undefined, t: number, d: number, bytes: number, appD = d) {
  return [-1, 0, 1].map((k) =>
    rec(
      { strategy, ...(config_id ? { config_id } : {}) },
      {
        total_time_ms: t + 100 * k,
        downtime_ms: d + k,
        migration_link_bytes: bytes,
        app_downtime_ms: appD,
      },
    ),
  );
}

// c1 is dominated by c2; the front is c2, c3, c4
const groups = groupRecords([
  ...config('stock', undefined, 10000, 500, 100, 600), // c1
  ...config('pof', undefined, 8000, 200, 50, 250), // c2
  ...config('pof', 'cap=1000', 6000, 400, 60, 450), // c3
  ...config('stock', 'cap=100', 12000, 100, 120, 150), // c4
  ...[1, 2, 3].map(() =>
    rec({ scenario: 'burn', workload: 'anon' }, { total_time_ms: 1, downtime_ms: 1, migration_link_bytes: 1 }),
  ),
]);
const OBJ = ['total_time_ms', 'downtime_ms', 'migration_link_bytes'];
const pick = (max: number, extra: Partial<Parameters<typeof recommend>[1]> = {}) =>
  recommend(groups, { workload: 'pagecache', maxDowntimeMs: max, objectives: OBJ, ...extra });

test('picks the fastest front configuration within the downtime limit', () => {
  const r = pick(300);
  assert.equal(configLabel(r.choice), 'quick / pof');
  assert.deepEqual(r.choice.median, { total_time_ms: 8000, downtime_ms: 200, migration_link_bytes: 50 });
  assert.deepEqual(r.front.front.map(configLabel), [
    'quick / pof',
    'quick [cap=100] / stock',
    'quick [cap=1000] / pof',
  ]);
  assert.deepEqual(r.eligible.map(configLabel), ['quick / pof', 'quick [cap=100] / stock']);
  assert.equal(r.explanation.length, 2);
  assert.equal(
    r.explanation[0],
    'quick / pof for workload pagecache: median total_time_ms 8000 ms, downtime_ms 200 ms over 3 runs.',
  );
  assert.equal(
    r.explanation[1],
    'Lowest total_time_ms among the 2 of 3 Pareto-optimal configurations (objectives total_time_ms, downtime_ms, ' +
      'migration_link_bytes) with median downtime_ms ≤ 300 ms.',
  );
});

test('a looser limit, an inclusive limit, another preference, another downtime field', () => {
  assert.equal(configLabel(pick(450).choice), 'quick [cap=1000] / pof');
  assert.equal(configLabel(pick(100).choice), 'quick [cap=100] / stock', 'the limit is inclusive');
  assert.equal(configLabel(pick(1000, { prefer: 'migration_link_bytes' }).choice), 'quick / pof');
  assert.equal(configLabel(pick(300, { downtimeField: 'app_downtime_ms' }).choice), 'quick / pof');
  assert.equal(configLabel(pick(200, { downtimeField: 'app_downtime_ms' }).choice), 'quick [cap=100] / stock');
});

test('the downtime field always takes part in the front', () => {
  // on total_time_ms alone the front is only c3 (downtime 400); with downtime added, c2 is on it
  const r = pick(300, { objectives: ['total_time_ms'] });
  assert.equal(configLabel(r.choice), 'quick / pof');
  assert.deepEqual(r.objectives, ['total_time_ms', 'downtime_ms']);
});

test('nothing within the limit: a UserError naming the constraint', () => {
  assert.throws(
    () => pick(50),
    (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, 'no configuration of workload "pagecache" meets downtime_ms ≤ 50 ms (--max-downtime-ms)');
      assert.match(e.hint!, /lowest median downtime_ms is 100 ms \(quick \[cap=100\] \/ stock\)/);
      return true;
    },
  );
});

test('an unknown workload is a UserError listing the workloads present', () => {
  assert.throws(
    () => recommend(groups, { workload: 'idle', maxDowntimeMs: 300, objectives: OBJ }),
    (e: unknown) =>
      e instanceof UserError &&
      e.message === 'no runs of workload "idle"' &&
      e.hint === 'workloads present: anon, pagecache',
  );
});
