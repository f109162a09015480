/** Renders per-workload Pareto fronts (src/analysis/workloadFront.ts) as terminal tables or JSON. */
import { table } from 'table';
import { configLabel, type ConfigKey } from '../analysis/group.js';
import { formatMetric, metricLabel } from '../analysis/metrics.js';
import type { ConfigPoint, WorkloadFront } from '../analysis/workloadFront.js';

export type ParetoFormat = 'table' | 'json';
export const PARETO_FORMATS: readonly ParetoFormat[] = ['table', 'json'];

const keyJson = (k: ConfigKey): ConfigKey => ({
  scenario: k.scenario,
  ...(k.config_id !== undefined ? { config_id: k.config_id } : {}),
  strategy: k.strategy,
});

const pointJson = (p: ConfigPoint) => ({ ...keyJson(p), runs: p.runs, failed: p.failed, median: p.median });

export function renderParetoJson(fronts: readonly WorkloadFront[]): string {
  const workloads = fronts.map((w) => ({
    workload: w.workload,
    objectives: w.objectives,
    front: w.front.map(pointJson),
    dominated: w.dominated.map((d) => ({ item: pointJson(d.item), by: d.by.map(keyJson) })),
    skipped: w.skipped.map((s) => ({ ...keyJson(s), runs: s.runs, failed: s.failed, reason: s.reason })),
  }));
  return `${JSON.stringify({ objectives: fronts[0]?.objectives ?? [], workloads }, null, 2)}\n`;
}

export function renderParetoTable(fronts: readonly WorkloadFront[]): string {
  return fronts
    .map((w) => {
      const head = ['configuration', 'runs', ...w.objectives.map(metricLabel), 'Pareto'];
      const row = (p: ConfigPoint, verdict: string) => [
        configLabel(p),
        String(p.runs),
        ...w.objectives.map((o) => formatMetric(o, p.median[o])),
        verdict,
      ];
      const rows = [
        ...w.front.map((p) => row(p, 'front')),
        ...w.dominated.map((d) => row(d.item, `dominated by ${d.by.map(configLabel).join('; ')}`)),
      ];
      const title =
        `workload ${w.workload} — ${w.front.length} non-dominated of ` +
        `${w.front.length + w.dominated.length} configurations (medians; all minimised)`;
      const body = rows.length
        ? table([head, ...rows], {
            columns: {
              [head.length - 1]: {
                width: Math.min(60, Math.max(6, ...rows.map((r) => r[r.length - 1].length))),
                wrapWord: true,
              },
            },
            drawHorizontalLine: (i, size) => i <= 1 || i === size,
          })
        : '(no configuration with values for every objective)\n';
      const skipped = w.skipped.map((s) => `  skipped ${configLabel(s)}: ${s.reason}\n`).join('');
      return `${title}\n${body}${skipped}`;
    })
    .join('\n');
}

export function renderFronts(fronts: readonly WorkloadFront[], format: ParetoFormat): string {
  return format === 'json' ? renderParetoJson(fronts) : renderParetoTable(fronts);
}
