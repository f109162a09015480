import { compareGroups, type Comparison } from '../../analysis/compare.js';
import { configLabel, type RecordGroup } from '../../analysis/group.js';
import { MIN_RUNS_TRUSTED } from '../../analysis/stats.js';
import { blocks, type Block } from '../compareReport.js';
import type { RunRecord } from '../../results/record.js';
import { distinct } from './stats.js';

/**
 * The report's summary: per scenario and configuration, what `pofbench compare` computes (median,
 * IQR, bootstrap 95 % interval of the median, % change against stock with its interval), the
 * environment each strategy's runs ran in, and the warnings a reader must see (groups kept apart
 * or pooled, strategies compared across different environments, few runs).
 */

/** The metrics of the summary tables, in reading order (rows without a value anywhere are left out). */
export const REPORT_FIELDS: readonly string[] = [
  'total_time_ms',
  'wall_time_ms',
  'downtime_ms',
  'app_downtime_ms',
  'passes',
  'migration_link_bytes',
  'storage_link_bytes',
  'qmp_transferred_bytes',
  'src_qemu_cpu_s',
  'src_vcpu_cpu_s',
  'dst_qemu_cpu_s',
  'source_agent_cpu_s',
  'target_agent_cpu_s',
  'agent_cpu_s',
  'nfs_server_cpu_s',
  'migration_cpu_s',
  'harness_cpu_s',
];

/** Where one strategy's runs of a configuration ran: every distinct value among its runs. */
export interface GroupEnvironment {
  strategy: string;
  qemu: string[];
  revision: string[];
  testbed: string[];
  accel: string[];
  /** Host pairs (`pair`, else `src → dst`). */
  hosts: string[];
}

export interface ConfigSummary extends Block {
  environments: GroupEnvironment[];
}

export interface ReportSummary {
  configs: ConfigSummary[];
  /** Warnings shown at the top of the page (runs kept apart or pooled, mixed environments, few runs). */
  warnings: string[];
  fields: readonly string[];
}

const ENV_DIMENSIONS = ['qemu', 'revision', 'testbed', 'accel', 'hosts'] as const;
const ENV_NAMES: Record<(typeof ENV_DIMENSIONS)[number], string> = {
  qemu: 'QEMU version',
  revision: 'pofbench revision',
  testbed: 'testbed',
  accel: 'accelerator',
  hosts: 'host pair',
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const values = (recs: readonly RunRecord[], get: (r: RunRecord) => string | undefined): string[] =>
  distinct(recs.map(get).filter((x): x is string => x !== undefined)).sort();

/** The environment of a group's completed runs. */
export function groupEnvironment(g: RecordGroup): GroupEnvironment {
  const recs = g.completed;
  return {
    strategy: g.strategy,
    qemu: values(recs, (r) => str(r.qemu_version)),
    revision: values(recs, (r) => str(r.pofbench_rev)),
    testbed: values(recs, (r) => str(r.testbed)),
    accel: values(recs, (r) => str((r.params as { accel?: unknown } | undefined)?.accel)),
    hosts: values(recs, (r) => str(r.pair) ?? (r.src_host ? `${r.src_host} → ${r.dst_host}` : undefined)),
  };
}

/** Warnings about one configuration: a strategy pooling several environments, strategies in different ones. */
export function environmentWarnings(c: ConfigSummary): string[] {
  const name = `${c.scenario}${c.config_id !== undefined ? ` [${c.config_id}]` : ''}`;
  const out: string[] = [];
  for (const d of ENV_DIMENSIONS) {
    for (const e of c.environments)
      if (e[d].length > 1)
        out.push(`${name} / ${e.strategy} pools runs of several ${ENV_NAMES[d]}s: ${e[d].join(', ')}`);
    const seen = distinct(c.environments.filter((e) => e[d].length === 1).map((e) => e[d][0]));
    if (seen.length > 1)
      out.push(
        `${name}: the strategies ran with different ${ENV_NAMES[d]}s (` +
          `${c.environments.map((e) => `${e.strategy}: ${e[d].join(', ') || '?'}`).join('; ')}): their comparison ` +
          'mixes that difference in',
      );
  }
  const few = c.rows.filter((r) => r.runs < MIN_RUNS_TRUSTED).map((r) => `${r.strategy} ${r.runs}`);
  if (few.length)
    out.push(
      `${name}: fewer than ${MIN_RUNS_TRUSTED} completed runs (${few.join(', ')}): medians, spread and changes ` +
        'are rough',
    );
  return out;
}

/**
 * The summary of `groups` (as grouped for the charts) against `baseline`; `groupWarnings` are the
 * grouping's own (runs kept apart as separate configurations, or merged by --pool).
 */
export function reportSummary(
  groups: readonly RecordGroup[],
  groupWarnings: readonly string[] = [],
  baseline = 'stock',
): ReportSummary {
  const comparison: Comparison = compareGroups(groups, { fields: REPORT_FIELDS, baseline });
  const configs = blocks(comparison).map((b) => ({
    ...b,
    environments: groups
      .filter((g) => g.scenario === b.scenario && g.config_id === b.config_id)
      .map((g) => groupEnvironment(g)),
  }));
  const noBaseline = configs
    .filter((c) => c.rows.length > 1 && !c.rows.some((r) => r.strategy === baseline))
    .map((c) => `${configLabel({ ...c, strategy: '' }).replace(/ \/ $/, '')}: no ${baseline} runs, no changes shown`);
  return {
    configs,
    warnings: distinct([...groupWarnings, ...configs.flatMap(environmentWarnings), ...noBaseline]),
    fields: REPORT_FIELDS,
  };
}
