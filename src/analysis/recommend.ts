/**
 * Picks one configuration for a workload: among the Pareto-optimal configurations (medians, all
 * objectives minimised) whose median downtime is within the limit, the one best on the preferred
 * objective (ties broken by the other objectives in order, then by name).
 */
import { UserError } from '../util/errors.js';
import { configLabel, type RecordGroup } from './group.js';
import { formatMetric, metricUnit } from './metrics.js';
import { MIN_RUNS_FOR_CHANGE } from './stats.js';
import { workloadFronts, workloadsOf, type ConfigPoint, type WorkloadFront } from './workloadFront.js';

export interface RecommendOptions {
  workload: string;
  maxDowntimeMs: number;
  objectives: readonly string[];
  /** Objective to be best on (default total_time_ms). */
  prefer?: string;
  /** Field the limit applies to (default downtime_ms). */
  downtimeField?: string;
}

export interface Recommendation {
  choice: ConfigPoint;
  /** Front points meeting the limit, best first. */
  eligible: ConfigPoint[];
  front: WorkloadFront;
  /** Objectives the front was computed on (the given ones plus prefer and the downtime field). */
  objectives: string[];
  /** One or two lines saying why. */
  explanation: string[];
}

const withUnit = (field: string, v: number): string => {
  const u = metricUnit(field);
  return `${formatMetric(field, v)}${u ? ` ${u}` : ''}`;
};

export function recommend(groups: readonly RecordGroup[], o: RecommendOptions): Recommendation {
  const prefer = o.prefer ?? 'total_time_ms';
  const downtime = o.downtimeField ?? 'downtime_ms';
  // the limit and the preference take part in the trade-off, so the front always holds the best
  // configuration that meets the limit
  const objectives = [...new Set([...o.objectives, prefer, downtime])];
  const known = workloadsOf(groups);
  if (!known.includes(o.workload)) {
    throw new UserError(`no runs of workload "${o.workload}"`, `workloads present: ${known.join(', ') || 'none'}`);
  }
  const wf = workloadFronts(
    groups.filter((g) => g.workload === o.workload),
    objectives,
  )[0];
  if (wf.front.length === 0) {
    throw new UserError(
      `workload "${o.workload}" has no configuration with completed runs measuring ${objectives.join(', ')}`,
      wf.skipped.map((s) => `${configLabel(s)}: ${s.reason}`).join('; '),
    );
  }
  const eligible = wf.front
    .filter((p) => p.median[downtime] <= o.maxDowntimeMs)
    .sort((a, b) => {
      for (const f of [prefer, ...objectives.filter((x) => x !== prefer)]) {
        const d = a.median[f] - b.median[f];
        if (d !== 0) return d;
      }
      return configLabel(a) < configLabel(b) ? -1 : 1;
    });
  if (eligible.length === 0) {
    const best = [...wf.front].sort((a, b) => a.median[downtime] - b.median[downtime])[0];
    throw new UserError(
      `no configuration of workload "${o.workload}" meets ${downtime} ≤ ${o.maxDowntimeMs} ms (--max-downtime-ms)`,
      `the lowest median ${downtime} is ${withUnit(downtime, best.median[downtime])} (${configLabel(best)}); raise ` +
        `--max-downtime-ms or run configurations with a lower downtime limit`,
    );
  }
  const choice = eligible[0];
  const few =
    choice.runs < MIN_RUNS_FOR_CHANGE
      ? ` Only ${choice.runs} run${choice.runs === 1 ? '' : 's'}: treat the medians as rough.`
      : '';
  const explanation = [
    `${configLabel(choice)} for workload ${o.workload}: median ${prefer} ${withUnit(prefer, choice.median[prefer])}, ` +
      `${downtime} ${withUnit(downtime, choice.median[downtime])} over ${choice.runs} ` +
      `run${choice.runs === 1 ? '' : 's'}.`,
    `Lowest ${prefer} among the ${eligible.length} of ${wf.front.length} Pareto-optimal configurations (objectives ` +
      `${objectives.join(', ')}) with median ${downtime} ≤ ${o.maxDowntimeMs} ms.${few}`,
  ];
  return { choice, eligible, front: wf, objectives, explanation };
}
