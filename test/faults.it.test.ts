import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localUp } from '../src/testbed/local/localTestbed.js';
import { EXTRA_ROWS, runFaultSuite } from '../src/faults/suite.js';
import { FAULTS } from '../src/faults/catalog.js';
import { useLocalTestbed } from './helpers/localTestbed.js';

const tb = useLocalTestbed('faults');
const out = tb.out;

test('fault suite: every fault fails cleanly (source VM running) or completes with byte-identical RAM; nothing left ' +
  'running; no record lost', {
  timeout: 1_500_000,
}, async () => {
  const rows = await runFaultSuite({
    testbed: tb.testbed,
    bringUp: () => localUp(),
    image: tb.image,
    outDir: out,
    log: (l) => console.log(l),
  });
  for (const r of rows)
    console.log(
      `${r.ok ? 'ok    ' : 'NOT OK'} ${r.fault} (${r.strategy}): expected ${r.expected}; ${r.observed}; source VM ` +
        `after: ${r.src_vm_after}; leftovers: ${r.leftovers.length}${r.detail ? ` [${r.detail}]` : ''}`,
    );
  const expected = FAULTS.reduce((n, f) => n + f.strategies.length, 0) + EXTRA_ROWS.length;
  assert.equal(rows.length, expected, 'every row ran: each fault × strategy, then InfluxDB, runner and testbed rows');
  for (const r of rows)
    assert.ok(r.ok, `${r.fault} (${r.strategy}): ${r.observed} ${r.detail ?? ''} leftovers=${r.leftovers.join('; ')}`);
});
