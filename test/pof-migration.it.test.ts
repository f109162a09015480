import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../src/scenario/load.js';
import { runSession } from '../src/runner/session.js';
import { useLocalTestbed } from './helpers/localTestbed.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MiB = 1024 * 1024;
const tb = useLocalTestbed('pof', { verbose: true });
const out = tb.out;

test('pagecache guest: stock, pof and the pof-scan oracle side by side, RAM byte-identical at switchover, pof sends ' +
  'far fewer bytes, close to the oracle', {
  timeout: 900_000,
}, async () => {
  const DATASET = 128;
  const scenario = parseScenario(
    `name: it-pof\nguest: { memory_mib: 256 }\nworkload: { type: pagecache, dataset_mib: ${DATASET}, warmup_s: 1 ` +
      `}\nmigration: { link_cap_mbit: 400, timeout_s: 120, pof_agent_nice: 5 }\n`,
    'it-pof.yaml',
  );
  const records = await runSession({
    scenarios: [scenario],
    strategies: ['stock', 'pof', 'pof-scan'],
    testbed: tb.testbed,
    image: tb.image,
    outDir: out,
    seed: 1,
    verifyRam: true,
  });
  assert.equal(records.length, 3);
  for (const r of records) {
    assert.equal(r.status, 'completed', `${r.strategy}: ${r.error}`);
    assert.equal(r.guest_on_dst, true);
    assert.equal(r.ram_identical, true, `${r.strategy}: destination RAM equals source RAM byte for byte`);
    console.log(
      `${r.strategy}: total ${r.total_time_ms} ms, downtime ${r.downtime_ms} ms, link ` +
        `${(r.migration_link_bytes! / MiB).toFixed(1)} MiB, storage ${(r.storage_link_bytes! / MiB).toFixed(1)} MiB` +
        (r.strategy !== 'stock'
          ? `, ${r.pof_ref_pages} refs, ${r.pof_full_pages} full, NAS read ` +
            `${((r.nas_read_bytes as number) / MiB).toFixed(1)} MiB, agents ${r.agent_cpu_s} CPU s, index ` +
            `${r.index_blocks} blocks in ${r.index_build_ms} ms`
          : ''),
    );
  }
  const stock = records.find((r) => r.strategy === 'stock')!;
  const pof = records.find((r) => r.strategy === 'pof')!;
  const datasetPages = (DATASET * MiB) / 4096;
  assert.ok(
    (pof.pof_ref_pages as number) >= datasetPages * 0.8,
    `the cached dataset goes by reference: ${pof.pof_ref_pages} of ${datasetPages} pages`,
  );
  assert.equal(pof.pof_verify_mismatches, 0);
  const refBytes = (pof.pof_ref_pages as number) * 4096;
  assert.equal(pof.nas_read_bytes, refBytes, 'the target read each referenced block from the NAS once, nothing more');
  for (const f of ['pof_full_pages', 'pof_zero_pages', 'index_blocks', 'index_build_ms', 'agent_cpu_s'] as const)
    assert.equal(typeof pof[f], 'number', `${f} recorded`);
  assert.ok(
    pof.migration_link_bytes! < stock.migration_link_bytes! * 0.7,
    `pof link ${pof.migration_link_bytes} vs stock ${stock.migration_link_bytes}`,
  );
  assert.ok(
    pof.storage_link_bytes! > stock.storage_link_bytes! + datasetPages * 4096 * 0.8,
    'the pages came over the storage network instead',
  );
  // the I/O-monitoring index had caught up before migrate, and does about as well as hashing the whole image
  assert.equal(pof.index_caught_up, 1);
  assert.equal(
    pof.pof_stream_identical,
    1,
    "the agents checked end to end that the destination QEMU got exactly the source QEMU's stream",
  );
  assert.equal(typeof pof.index_wait_ms, 'number');
  assert.equal(pof.pof_agent_nice, 5, "the agents ran at the scenario's nice value (their own getPriority())");
  checkStreamSeries(pof);
  const oracle = records.find((r) => r.strategy === 'pof-scan')!;
  assert.ok(
    oracle.index_blocks! > pof.index_blocks!,
    `the oracle indexes the whole image: ${oracle.index_blocks} vs ${pof.index_blocks} blocks`,
  );
  const ratio = (pof.pof_stream_bytes as number) / (oracle.pof_stream_bytes as number);
  assert.ok(
    ratio < 1.1,
    `pof's stream is within 10 % of the oracle's: ${pof.pof_stream_bytes} vs ${oracle.pof_stream_bytes} bytes`,
  );
});

test('pof refuses stream-changing capabilities before anything starts', async () => {
  const s = parseScenario('name: it-xbzrle\nmigration: { capabilities: { xbzrle: true } }\n', 'it-xbzrle.yaml');
  await assert.rejects(
    runSession({ scenarios: [s], strategies: ['pof'], testbed: tb.testbed, image: tb.image, outDir: out }),
    /migration\.capabilities\.xbzrle.*not supported by the pof strategy/,
  );
});

test('anon and rewrite (O_DIRECT and buffered) guests: pof delivers byte-identical RAM while the guest dirties ' +
  'memory and rewrites disk blocks', {
  timeout: 900_000,
}, async () => {
  const anon = parseScenario(
    'name: it-pof-anon\nguest: { memory_mib: 256 }\nworkload: { type: anon, size_mib: 16, warmup_s: 1 }\nmigration: ' +
      '{ link_cap_mbit: 0, downtime_limit_ms: 1000, timeout_s: 180 }\n',
    'it-pof-anon.yaml',
  );
  const rewrites = [true, false].map((direct) =>
    parseScenario(
      `name: it-pof-rewrite-${direct ? 'direct' : 'buffered'}\nguest: { memory_mib: 256 }\nworkload: { type: ` +
        `rewrite, file_mib: 32, rate_mib_s: 8, direct: ${direct}, warmup_s: 2 }\nmigration: { link_cap_mbit: 300, ` +
        `downtime_limit_ms: 3000, timeout_s: 120 }\n`,
      'it-pof-rewrite.yaml',
    ),
  );
  const records = await runSession({
    scenarios: [anon, ...rewrites],
    strategies: ['pof'],
    testbed: tb.testbed,
    image: tb.image,
    outDir: out,
    seed: 2,
    verifyRam: true,
  });
  assert.equal(records.length, 3);
  for (const r of records) {
    console.log(
      `${r.scenario}: ${r.status} total ${r.total_time_ms} ms, passes ${r.passes}, refs ${r.pof_ref_pages}, full ` +
        `${r.pof_full_pages}, mismatches ${r.pof_verify_mismatches}, fallbacks ${r.pof_fallback_pages}, RAM ` +
        `identical ${r.ram_identical}`,
    );
    assert.equal(r.status, 'completed', `${r.scenario}: ${r.error}`);
    assert.equal(
      r.ram_identical,
      true,
      `${r.scenario}: destination RAM equals source RAM byte for byte (${r.passes} passes)`,
    );
    assert.equal(r.pof_verify_mismatches, r.pof_fallback_pages, 'every mismatch was served from the source');
  }
});

// QEMU 7.2 under TCG lost pages from the 4th pre-copy pass on (stock too); QEMU >= 8.2 must not:
// many passes (a guest dirtying 32 MiB faster than any pass sends it, auto-converge) end byte-identical.
// Only auto-converge's throttle ends them: ~80-120 passes in 20-29 s here, either limit. The limit is 120 ms,
// not 60: pof tells QEMU half the link's rate at limits that short (switchoverBandwidth), so at 60 ms it
// stops only with < 3.75 MB dirty, near what the vCPU's 10 ms slices at 99 % throttle dirty; twice
// (a CI run and a rerun of this file) pof then had not converged in 240 s. At 120 ms its bar is stock's at 60.
test('many pre-copy passes: stock and pof both byte-identical at >= 4 passes', { timeout: 900_000 }, async () => {
  const scenario = parseScenario(
    'name: it-many-passes\nguest: { memory_mib: 256 }\nworkload: { type: anon, size_mib: 32, warmup_s: 1 }\n' +
      'migration: { link_cap_mbit: 1000, downtime_limit_ms: 120, timeout_s: 240, capabilities: { auto-converge: ' +
      'true } }\n',
    'it-many-passes.yaml',
  );
  const records = await runSession({
    scenarios: [scenario],
    strategies: ['stock', 'pof'],
    testbed: tb.testbed,
    image: tb.image,
    outDir: out,
    seed: 3,
    verifyRam: true,
  });
  assert.equal(records.length, 2);
  for (const r of records) {
    console.log(
      `${r.strategy}: ${r.status} total ${r.total_time_ms} ms, passes ${r.passes}, RAM identical ${r.ram_identical}`,
    );
    assert.equal(r.status, 'completed', `${r.strategy} (${r.passes} passes, ${r.total_time_ms} ms): ${r.error}`);
    assert.ok(r.passes! >= 4, `${r.strategy}: ${r.passes} pre-copy passes (the test needs >= 4)`);
    assert.equal(r.ram_identical, true, `${r.strategy}: destination RAM equals source RAM after ${r.passes} passes`);
  }
});

/** The source agent's stream timeline is the run's `pof-stream` series, ending where the stream did. */
function checkStreamSeries(r: { run_id: string; [k: string]: unknown }): void {
  const file = readdirSync(out, { recursive: true, encoding: 'utf8' }).find((p) =>
    p.endsWith(join(r.run_id, 'series', 'pof-stream.jsonl')),
  );
  assert.ok(file, `series pof-stream of ${r.run_id}`);
  const rows = readFileSync(join(out, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  for (let i = 1; i < rows.length; i++) {
    assert.ok(rows[i].t >= rows[i - 1].t && rows[i].qemu_bytes >= rows[i - 1].qemu_bytes, `row ${i} goes forward`);
    assert.ok(rows[i].delivered_bytes <= rows[i].qemu_bytes, `row ${i}: no more delivered than read`);
  }
  const last = rows.at(-1);
  assert.equal(last.qemu_bytes, r.pof_qemu_stream_bytes, 'the last sample is the whole stream');
  assert.equal(last.delivered_bytes, r.pof_qemu_stream_bytes, 'all of it delivered');
  assert.equal(last.ref_pages, r.pof_ref_pages);
  assert.ok(rows.every((x) => ['', 'link', 'stream_window', 'retention_window'].includes(x.held_by)));
}
