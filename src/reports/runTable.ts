import { table } from 'table';
import type { RunRecord } from '../results/record.js';

const MiB = 1024 * 1024;
const num = (v: unknown, digits = 0) => (typeof v === 'number' ? v.toFixed(digits) : '-');

/** The terminal table printed after `pofbench run`: one row per migration. */
export function renderRunTable(records: RunRecord[]): string {
  const head = [
    'scenario',
    'strategy',
    'rep',
    'status',
    'total ms',
    'downtime ms',
    'app downtime ms',
    'passes',
    'mig link MiB',
    'storage MiB',
    'QMP sent MiB',
    'src CPU s',
  ];
  const rows = records.map((r) => [
    r.scenario,
    r.strategy,
    String(r.repeat),
    r.status === 'completed' ? 'completed' : `FAILED: ${(r.error ?? '').slice(0, 60)}`,
    num(r.total_time_ms),
    num(r.downtime_ms),
    num(r.app_downtime_ms),
    num(r.passes),
    num(typeof r.migration_link_bytes === 'number' ? r.migration_link_bytes / MiB : undefined, 1),
    num(typeof r.storage_link_bytes === 'number' ? r.storage_link_bytes / MiB : undefined, 1),
    num(typeof r.qmp_transferred_bytes === 'number' ? r.qmp_transferred_bytes / MiB : undefined, 1),
    num(r.src_qemu_cpu_s, 2),
  ]);
  return table([head, ...rows], { columns: { 3: { width: 24, wrapWord: true } } });
}
