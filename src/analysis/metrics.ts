/**
 * The numeric run.json fields the analysis commands work on: how to read one from a record
 * (including the derived `cpu_s`), how to print it, and how to validate a user's field list.
 */
import { recordField, type RunRecord } from '../results/record.js';
import { UserError } from '../util/errors.js';

/** run.json fields that are measurements (not identifiers such as `repeat`). */
export const KNOWN_METRICS: readonly string[] = [
  'total_time_ms',
  'wall_time_ms',
  'setup_time_ms',
  'downtime_ms',
  'expected_downtime_ms',
  'app_downtime_ms',
  'passes',
  'migration_link_bytes',
  'migration_link_tx_bytes',
  'migration_link_rx_bytes',
  'storage_link_bytes',
  'warmup_storage_link_bytes',
  'qmp_transferred_bytes',
  'qmp_normal_pages',
  'qmp_normal_bytes',
  'qmp_duplicate_pages',
  'qmp_total_bytes',
  'src_qemu_cpu_s',
  'dst_qemu_cpu_s',
  'agent_cpu_s',
  'src_agent_cpu_s',
  'dst_agent_cpu_s',
  'pof_full_pages',
  'pof_ref_pages',
  'pof_zero_pages',
  'pof_fallback_pages',
  'pof_verify_mismatches',
  'pof_stream_bytes',
  'nas_read_bytes',
  'index_blocks',
  'index_build_ms',
  'index_nas_read_bytes',
  'boot_ms',
  'workload_ready_ms',
  'source_agent_cpu_s',
  'target_agent_cpu_s',
  'src_nas_view_cpu_s',
  'dst_nas_view_cpu_s',
  'nfs_server_cpu_s',
  'harness_cpu_s',
  'harness_core_pct',
  'pof_path_core_s_per_gb',
  'switchover_src_sent_ms',
  'switchover_agent_out_ms',
  'switchover_dst_loaded_ms',
  'switchover_dst_running_ms',
  'switchover_first_reply_ms',
  'app_switchover_gap_ms',
  'app_live_gap_ms',
  'src_vcpu_wait_ms',
  'src_vcpu_cpu_s',
  'src_qemu_non_vcpu_cpu_s',
  'migration_cpu_s',
];

/** Derived: QEMU CPU on both hosts plus the POF agents' CPU when the record has it. */
export const CPU_S = 'cpu_s';

/** Fields that look numeric in a record but are not measurements. */
const NOT_METRICS = new Set(['repeat', 'qmp_sample_hz', 'probe_rate_hz', 'probe_realtime']);

export const DEFAULT_COMPARE_FIELDS: readonly string[] = [
  'total_time_ms',
  'downtime_ms',
  'app_downtime_ms',
  'migration_link_bytes',
  'storage_link_bytes',
  'qmp_transferred_bytes',
  'passes',
  'src_qemu_cpu_s',
  'src_vcpu_cpu_s',
  'dst_qemu_cpu_s',
  'source_agent_cpu_s',
  'target_agent_cpu_s',
  'nfs_server_cpu_s',
  'migration_cpu_s',
  'harness_cpu_s',
  'pof_path_core_s_per_gb',
];

/** The app (probe) downtime, what users feel — QMP's downtime_ms is QEMU's view from the source. */
export const DEFAULT_OBJECTIVES: readonly string[] = ['total_time_ms', 'app_downtime_ms', 'migration_link_bytes'];

/** The value of `field` in `r`, or undefined when the record does not carry it. */
export function metricValue(r: RunRecord, field: string): number | undefined {
  if (field === CPU_S) {
    const src = r.src_qemu_cpu_s;
    const dst = r.dst_qemu_cpu_s;
    if (typeof src !== 'number' || typeof dst !== 'number') return undefined;
    const agent = typeof r.agent_cpu_s === 'number' ? r.agent_cpu_s : 0;
    return src + dst + agent;
  }
  const v = recordField(r, field);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Every field name valid for these records: the known metrics, `cpu_s`, and any other top-level number. */
export function validMetrics(records: readonly RunRecord[]): string[] {
  const names = new Set<string>([...KNOWN_METRICS, CPU_S]);
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === 'number' && !NOT_METRICS.has(k)) names.add(k);
    }
  }
  return [...names];
}

/**
 * Splits a comma-separated field list and checks every name; an unknown one is a UserError
 * naming it and listing the valid ones.
 */
export function parseFieldList(list: string, option: string, records: readonly RunRecord[]): string[] {
  const fields = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (fields.length === 0)
    throw new UserError(`${option} is empty`, `give a comma-separated list, e.g. ${option} total_time_ms,downtime_ms`);
  const valid = validMetrics(records);
  for (const f of fields) {
    if (!valid.includes(f))
      throw new UserError(`unknown field "${f}" in ${option}`, `valid fields: ${valid.join(', ')}`);
  }
  return [...new Set(fields)];
}

const MiB = 1024 * 1024;

/** Unit shown for a field, from its name's suffix. */
export function metricUnit(field: string): string {
  if (field.endsWith('_ms')) return 'ms';
  if (field.endsWith('_bytes')) return 'MiB';
  if (field.endsWith('_s')) return 's';
  return '';
}

/** A value of `field` for people: bytes in MiB, milliseconds whole, seconds with two decimals. */
export function formatMetric(field: string, v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  switch (metricUnit(field)) {
    case 'MiB':
      return (v / MiB).toFixed(1);
    case 'ms':
      return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
    case 's':
      return v.toFixed(2);
    default:
      return Number.isInteger(v) ? String(v) : v.toFixed(1);
  }
}

/** `field (unit)` for table headers. */
export function metricLabel(field: string): string {
  const u = metricUnit(field);
  return u ? `${field} (${u})` : field;
}
