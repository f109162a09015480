import type { CompareChange, CompareRow } from '../../analysis/compare.js';
import { formatMetric, metricLabel } from '../../analysis/metrics.js';
import { formatPercent } from '../compareReport.js';
import type { ConfigSummary, GroupEnvironment, ReportSummary } from './groupSummary.js';

/** HTML of the report's summary (src/reports/html/groupSummary.ts): one table per scenario and configuration. */

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const NA = '<td class="na">–</td>';
const pct = (x: number) => formatPercent(x).replace(' %', '');

/** median, then IQR, the bootstrap 95 % interval of the median and n in small print. */
function statCell(r: CompareRow, f: string): string {
  const n = r.n[f] ?? 0;
  if (n === 0) return NA;
  const v = (x: number | undefined) => escapeHtml(formatMetric(f, x));
  const ci = r.ci95[f];
  const out = r.outliers[f]?.length ?? 0;
  return (
    `<td><b>${v(r.median[f])}</b><br><small>IQR ${v(r.iqr[f])} · 95 % [${v(ci?.[0])}, ${v(ci?.[1])}] · n=${n}` +
    `${out ? ` · ${out} outlier${out === 1 ? '' : 's'}` : ''}</small></td>`
  );
}

/** The change against the baseline: % with its interval; greyed with the reason when inside the noise. */
function changeCell(ch: CompareChange | undefined): string {
  if (!ch) return NA;
  if (ch.change === null) return `<td class="na">${escapeHtml(ch.note ?? '–')}</td>`;
  const ci = ch.ci95 ? `<br><small>95 % [${pct(ch.ci95[0])}, ${pct(ch.ci95[1])}]</small>` : '';
  const noise = ch.within_noise ? `<br><small class="noise">${escapeHtml(ch.note ?? 'within noise')}</small>` : '';
  const cls = ch.within_noise ? 'chg noise' : ch.change < 0 ? 'chg better' : 'chg worse';
  return `<td class="${cls}"><b>${escapeHtml(formatPercent(ch.change))}</b>${ci}${noise}</td>`;
}

const envList = (xs: string[]) =>
  xs.length ? xs.map(escapeHtml).join(', ') : '<span class="na">no completed run</span>';

function environmentLine(envs: GroupEnvironment[]): string {
  const item = (e: GroupEnvironment) =>
    `<li><b>${escapeHtml(e.strategy)}</b>: QEMU ${envList(e.qemu)} · revision ${envList(e.revision)} · testbed ` +
    `${envList(e.testbed)} · accelerator ${envList(e.accel)} · hosts ${envList(e.hosts)}</li>`;
  return `<ul class="env">${envs.map(item).join('')}</ul>`;
}

function configTable(c: ConfigSummary, fields: readonly string[], baseline: string): string {
  const others = [...new Set(c.changes.map((ch) => ch.strategy))];
  const head =
    `<tr><th class="l">metric</th>${c.rows.map((r) => `<th>${escapeHtml(r.strategy)}</th>`).join('')}` +
    `${others.map((s) => `<th>${escapeHtml(s)} vs ${escapeHtml(baseline)}</th>`).join('')}</tr>`;
  const body = fields
    .filter((f) => c.rows.some((r) => (r.n[f] ?? 0) > 0))
    .map(
      (f) =>
        `<tr><td class="l">${escapeHtml(metricLabel(f))}</td>${c.rows.map((r) => statCell(r, f)).join('')}` +
        `${others.map((s) => changeCell(c.changes.find((ch) => ch.strategy === s && ch.field === f))).join('')}</tr>`,
    )
    .join('\n');
  const runs = c.rows
    .map((r) => `${escapeHtml(r.strategy)}: ${r.runs} completed${r.failed ? `, ${r.failed} failed` : ''}`)
    .join(' · ');
  const title = `${c.scenario}${c.config_id !== undefined ? ` [${c.config_id}]` : ''}`;
  return (
    `<div class="config"><h3>${escapeHtml(title)}</h3><p class="caption">${runs}</p>` +
    `${environmentLine(c.environments)}<table class="stats"><thead>${head}</thead><tbody>\n${body}\n</tbody>` +
    '</table></div>'
  );
}

/** The warnings box: shown whenever groups were kept apart, pooled, or compared across environments. */
export function warningsHtml(warnings: readonly string[]): string {
  if (!warnings.length) return '';
  return (
    `<section id="warnings" class="warnings"><h2>Warnings</h2><ul>` +
    `${warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></section>`
  );
}

export function summaryHtml(s: ReportSummary, baseline = 'stock'): string {
  return (
    `<section id="summary"><h2>Summary</h2><p class="caption">Per scenario and configuration, over the completed ` +
    'runs (warm-up runs left out): the median in bold, its interquartile range, the 95 % bootstrap interval of the ' +
    `median (2000 resamples) and n; the change is median / median(${escapeHtml(baseline)}) − 1 with its 95 % ` +
    'bootstrap interval, greyed when the interval contains 0 or a side has fewer than 3 runs — what pofbench compare ' +
    'prints. Bytes in MiB.</p>' +
    `${s.configs.map((c) => configTable(c, s.fields, baseline)).join('\n')}</section>`
  );
}
