import type { ParetoPoint } from './chartData.js';
import type { RunSetInfo } from './summary.js';
import type { ReportSummary } from './groupSummary.js';
import { escapeHtml, summaryHtml, warningsHtml } from './summaryHtml.js';

export { escapeHtml };

/** One chart of the page: its inline SVG, or a note saying why it is not there. */
export interface ChartSection {
  id: string;
  title: string;
  caption: string;
  svg?: string;
  note?: string;
  /** Trusted HTML shown under the chart (e.g. the Pareto table). */
  extraHtml?: string;
}

export interface PageModel {
  title: string;
  dirs: string[];
  generatedAt: string;
  info: RunSetInfo;
  summary: ReportSummary;
  charts: ChartSection[];
  failures: { run_id: string; error: string }[];
}

const list = (xs: string[]) => (xs.length ? xs.map(escapeHtml).join(', ') : '<span class="na">unknown</span>');
const cell = (v: number | undefined) =>
  v === undefined ? '<td class="na">–</td>' : `<td>${v.toLocaleString('en-US', { maximumFractionDigits: 2 })}</td>`;

const CSS = `
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; color: #222; margin: 24px auto;
  max-width: 1100px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 28px 0 4px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
dl.runset { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; font-size: 13px; margin: 8px 0 0; }
dl.runset dt { color: #666; } dl.runset dd { margin: 0; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; } th { background: #f4f4f4; font-weight: 600; }
td.l, th.l { text-align: left; } td.na { color: #aaa; } .na { color: #999; }
p.caption { font-size: 12.5px; color: #555; margin: 2px 0 8px; }
p.note { font-size: 13px; color: #8a5a00; background: #fff8e6; border: 1px solid #f0dca8; padding: 6px 10px; }
figure { margin: 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
tr.front td { font-weight: 600; } ul.failures { font-size: 12.5px; }
h3 { font-size: 14.5px; margin: 16px 0 2px; } table.stats td { vertical-align: top; } table.stats small { color: #666; }
td.better b { color: #1b7a3a; } td.worse b { color: #b3261e; } td.noise b { color: #777; }
small.noise { font-style: italic; }
ul.env { font-size: 12px; color: #444; margin: 2px 0 4px; padding-left: 18px; }
section.warnings { background: #fff4e5; border: 1px solid #e8b86d; padding: 2px 12px; margin-top: 16px; }
section.warnings h2 { border: 0; color: #8a4b00; margin-top: 8px; } section.warnings li { font-size: 13px; }
footer { margin-top: 32px; font-size: 11.5px; color: #888; }
`;

function header(m: PageModel): string {
  const i = m.info;
  const started = i.firstStarted
    ? `${escapeHtml(i.firstStarted)}` +
      `${i.lastStarted && i.lastStarted !== i.firstStarted ? ` … ${escapeHtml(i.lastStarted)}` : ''}`
    : '<span class="na">unknown</span>';
  const rows: [string, string][] = [
    ['runs', `${i.runs} (${i.completed} completed, ${i.failed} failed)`],
    ...(i.warmups ? [['warm-up runs', `${i.warmups}, left out of the charts and statistics`] as [string, string]] : []),
    ['scenarios', list(i.scenarios)],
    ['strategies', list(i.strategies)],
    ['testbed', list(i.testbeds)],
    ['hosts', list(i.hosts)],
    ['QEMU', list(i.qemuVersions)],
    ['pofbench revision', list(i.revisions)],
    ['started', started],
    ['results', list(m.dirs)],
  ];
  return (
    `<header><h1>${escapeHtml(m.title)}</h1><dl ` +
    `class="runset">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl></header>`
  );
}

function chartSection(c: ChartSection): string {
  const body = c.svg
    ? `<figure>${c.svg}</figure>`
    : `<p class="note">${escapeHtml(c.note ?? 'No data for this chart.')}</p>`;
  return (
    `<section id="${escapeHtml(c.id)}" class="chart"><h2>${escapeHtml(c.title)}</h2><p ` +
    `class="caption">${escapeHtml(c.caption)}</p>${body}${c.extraHtml ?? ''}</section>`
  );
}

/** The Pareto points as a table: which configurations are on the front, and what dominates the rest. */
export function paretoTable(points: ParetoPoint[]): string {
  if (!points.length) return '';
  const na = '<span class="na">–</span>';
  const body = points
    .map(
      (p) =>
        `<tr class="${p.front ? 'front' : ''}"><td class="l">${escapeHtml(p.workload)}</td><td ` +
        `class="l">${escapeHtml(p.scenario)}</td><td ` +
        `class="l">${p.config_id ? escapeHtml(p.config_id) : na}</td><td ` +
        `class="l">${escapeHtml(p.strategy)}</td><td>${p.n}</td>${cell(p.total_time_s)}` +
        `${cell(p.migration_link_mib)}<td ` +
        `class="l">${p.front ? 'on the front' : `dominated by ${escapeHtml(p.dominated_by.join('; '))}`}</td></tr>`,
    )
    .join('\n');
  return (
    `<table class="pareto"><thead><tr><th class="l">workload</th><th class="l">scenario</th><th ` +
    `class="l">config</th><th class="l">strategy</th><th>runs</th><th>total s</th><th>migration link MiB</th><th ` +
    `class="l">Pareto</th></tr></thead><tbody>\n${body}\n</tbody></table>`
  );
}

function failureList(failures: PageModel['failures']): string {
  if (!failures.length) return '';
  const items = failures.map((f) => `<li><code>${escapeHtml(f.run_id)}</code>: ${escapeHtml(f.error)}</li>`);
  return `<section id="failures"><h2>Failed runs</h2><ul class="failures">${items.join('')}</ul></section>`;
}

/** The whole report: one self-contained page (inline CSS and SVG; no script, no URL). */
export function renderPage(m: PageModel): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(m.title)}</title>
<style>${CSS}</style>
</head>
<body>
${header(m)}
${warningsHtml(m.summary.warnings)}
${summaryHtml(m.summary)}
${m.charts.map(chartSection).join('\n')}
${failureList(m.failures)}
<footer>Generated by pofbench report at ${escapeHtml(m.generatedAt)}. Charts: Vega-Lite, rendered to SVG.</footer>
</body>
</html>
`;
}
