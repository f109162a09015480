import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localUp } from '../src/testbed/local/localTestbed.js';
import { EXTRA_ROWS, runFaultSuite } from '../src/faults/suite.js';
import { FAULTS } from '../src/faults/catalog.js';
import { useLocalTestbed } from './helpers/localTestbed.js';

const tb = useLocalTestbed('faults');

/**
 * The suite has 26 rows (about 40 minutes here): the test suite runs one row of each kind — an agent killed, a
 * QEMU killed, the NAS gone for good, the SSH connection dropped, a link flapping, InfluxDB hanging, the runner
 * interrupted, a second session, a full results disk — and `POFBENCH_FAULTS=all` (or `pofbench faults`) runs
 * every row.
 */
const CI_ROWS = [
  'kill-target-agent',
  'kill-src-qemu',
  'nas-down',
  'ssh-drop',
  'link-flap-5x',
  'influx-hanging',
  'runner-sigint',
  'second-session',
  'disk-full',
];
const only = process.env.POFBENCH_FAULTS === 'all' ? undefined : CI_ROWS;
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
    only,
    log: (l) => console.log(l),
  });
  for (const r of rows)
    console.log(
      `${r.ok ? 'ok    ' : 'NOT OK'} ${r.fault} (${r.strategy}): expected ${r.expected}; ${r.observed}; source VM ` +
        `after: ${r.src_vm_after}; leftovers: ${r.leftovers.length}${r.detail ? ` [${r.detail}]` : ''}`,
    );
  const selected = <T extends { name: string }>(xs: T[]) => xs.filter((x) => !only || only.includes(x.name));
  const expected = selected(FAULTS).reduce((n, f) => n + f.strategies.length, 0) + selected(EXTRA_ROWS).length;
  assert.equal(rows.length, expected, 'every selected row ran: each fault × strategy, then the other rows');
  for (const r of rows)
    assert.ok(r.ok, `${r.fault} (${r.strategy}): ${r.observed} ${r.detail ?? ''} leftovers=${r.leftovers.join('; ')}`);
});
