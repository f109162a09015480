/**
 * The record of one run, built in one place from what the run's phases measured. Pure: no I/O,
 * so it is unit-tested on its own (test/build-record.unit.test.ts).
 */
import type { MigrateInfo } from '../qemu/qmp.js';
import type { TimelineEvent } from '../qemu/vm.js';
import { largestGap, type ProbeReply } from '../metrics/probe.js';
import type { CpuComponents } from '../metrics/cpuAccounting.js';
import {
  hostCpuUse,
  nicDelta,
  qemuCpuSeconds,
  sumBytes,
  vcpuCpuSeconds,
  vcpuWaitMs,
  type HostCounters,
} from '../metrics/hostCounters.js';
import { migrationCpu } from '../metrics/migrationCpu.js';
import { pofPathCost } from '../metrics/pofPathCost.js';
import { switchoverBreakdown } from '../metrics/switchover.js';
import type { RunRecord } from '../results/record.js';

/** Host counters read right before `migrate` and once the destination held the whole state. */
export interface CounterWindow {
  before: HostCounters;
  after: HostCounters;
}

/** What a migration that completed measured, raw. */
export interface CompletedMeasurements {
  /** the source's final `query-migrate` (with its times) */
  info: MigrateInfo;
  /** when `migrate` was issued, and when the destination held the whole state (controller clock, ms) */
  startedAt: number;
  dstCompleteAt: number;
  /** the guest's first probe reply on the destination (absent without a probe, e.g. --verify-ram) */
  backOnline?: { t: number };
  probeReplies: ProbeReply[];
  /** the probe ran at real-time priority */
  probeRealtime?: boolean;
  src: CounterWindow;
  dst: CounterWindow;
  /** the NICs the byte counts come from */
  nics: { srcMigration: string; srcStorage: string; dstStorage: string };
  cpu: CpuComponents;
  /** the strategy's own fields (collect) */
  strategyFields: Record<string, number | string>;
  /** run-state and migration-state changes by QEMU's clock, and the strategy's switchover times */
  srcTimeline: TimelineEvent[];
  dstTimeline: TimelineEvent[];
  switchoverTimes?: { agentOutAt?: number; qemuInAt?: number };
}

export interface RunMeasurements {
  /** the record as the run starts: what ran where, status failed "interrupted" until it ends */
  base: RunRecord;
  /** fields measured along the way (boot, warm-up, settings, RAM check, workload phases...): a failed record keeps them */
  along: Partial<RunRecord>;
  /** set once a migration completed and everything after it was measured */
  completed?: CompletedMeasurements;
  /** why the run failed (its failure handling sets it) */
  error?: string;
}

/** The fields a completed migration's raw measurements give. */
function measuredFields(c: CompletedMeasurements): Partial<RunRecord> {
  const ram = c.info.ram!;
  const srcMig = nicDelta(c.src.before, c.src.after, c.nics.srcMigration);
  const srcSto = nicDelta(c.src.before, c.src.after, c.nics.srcStorage);
  const dstSto = nicDelta(c.dst.before, c.dst.after, c.nics.dstStorage);
  const srcCpu = hostCpuUse(c.src.before, c.src.after);
  const dstCpu = hostCpuUse(c.dst.before, c.dst.after);
  return {
    total_time_ms: c.info['total-time'],
    wall_time_ms: c.dstCompleteAt - c.startedAt,
    setup_time_ms: c.info['setup-time'],
    downtime_ms: c.info.downtime,
    app_downtime_ms: c.backOnline
      ? Math.round(largestGap(c.probeReplies, c.startedAt, c.backOnline.t).gapMs)
      : undefined,
    passes: ram['dirty-sync-count'],
    migration_link_bytes: srcMig.rx + srcMig.tx,
    migration_link_tx_bytes: srcMig.tx,
    migration_link_rx_bytes: srcMig.rx,
    storage_link_bytes: sumBytes(srcSto) + sumBytes(dstSto),
    qmp_transferred_bytes: ram.transferred,
    qmp_normal_pages: ram.normal,
    qmp_normal_bytes: ram['normal-bytes'],
    qmp_duplicate_pages: ram.duplicate,
    qmp_total_bytes: ram.total,
    src_qemu_cpu_s: qemuCpuSeconds(c.src.before, c.src.after),
    dst_qemu_cpu_s: qemuCpuSeconds(c.dst.before, c.dst.after),
    src_host_cpu_busy_s: srcCpu.busyS,
    src_host_cpu_util_pct: srcCpu.utilPct,
    dst_host_cpu_busy_s: dstCpu.busyS,
    dst_host_cpu_util_pct: dstCpu.utilPct,
    src_vcpu_wait_ms: vcpuWaitMs(c.src.before, c.src.after),
    src_vcpu_cpu_s: vcpuCpuSeconds(c.src.before, c.src.after),
    probe_rate_hz: c.backOnline ? 100 : undefined,
    probe_realtime: c.backOnline ? c.probeRealtime : undefined,
    ...c.cpu.roles,
    nfs_server_cpu_s: c.cpu.nfs_server_cpu_s,
    harness_cpu_s: c.cpu.harness_cpu_s,
    harness_core_pct: c.cpu.harness_core_pct,
    harness_runner_cpu_s: c.cpu.harness_runner_cpu_s,
    harness_sampler_cpu_s: c.cpu.harness_sampler_cpu_s,
    harness_sshd_cpu_s: c.cpu.harness_sshd_cpu_s,
    cpu_snapshot_error: c.cpu.unread,
  };
}

/**
 * The run's record: failed (with the error) unless the migration completed; a completed migration
 * whose destination RAM differs from the source's is failed too, whatever QEMU says (its
 * measurements are kept; statistics use completed runs only).
 */
export function buildRecord(m: RunMeasurements): RunRecord {
  const started = { ...m.base, ...m.along };
  if (m.error !== undefined || !m.completed) return { ...started, status: 'failed', error: m.error ?? m.base.error };
  const c = m.completed;
  const record: RunRecord = {
    ...started,
    status: 'completed',
    error: undefined,
    ...measuredFields(c),
    ...c.strategyFields,
  };
  record.pof_path_core_s_per_gb = pofPathCost(record);
  Object.assign(record, migrationCpu(record));
  Object.assign(
    record,
    switchoverBreakdown({
      src: c.srcTimeline,
      dst: c.dstTimeline,
      ...c.switchoverTimes,
      replies: c.probeReplies.map((r) => r.t),
      startedAt: c.startedAt,
    }),
  );
  if (record.ram_identical === false) {
    record.status = 'failed';
    record.error =
      `destination RAM differs from the source's after the migration (${record.passes} pre-copy passes` +
      `${record.pof_stream_identical === 1 ? '; the agents handed on exactly the stream the source QEMU sent' : ''})`;
  }
  return record;
}
