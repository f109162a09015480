import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../src/scenario/load.js';
import { runSession } from '../src/runner/session.js';
import { useLocalTestbed } from './helpers/localTestbed.js';
import { runLeftovers } from './helpers/leftovers.js';

// Two local host pairs (testbed up --pairs 2) sharing the one NAS: a stock and a pof run side by side
// (--parallel-pairs), each on its own pair, both complete while the other runs; the helper's after hook
// then checks that nothing is left.
const tb = useLocalTestbed('pairs', { verbose: true, pairs: 2 });

test('stock and pof migrate at the same time on two host pairs', { timeout: 600_000 }, async () => {
  assert.deepEqual(
    tb.testbeds.map((t) => [t.pair, t.hosts.src.name, t.hosts.dst.name, t.vm.guestCidr]),
    [
      ['local', 'src', 'dst', '198.18.3.100/24'],
      ['local2', 'src2', 'dst2', '198.18.3.101/24'],
    ],
  );
  const scenario = parseScenario(
    'name: it-pairs\nguest: { memory_mib: 192 }\nworkload: { type: pagecache, dataset_mib: 32, warmup_s: 1 }\n' +
      'migration: { link_cap_mbit: 1000 }\n',
    'it-pairs.yaml',
  );
  const finishedAt: number[] = [];
  const records = await runSession({
    scenarios: [scenario],
    strategies: ['stock', 'pof'],
    repeat: 1,
    seed: 1,
    testbed: tb.testbed,
    pairs: tb.testbeds,
    image: tb.image,
    outDir: tb.out,
    onRecord: async () => {
      finishedAt.push(Date.now());
    },
  });
  assert.equal(records.length, 2);
  for (const r of records) {
    assert.equal(r.status, 'completed', `run ${r.run_id} on pair ${r.pair} failed: ${r.error}`);
    assert.equal(r.guest_on_dst, true, `${r.run_id}: the guest answers on ${r.dst_host}`);
    console.log(`${r.strategy} on pair ${r.pair} (${r.src_host} -> ${r.dst_host}): total ${r.total_time_ms} ms`);
  }
  assert.deepEqual(records.map((r) => r.pair).sort(), ['local', 'local2'], 'one run on each pair');
  assert.deepEqual(records.map((r) => r.strategy).sort(), ['pof', 'stock']);
  const pof = records.find((r) => r.strategy === 'pof')!;
  assert.ok(Number(pof.pof_ref_pages ?? 0) > 0, `pof sent pages by reference (${pof.pof_ref_pages})`);
  // side by side: the later run started before the earlier one finished
  const lastStart = Math.max(...records.map((r) => Date.parse(r.started_at)));
  assert.ok(lastStart < Math.min(...finishedAt), 'the two runs overlapped');
  assert.deepEqual(runLeftovers(), [], 'no QEMU, agent or sampler left by either run');
});
