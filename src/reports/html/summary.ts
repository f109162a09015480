import { fieldValues } from '../../analysis/compare.js';
import { median } from '../../analysis/stats.js';
import type { RunData } from './runSet.js';
import { reportGroups } from './chartData.js';
import { MiB, distinct, orderStrategies, round } from './stats.js';

/** What the report's header says about the run set. */
export interface RunSetInfo {
  /** Every run found, warm-up runs included. */
  runs: number;
  completed: number;
  failed: number;
  /** Warm-up runs: counted here, left out of every chart and statistic. */
  warmups: number;
  scenarios: string[];
  strategies: string[];
  testbeds: string[];
  hosts: string[];
  qemuVersions: string[];
  revisions: string[];
  firstStarted?: string;
  lastStarted?: string;
}

export function runSetInfo(runs: readonly RunData[]): RunSetInfo {
  const recs = runs.map((r) => r.record);
  const started = recs
    .map((r) => r.started_at)
    .filter((s) => typeof s === 'string')
    .sort();
  const present = (xs: (string | undefined)[]) =>
    distinct(xs.filter((x): x is string => typeof x === 'string' && x !== '')).sort();
  return {
    runs: recs.length,
    completed: recs.filter((r) => r.status === 'completed').length,
    failed: recs.filter((r) => r.status !== 'completed').length,
    warmups: recs.filter((r) => r.warmup === true).length,
    scenarios: distinct(recs.map((r) => r.scenario)).sort(),
    strategies: orderStrategies(recs.map((r) => r.strategy)),
    testbeds: present(recs.map((r) => r.testbed)),
    hosts: present(recs.flatMap((r) => [r.src_host, r.dst_host])),
    qemuVersions: present(recs.map((r) => r.qemu_version)),
    revisions: present(recs.map((r) => r.pofbench_rev)),
    firstStarted: started[0],
    lastStarted: started[started.length - 1],
  };
}

/** The columns of the summary table: medians over the completed runs of one configuration group. */
export const SUMMARY_COLUMNS = [
  { key: 'total_time_ms', title: 'total ms', field: 'total_time_ms', scale: 1, digits: 0 },
  { key: 'downtime_ms', title: 'QMP downtime ms', field: 'downtime_ms', scale: 1, digits: 0 },
  { key: 'app_downtime_ms', title: 'app downtime ms', field: 'app_downtime_ms', scale: 1, digits: 0 },
  { key: 'passes', title: 'passes', field: 'passes', scale: 1, digits: 1 },
  { key: 'migration_link_mib', title: 'migration link MiB', field: 'migration_link_bytes', scale: MiB, digits: 1 },
  { key: 'storage_link_mib', title: 'storage link MiB', field: 'storage_link_bytes', scale: MiB, digits: 1 },
  { key: 'qmp_transferred_mib', title: 'QMP sent MiB', field: 'qmp_transferred_bytes', scale: MiB, digits: 1 },
  { key: 'src_qemu_cpu_s', title: 'src QEMU CPU s', field: 'src_qemu_cpu_s', scale: 1, digits: 2 },
] as const;

export type SummaryKey = (typeof SUMMARY_COLUMNS)[number]['key'];

export interface SummaryRow {
  scenario: string;
  config_id?: string;
  strategy: string;
  /** Non-warm-up runs: completed + failed. */
  runs: number;
  completed: number;
  failed: number;
  /** Medians over the completed runs; a column is absent when no completed run measured it. */
  medians: Partial<Record<SummaryKey, number>>;
}

/** One row per scenario, config_id and strategy (stock first), as `pofbench compare` groups them. */
export function summaryRows(runs: readonly RunData[]): SummaryRow[] {
  return reportGroups(runs).map((g) => {
    const medians: SummaryRow['medians'] = {};
    for (const c of SUMMARY_COLUMNS) {
      const xs = fieldValues(g, c.field);
      if (xs.length) medians[c.key] = round(median(xs) / c.scale, c.digits);
    }
    return {
      scenario: g.scenario,
      ...(g.config_id !== undefined ? { config_id: g.config_id } : {}),
      strategy: g.strategy,
      runs: g.completed.length + g.failed,
      completed: g.completed.length,
      failed: g.failed,
      medians,
    };
  });
}
