import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeRows, phaseSummary } from '../src/metrics/workloadPhases.js';

test('workload rows go on the host clock and are summarised per migration phase', () => {
  // workload started at guest uptime 100 s; fetched at guest uptime 110 s = host 1_000_000 ms
  const text = '@wl-clock start=100.00 now=110.00\n...';
  const rows = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((t) => ({ t_s: t, mib_s: t * 10 }));
  // host time of t_s = 1_000_000 - 10_000 + t_s*1000 → 991_000 .. 999_000; migration 994_500..997_500
  const placed = placeRows(text, rows, 1_000_000, 994_500, 997_500);
  assert.deepEqual(
    placed.map((r) => r.t),
    [991000, 992000, 993000, 994000, 995000, 996000, 997000, 998000, 999000],
  );
  assert.deepEqual(
    placed.map((r) => r.phase),
    ['before', 'before', 'before', 'before', 'during', 'during', 'during', 'after', 'after'],
  );
  assert.deepEqual(phaseSummary(placed), {
    workload_mib_s_before: 25,
    workload_samples_before: 4,
    workload_mib_s_during: 60,
    workload_samples_during: 3,
    workload_mib_s_after: 85,
    workload_samples_after: 2,
  });
  assert.deepEqual(placeRows('no clock line', rows, 0, 0, 0), [], 'no clock, no placement');
});
