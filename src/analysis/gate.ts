/**
 * The release gate: the runs of a session (or any result dirs) against a baseline session, per
 * scenario, config, strategy and field. A field regressed when its median rose by more than the
 * threshold and the bootstrap interval of the change excludes zero (every compared field is one to
 * minimise: times, downtimes, bytes, CPU).
 */
import type { RunRecord } from '../results/record.js';
import { compareGroups, type CompareChange } from './compare.js';
import { groupRecords } from './group.js';

export interface GateRow extends CompareChange {
  /** Rose by more than the threshold, outside the noise. */
  regressed: boolean;
}

export interface GateResult {
  rows: GateRow[];
  regressions: GateRow[];
  /** Configurations of the current runs the baseline has no runs of (not judged). */
  unmatched: string[];
}

const BASELINE = '(baseline)';

export function gate(
  baseline: readonly RunRecord[],
  current: readonly RunRecord[],
  o: {
    fields: readonly string[];
    failAbovePct: number;
    seed: number;
    resamples: number;
  },
): GateResult {
  const rows: GateRow[] = [];
  const unmatched: string[] = [];
  for (const strategy of [...new Set(current.map((r) => r.strategy))].sort()) {
    // each side's runs stay one experiment (different revisions are the point here): the baseline's
    // runs of this strategy become the baseline "strategy" of a comparison with the current ones
    const base = baseline.filter((r) => r.strategy === strategy).map((r) => ({ ...r, strategy: BASELINE }));
    const cur = current.filter((r) => r.strategy === strategy);
    const groups = groupRecords([...base, ...cur], BASELINE, { pool: true, warn: () => undefined });
    for (const g of groups) {
      if (
        g.strategy !== BASELINE &&
        !groups.some((b) => b.strategy === BASELINE && b.scenario === g.scenario && b.config_id === g.config_id)
      ) {
        unmatched.push(`${g.scenario}${g.config_id !== undefined ? ` [${g.config_id}]` : ''} / ${strategy}`);
      }
    }
    const c = compareGroups(groups, {
      fields: [...o.fields],
      baseline: BASELINE,
      seed: o.seed,
      resamples: o.resamples,
    });
    for (const ch of c.changes) {
      const regressed = ch.change !== null && ch.change * 100 > o.failAbovePct && !ch.within_noise;
      rows.push({ ...ch, baseline: 'baseline session', strategy, regressed });
    }
  }
  return { rows, regressions: rows.filter((r) => r.regressed), unmatched };
}

/** One line per judged change; regressions marked. */
export function renderGate(r: GateResult, failAbovePct: number): string {
  const pct = (v: number | null) => (v === null ? 'n/a' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} %`);
  const lines = r.rows.map(
    (x) =>
      `${x.regressed ? 'REGRESSED' : 'ok       '} ` +
      `${x.scenario}${x.config_id !== undefined ? ` [${x.config_id}]` : ''} / ${x.strategy} ${x.field}: ` +
      `${x.baseline_median} -> ${x.median} ` +
      `(${pct(x.change)}${x.ci95 ? `, 95 % CI ${pct(x.ci95[0])} .. ${pct(x.ci95[1])}` : ''}` +
      `${x.note ? `, ${x.note}` : ''})`,
  );
  for (const u of r.unmatched) lines.push(`not judged: ${u} (no baseline runs)`);
  lines.push(
    r.regressions.length
      ? `gate: ${r.regressions.length} metric(s) regressed by more than ${failAbovePct} % (outside the noise)`
      : `gate: no metric regressed by more than ${failAbovePct} %`,
  );
  return `${lines.join('\n')}\n`;
}
