import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecord, type CompletedMeasurements, type RunMeasurements } from '../src/runner/buildRecord.js';
import type { RunRecord } from '../src/results/record.js';
import type { HostCounters } from '../src/metrics/hostCounters.js';

const base: RunRecord = {
  run_id: 'r1',
  scenario: 's',
  config_id: '',
  sweep: {},
  strategy: 'pof',
  repeat: 0,
  warmup: false,
  status: 'failed',
  error: 'runner did not finish this run (interrupted)',
  started_at: '2026-12-01T00:00:00.000Z',
  testbed: 'local',
  src_host: 'src',
  dst_host: 'dst',
  pofbench_rev: 'abc',
  params: {},
};

const counters = (mig: [number, number], sto: [number, number], at: number, cpuS?: number, busy?: number) =>
  ({
    nic: { mig0: { rx: mig[0], tx: mig[1] }, sto0: { rx: sto[0], tx: sto[1] } },
    cpuS,
    hostBusyS: busy,
    hostCores: 2,
    at,
  }) satisfies HostCounters;

const T0 = 1_000_000;
/** A pof migration that started at T0 and whose destination held the whole state 4 s later. */
const completed = (): CompletedMeasurements => ({
  info: {
    status: 'completed',
    'total-time': 3500,
    'setup-time': 12,
    downtime: 80,
    ram: {
      transferred: 50e6,
      remaining: 0,
      total: 256 * 2 ** 20,
      duplicate: 100,
      normal: 12000,
      'normal-bytes': 12000 * 4096,
      'dirty-pages-rate': 0,
      mbps: 100,
      'dirty-sync-count': 3,
    },
  },
  startedAt: T0,
  dstCompleteAt: T0 + 4000,
  backOnline: { t: T0 + 3700 },
  // every 10 ms until T0 + 3000, then nothing until T0 + 3700
  probeReplies: [...Array.from({ length: 301 }, (_, i) => T0 + 10 * i), T0 + 3700].map((t, i) => ({
    t,
    seq: i,
    rttMs: 0.2,
  })),
  src: {
    before: { ...counters([100, 1000], [10, 20], T0, 5, 100), vcpuRunS: 10, vcpuWaitS: 1 },
    after: { ...counters([200, 51000], [30, 70], T0 + 4000, 7.5, 104), vcpuRunS: 11.5, vcpuWaitS: 1.25 },
  },
  dst: { before: counters([0, 0], [1, 2], T0, 0.5, 50), after: counters([0, 0], [101, 202], T0 + 4000, 2, 52) },
  nics: { srcMigration: 'mig0', srcStorage: 'sto0', dstStorage: 'sto0' },
  cpu: {
    roles: { source_agent_cpu_s: 1, target_agent_cpu_s: 0.5 },
    nfs_server_cpu_s: 0.3,
    harness_cpu_s: 0.4,
    harness_runner_cpu_s: 0.2,
    harness_sampler_cpu_s: 0.1,
    harness_sshd_cpu_s: 0.1,
    harness_core_pct: 10,
  },
  strategyFields: { pof_qemu_stream_bytes: 3e9, pof_stream_identical: 1 },
  srcTimeline: [
    { event: 'STOP', t: T0 + 3400 },
    { event: 'MIGRATION', status: 'completed', t: T0 + 3450 },
  ],
  dstTimeline: [{ event: 'RESUME', t: T0 + 3600 }],
  switchoverTimes: { agentOutAt: T0 + 3460, qemuInAt: T0 + 3500 },
});

test('buildRecord: a completed migration: QMP times and counts, link bytes, CPU and the switchover', () => {
  const m: RunMeasurements = { base, along: { boot_ms: 900, qemu_version: '10.0.0' }, completed: completed() };
  const r = buildRecord(m);
  assert.equal(r.status, 'completed');
  assert.equal(r.error, undefined);
  assert.equal(r.boot_ms, 900, 'fields measured along the way are kept');
  assert.equal(r.qemu_version, '10.0.0');
  assert.equal(r.total_time_ms, 3500);
  assert.equal(r.wall_time_ms, 4000, 'from migrate until the destination held the whole state');
  assert.equal(r.setup_time_ms, 12);
  assert.equal(r.downtime_ms, 80);
  assert.equal(r.app_downtime_ms, 700, 'the largest gap between probe replies in the window');
  assert.equal(r.probe_rate_hz, 100);
  assert.equal(r.passes, 3);
  assert.equal(r.migration_link_bytes, 100 + 50000, 'both directions of the source migration NIC');
  assert.equal(r.migration_link_tx_bytes, 50000);
  assert.equal(r.migration_link_rx_bytes, 100);
  assert.equal(r.storage_link_bytes, 20 + 50 + 100 + 200, 'source and destination storage NICs, both directions');
  assert.equal(r.qmp_transferred_bytes, 50e6);
  assert.equal(r.qmp_normal_pages, 12000);
  assert.equal(r.qmp_normal_bytes, 12000 * 4096);
  assert.equal(r.qmp_duplicate_pages, 100);
  assert.equal(r.src_qemu_cpu_s, 2.5);
  assert.equal(r.dst_qemu_cpu_s, 1.5);
  assert.equal(r.src_host_cpu_busy_s, 4);
  assert.equal(r.src_host_cpu_util_pct, 50, '4 busy core-seconds of 2 cores × 4 s');
  assert.equal(r.dst_host_cpu_busy_s, 2);
  assert.equal(r.nfs_server_cpu_s, 0.3);
  assert.equal(r.harness_cpu_s, 0.4);
  assert.equal(r.source_agent_cpu_s, 1);
  assert.equal(r.pof_qemu_stream_bytes, 3e9, "the strategy's own fields");
  assert.equal(r.pof_path_core_s_per_gb, 0.5, '1.5 agent CPU seconds per 3 GB of stream');
  assert.equal(r.switchover_src_sent_ms, 50);
  assert.equal(r.switchover_agent_out_ms, 60);
  assert.equal(r.switchover_dst_loaded_ms, 100);
  assert.equal(r.switchover_dst_running_ms, 200);
  assert.equal(r.switchover_first_reply_ms, 300);
  assert.equal(r.app_switchover_gap_ms, 700, 'last reply before the stop (T0+3000) to the first after (T0+3700)');
  assert.equal(r.app_live_gap_ms, 10, 'before the stop the guest answered every 10 ms');
  assert.equal(r.src_vcpu_wait_ms, 250, "the source vCPUs' run-queue wait between the two reads");
  assert.equal(r.src_vcpu_cpu_s, 1.5, "the source vCPUs' run time between the two reads");
  assert.equal(r.src_qemu_non_vcpu_cpu_s, 1, 'the source QEMU (2.5 s) without its vCPUs (1.5 s)');
  assert.equal(r.migration_cpu_s, 4.3, 'src QEMU without vCPUs 1 + dst QEMU 1.5 + agents 1.5 + NFS server 0.3');
  assert.equal(m.base.status, 'failed', 'the record as the run started is not changed');
});

test('buildRecord: without a probe (--verify-ram) no application downtime; unread QEMU CPU stays absent', () => {
  const c = completed();
  c.backOnline = undefined;
  c.src.after.cpuS = undefined;
  const r = buildRecord({ base, along: { ram_identical: true }, completed: c });
  assert.equal(r.status, 'completed');
  assert.equal(r.app_downtime_ms, undefined);
  assert.equal(r.probe_rate_hz, undefined);
  assert.equal(r.src_qemu_cpu_s, undefined, 'absent, never zero');
  assert.equal(r.dst_qemu_cpu_s, 1.5);
  assert.equal(r.src_vcpu_cpu_s, 1.5);
  assert.equal(r.migration_cpu_s, undefined, 'without the source QEMU there is no sum');
  assert.equal(r.src_qemu_non_vcpu_cpu_s, undefined);
});

test('buildRecord: destination RAM that differs fails a completed migration, its measurements kept', () => {
  const r = buildRecord({ base, along: { ram_identical: false }, completed: completed() });
  assert.equal(r.status, 'failed');
  assert.equal(
    r.error,
    "destination RAM differs from the source's after the migration (3 pre-copy passes; the agents handed on " +
      'exactly the stream the source QEMU sent)',
  );
  assert.equal(r.total_time_ms, 3500);
});

test('buildRecord: a failed run keeps what was measured along the way and says why', () => {
  const r = buildRecord({
    base,
    along: { boot_ms: 900, src_resumed: true, src_vm_status_after: 'running' },
    error: 'migration failed: connection reset',
  });
  assert.equal(r.status, 'failed');
  assert.equal(r.error, 'migration failed: connection reset');
  assert.equal(r.boot_ms, 900);
  assert.equal(r.src_resumed, true);
  assert.equal(r.total_time_ms, undefined, 'nothing of a migration that did not complete');
  // a failure after everything was measured (e.g. the outcome could not be reported) is still a failure
  assert.equal(buildRecord({ base, along: {}, completed: completed(), error: 'x' }).status, 'failed');
});

test('buildRecord: a run that never got to an outcome is failed "interrupted", as it started', () => {
  const r = buildRecord({ base, along: { qemu_version: '10.0.0' } });
  assert.equal(r.status, 'failed');
  assert.equal(r.error, 'runner did not finish this run (interrupted)');
  assert.equal(r.qemu_version, '10.0.0');
});
