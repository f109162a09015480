/**
 * Per-workload Pareto fronts of configurations: each scenario + config_id + strategy becomes one
 * point whose coordinates are the medians of the objectives over its completed runs (all
 * minimised), and the points of each workload type are split into front and dominated.
 */
import { paretoFront } from './pareto.js';
import { median } from './stats.js';
import { fieldValues } from './compare.js';
import type { ConfigKey, RecordGroup } from './group.js';

export interface ConfigPoint extends ConfigKey {
  workload: string;
  runs: number;
  failed: number;
  /** Median of each requested field over the completed runs that carry it. */
  median: Record<string, number>;
}

export interface SkippedConfig extends ConfigKey {
  workload: string;
  runs: number;
  failed: number;
  reason: string;
}

export interface WorkloadFront {
  workload: string;
  objectives: string[];
  front: ConfigPoint[];
  dominated: { item: ConfigPoint; by: ConfigPoint[] }[];
  /** Configurations that could not be placed (no completed runs, or an objective never measured). */
  skipped: SkippedConfig[];
}

function keyOf(g: RecordGroup): ConfigKey {
  return {
    scenario: g.scenario,
    ...(g.config_id !== undefined ? { config_id: g.config_id } : {}),
    strategy: g.strategy,
  };
}

/** The group's medians of `fields` (fields without any value are left out). */
export function configPoint(g: RecordGroup, fields: readonly string[]): ConfigPoint {
  const med: Record<string, number> = {};
  for (const f of fields) {
    const xs = fieldValues(g, f);
    if (xs.length) med[f] = median(xs);
  }
  return { ...keyOf(g), workload: g.workload, runs: g.completed.length, failed: g.failed, median: med };
}

/** Workload types present, in first-seen order. */
export function workloadsOf(groups: readonly RecordGroup[]): string[] {
  return [...new Set(groups.map((g) => g.workload))];
}

/**
 * One front per workload type (first-seen order), over `objectives`; `extra` fields are carried in
 * each point's medians without taking part in dominance.
 */
export function workloadFronts(
  groups: readonly RecordGroup[],
  objectives: readonly string[],
  extra: readonly string[] = [],
): WorkloadFront[] {
  const fields = [...new Set([...objectives, ...extra])];
  return workloadsOf(groups).map((workload) => {
    const points: ConfigPoint[] = [];
    const skipped: SkippedConfig[] = [];
    for (const g of groups.filter((x) => x.workload === workload)) {
      const p = configPoint(g, fields);
      const missing = objectives.filter((o) => p.median[o] === undefined);
      if (g.completed.length === 0)
        skipped.push({ ...keyOf(g), workload, runs: 0, failed: g.failed, reason: 'no completed runs' });
      else if (missing.length)
        skipped.push({
          ...keyOf(g),
          workload,
          runs: p.runs,
          failed: p.failed,
          reason: `no values for ${missing.join(', ')}`,
        });
      else points.push(p);
    }
    const { front, dominated } = paretoFront(points, (p) => objectives.map((o) => p.median[o]));
    return { workload, objectives: [...objectives], front, dominated, skipped };
  });
}
