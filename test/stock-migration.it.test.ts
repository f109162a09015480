import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../src/scenario/load.js';
import { runSession, connectHosts } from '../src/runner/session.js';
import type { TestbedSpec } from '../src/testbed/spec.js';
import type { RunRecord } from '../src/results/record.js';
import { useLocalTestbed } from './helpers/localTestbed.js';

const MiB = 1024 * 1024;
const tb = useLocalTestbed('stock', { verbose: true });
const out = tb.out;

function checkCompleted(r: RunRecord) {
  assert.equal(r.status, 'completed', `run ${r.run_id} failed: ${r.error}`);
  assert.equal(r.guest_on_dst, true, 'the guest answers on dst and src is no longer running');
  for (const f of [
    'total_time_ms',
    'downtime_ms',
    'app_downtime_ms',
    'migration_link_bytes',
    'storage_link_bytes',
    'qmp_transferred_bytes',
    'passes',
    'src_qemu_cpu_s',
    'dst_qemu_cpu_s',
    'src_vcpu_cpu_s',
    'migration_cpu_s',
  ] as const) {
    assert.equal(typeof r[f], 'number', `${f} measured`);
  }
  // the guest's vCPUs are part of the source QEMU; the migration's CPU holds at least the destination QEMU
  assert.ok(
    r.src_vcpu_cpu_s! <= r.src_qemu_cpu_s! + 0.05,
    `vCPUs ${r.src_vcpu_cpu_s} s within QEMU ${r.src_qemu_cpu_s} s`,
  );
  assert.ok(
    r.migration_cpu_s! >= r.dst_qemu_cpu_s!,
    `migration ${r.migration_cpu_s} s >= dst QEMU ${r.dst_qemu_cpu_s} s`,
  );
  assert.ok(
    r.total_time_ms! > 0 && r.downtime_ms! > 0,
    `QMP times filled in: total ${r.total_time_ms}, downtime ${r.downtime_ms}`,
  );
  // the link carried at least the non-zero RAM QEMU sent (plus protocol and TCP overhead), unless compressed
  if ((r.params.multifd_compression ?? 'none') === 'none') {
    assert.ok(
      r.migration_link_bytes! >= r.qmp_normal_bytes!,
      `link ${r.migration_link_bytes} >= normal ${r.qmp_normal_bytes}`,
    );
  }
  // the rate of a migration shorter than a few samples is mostly rounding (an idle guest moves in ~0.4 s)
  if (r.total_time_ms! >= 1000)
    assert.ok(r.qmp_sample_hz! >= 8, `QMP sampled at ${r.qmp_sample_hz} Hz (10 Hz nominal)`);
  else assert.ok(r.qmp_sample_hz! > 0, `QMP sampled (${r.qmp_sample_hz} Hz over ${r.total_time_ms} ms)`);
  assert.ok(r.app_downtime_ms! >= 0 && r.app_downtime_ms! < 30_000);
  const dir = join(out, r.run_id);
  const saved = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  assert.equal(saved.status, 'completed');
  for (const s of ['qmp', 'host-src', 'host-dst', 'probe'])
    assert.ok(existsSync(join(dir, 'series', `${s}.jsonl`)), `series ${s}`);
}

test('idle and pagecache guests migrate with stock QEMU over the testbed', { timeout: 900_000 }, async () => {
  const idle = parseScenario(
    'name: it-idle\nguest: { memory_mib: 256 }\nworkload: { type: idle, warmup_s: 0 }\nmigration: { ' +
      'link_cap_mbit: 0 }\n',
    'it-idle.yaml',
  );
  const pagecache = parseScenario(
    'name: it-pagecache\nguest: { memory_mib: 384 }\nworkload: { type: pagecache, dataset_mib: 160, warmup_s: 1 ' +
      '}\nmigration: { link_cap_mbit: 2000 }\n',
    'it-pagecache.yaml',
  );
  const records = await runSession({
    scenarios: [idle, pagecache],
    strategies: ['stock'],
    testbed: tb.testbed,
    image: tb.image,
    outDir: out,
  });
  assert.equal(records.length, 2);
  for (const r of records) {
    checkCompleted(r);
    console.log(
      `${r.scenario}: total ${r.total_time_ms} ms, downtime ${r.downtime_ms} ms, app downtime ${r.app_downtime_ms} ` +
        `ms, link ${(r.migration_link_bytes! / MiB).toFixed(1)} MiB, passes ${r.passes}`,
    );
  }
  const pc = records.find((r) => r.scenario === 'it-pagecache')!;
  const idleRun = records.find((r) => r.scenario === 'it-idle')!; // the run order is shuffled
  // the dataset was read over the storage network (NFS), not the migration link
  assert.ok(
    pc.warmup_storage_link_bytes! >= 160 * MiB * 0.95,
    `storage bytes during warm-up: ${pc.warmup_storage_link_bytes}`,
  );
  // page-cache RAM is non-zero: the pagecache guest sends much more than the idle one
  assert.ok(pc.qmp_normal_bytes! > idleRun.qmp_normal_bytes! + 120 * MiB);
});

test('stock at its best: multifd with multifd zero-page detection and zstd completes, its settings in the record', {
  timeout: 600_000,
}, async () => {
  const best = parseScenario(
    'name: it-multifd\nguest: { memory_mib: 256 }\nworkload: { type: pagecache, dataset_mib: 64, warmup_s: 1 }\n' +
      'migration: { link_cap_mbit: 1000, multifd_channels: 2, zero_page_detection: multifd, multifd_compression: ' +
      'zstd }\n',
    'it-multifd.yaml',
  );
  const [r] = await runSession({
    scenarios: [best],
    strategies: ['stock'],
    testbed: tb.testbed,
    image: tb.image,
    outDir: out,
  });
  checkCompleted(r);
  assert.equal(r.params.multifd_channels, 2);
  assert.equal(r.params.zero_page_detection, 'multifd');
  assert.equal(r.params.multifd_compression, 'zstd');
  // QEMU ran with those settings: its own view of the source's capabilities and parameters, saved with the run
  const applied = JSON.parse(readFileSync(join(out, r.run_id, 'qemu-migration-settings.json'), 'utf8'));
  assert.equal(applied.parameters['multifd-channels'], 2);
  assert.equal(applied.parameters['multifd-compression'], 'zstd');
  assert.equal(applied.parameters['zero-page-detection'], 'multifd');
  assert.equal(applied.capabilities.multifd, true);
  assert.ok(
    r.migration_link_bytes! < r.qmp_normal_bytes!,
    `zstd: the link carried less than the RAM pages (${r.migration_link_bytes} vs ${r.qmp_normal_bytes})`,
  );
  console.log(
    `multifd x2 + zstd: total ${r.total_time_ms} ms, link ${(r.migration_link_bytes! / MiB).toFixed(1)} MiB, QMP ` +
      `transferred ${(r.qmp_transferred_bytes! / MiB).toFixed(1)} MiB`,
  );
});

test('an unreachable host is one clear error', { timeout: 60_000 }, async () => {
  const broken: TestbedSpec = structuredClone(tb.testbed);
  broken.hosts.src.ssh.host = '198.18.0.99';
  await assert.rejects(connectHosts(broken), /host src \(198\.18\.0\.99:22\) is unreachable over SSH/);
});

test("ssh over a testbed host's sshd: 1600 fast commands, 8 at once, each with its own exit status", {
  timeout: 120_000,
}, async () => {
  // sshd sends a fast command's exit status right behind the exec's reply; read together, 'exit' was emitted before
  // SshHost listened for it (8.5 % of these commands came back as exit -1 before the fix, 0 of 10400 after)
  const hosts = await connectHosts(tb.testbed);
  try {
    const codes = new Map<number, number>();
    const worker = async () => {
      for (let i = 0; i < 100; i++) {
        for (const want of [0, 3]) {
          const { code } = await hosts.src.exec(`exit ${want}`, { allowFail: true });
          codes.set(code, (codes.get(code) ?? 0) + 1);
          assert.equal(code, want, `exit ${want} came back as ${code}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.deepEqual([...codes.entries()].sort(), [
      [0, 800],
      [3, 800],
    ]);
    assert.equal(hosts.src.reconnects, 0);
  } finally {
    for (const h of Object.values(hosts)) h.close();
  }
});
