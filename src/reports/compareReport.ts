/**
 * Renders a Comparison (src/analysis/compare.ts) as a terminal table, markdown for release notes,
 * CSV, or JSON (`{"rows": [...], "changes": [...]}`, run.json field names).
 */
import { table } from 'table';
import type { CompareChange, CompareRow, Comparison } from '../analysis/compare.js';
import { formatMetric, metricLabel } from '../analysis/metrics.js';
import { DEFAULT_RESAMPLES, MIN_RUNS_FOR_CHANGE, MIN_RUNS_TRUSTED } from '../analysis/stats.js';

export type CompareFormat = 'table' | 'markdown' | 'csv' | 'json';

export interface CompareRenderOptions {
  /** Strategy the changes are against. */
  baseline: string;
  /** Bootstrap resamples used (for the legend; default DEFAULT_RESAMPLES). */
  resamples?: number;
}
export const COMPARE_FORMATS: readonly CompareFormat[] = ['table', 'markdown', 'csv', 'json'];

export interface Block {
  scenario: string;
  config_id?: string;
  rows: CompareRow[];
  changes: CompareChange[];
}

/** Rows and changes of one scenario + config_id, in the comparison's order. */
export function blocks(c: Comparison): Block[] {
  const out: Block[] = [];
  for (const r of c.rows) {
    let b = out.find((x) => x.scenario === r.scenario && x.config_id === r.config_id);
    if (!b) {
      b = {
        scenario: r.scenario,
        ...(r.config_id !== undefined ? { config_id: r.config_id } : {}),
        rows: [],
        changes: [],
      };
      out.push(b);
    }
    b.rows.push(r);
  }
  for (const ch of c.changes)
    out.find((x) => x.scenario === ch.scenario && x.config_id === ch.config_id)?.changes.push(ch);
  return out;
}

/** A fraction as a signed percentage: 0.123 -> "+12.3 %". */
export function formatPercent(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+inf' : '-inf';
  const p = x * 100;
  const s = Math.abs(p) < 0.05 ? '0.0' : `${p > 0 ? '+' : '-'}${Math.abs(p).toFixed(1)}`;
  return `${s} %`;
}

const pctNum = (x: number): string => formatPercent(x).replace(' %', '');

/** "-12.3 % [-15.0, -9.1]", with the noise verdict in parentheses when it is one. */
export function formatChange(ch: CompareChange): string {
  if (ch.change === null) return ch.note ?? '-';
  const ci = ch.ci95 ? ` [${pctNum(ch.ci95[0])}, ${pctNum(ch.ci95[1])}]` : '';
  return `${formatPercent(ch.change)}${ci}${ch.within_noise ? ` (${ch.note ?? 'within noise'})` : ''}`;
}

function cell(r: CompareRow, field: string): string {
  const n = r.n[field] ?? 0;
  if (n === 0) return '-';
  const out = r.outliers[field]?.length ?? 0;
  return (
    `${formatMetric(field, r.median[field])} (IQR ${formatMetric(field, r.iqr[field])}, ` +
    `n=${n}${out ? `, ${out} outlier${out === 1 ? '' : 's'}` : ''})`
  );
}

function blockTitle(b: Block): string {
  return `${b.scenario}${b.config_id !== undefined ? ` [${b.config_id}]` : ''}`;
}

function runsLine(b: Block): string {
  const few = b.rows.some((r) => r.runs < MIN_RUNS_TRUSTED);
  return (
    b.rows
      .map((r) => `${r.strategy}: ${r.runs} run${r.runs === 1 ? '' : 's'}${r.failed ? `, ${r.failed} failed` : ''}`)
      .join(' · ') +
    (few ? ` — warning: fewer than ${MIN_RUNS_TRUSTED} runs per strategy, spread and changes are rough` : '')
  );
}

/** The cells of one block: header row, then one row per field. */
function blockCells(b: Block, fields: readonly string[], baseline: string, md: boolean): string[][] {
  const others = [...new Set(b.changes.map((c) => c.strategy))];
  const head = ['metric', ...b.rows.map((r) => r.strategy), ...others.map((s) => `${s} vs ${baseline}`)];
  const body = fields
    .filter((f) => b.rows.some((r) => (r.n[f] ?? 0) > 0))
    .map((f) => [
      metricLabel(f),
      ...b.rows.map((r) => cell(r, f)),
      ...others.map((s) => {
        const ch = b.changes.find((c) => c.strategy === s && c.field === f);
        if (!ch) return '-';
        const text = formatChange(ch);
        return md && ch.within_noise ? text.replace(/ \((.*)\)$/, ' _($1)_') : text;
      }),
    ]);
  return [head, ...body];
}

function fieldsOf(c: Comparison): string[] {
  const seen = new Set<string>();
  for (const r of c.rows) for (const f of Object.keys(r.n)) seen.add(f);
  return [...seen];
}

export function renderCompareTable(c: Comparison, o: CompareRenderOptions): string {
  const { baseline } = o;
  const fields = fieldsOf(c);
  return (
    blocks(c)
      .map((b) => {
        const cells = blockCells(b, fields, baseline, false);
        const body =
          cells.length > 1
            ? table(cells, { drawHorizontalLine: (i, size) => i <= 1 || i === size })
            : '(no values for the requested fields)\n';
        return `${blockTitle(b)} — ${runsLine(b)}\n${body}`;
      })
      .join('\n') + legend(o, 'table')
  );
}

function legend(o: CompareRenderOptions, kind: 'table' | 'markdown'): string {
  const mark = (t: string): string => (kind === 'markdown' ? `_(${t})_` : `(${t})`);
  return (
    `\nCells: median (IQR, n) over completed runs; bytes in MiB. Changes: median / median(${o.baseline}) − 1 ` +
    `with a 95 % bootstrap interval (${o.resamples ?? DEFAULT_RESAMPLES} resamples); ${mark('within noise')} when ` +
    `the interval contains 0, ` +
    `${mark('n too small')} under ${MIN_RUNS_FOR_CHANGE} runs; outliers: values more than 3 scaled MADs from the ` +
    `median.\n`
  );
}

const mdEscape = (s: string): string => s.replace(/\|/g, '\\|');

export function renderCompareMarkdown(c: Comparison, o: CompareRenderOptions): string {
  const { baseline } = o;
  const fields = fieldsOf(c);
  const parts = blocks(c).map((b) => {
    const cells = blockCells(b, fields, baseline, true);
    const [head, ...body] = cells;
    const lines = [
      `### ${mdEscape(b.scenario)}${b.config_id !== undefined ? ` — \`${b.config_id}\`` : ''}`,
      '',
      runsLine(b),
      '',
      `| ${head.map(mdEscape).join(' | ')} |`,
      `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
      ...body.map((row) => `| ${row.map(mdEscape).join(' | ')} |`),
    ];
    return lines.join('\n');
  });
  return `${parts.join('\n\n')}\n${legend(o, 'markdown')}`;
}

function csvCell(v: string | number | boolean | undefined | null): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const CSV_COLUMNS = [
  'scenario',
  'config_id',
  'strategy',
  'field',
  'runs',
  'failed',
  'n',
  'median',
  'q1',
  'q3',
  'iqr',
  'min',
  'max',
  'ci95_lo',
  'ci95_hi',
  'baseline',
  'change',
  'change_ci95_lo',
  'change_ci95_hi',
  'within_noise',
  'note',
] as const;

/** One line per scenario, config, strategy and field with values; change columns empty for the baseline. */
export function renderCompareCsv(c: Comparison): string {
  const lines: string[] = [CSV_COLUMNS.join(',')];
  const fields = fieldsOf(c);
  for (const r of c.rows) {
    for (const f of fields) {
      if ((r.n[f] ?? 0) === 0) continue;
      const ch = c.changes.find(
        (x) => x.scenario === r.scenario && x.config_id === r.config_id && x.strategy === r.strategy && x.field === f,
      );
      const ci = r.ci95[f];
      lines.push(
        [
          r.scenario,
          r.config_id,
          r.strategy,
          f,
          r.runs,
          r.failed,
          r.n[f],
          r.median[f],
          r.q1[f],
          r.q3[f],
          r.iqr[f],
          r.min[f],
          r.max[f],
          ci?.[0],
          ci?.[1],
          ch?.baseline,
          ch?.change,
          ch?.ci95?.[0],
          ch?.ci95?.[1],
          ch?.within_noise,
          ch?.note,
        ]
          .map(csvCell)
          .join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export function renderCompareJson(c: Comparison): string {
  return `${JSON.stringify({ rows: c.rows, changes: c.changes }, null, 2)}\n`;
}

export function renderComparison(c: Comparison, format: CompareFormat, o: CompareRenderOptions): string {
  switch (format) {
    case 'table':
      return renderCompareTable(c, o);
    case 'markdown':
      return renderCompareMarkdown(c, o);
    case 'csv':
      return renderCompareCsv(c);
    case 'json':
      return renderCompareJson(c);
  }
}
