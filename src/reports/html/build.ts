import type { TopLevelSpec } from 'vega-lite';
import { loadRunSet, type RunData } from './runSet.js';
import { downtimePoints, linkBars, paretoPoints, progressPoints, reportGroups, webPoints } from './chartData.js';
import {
  downtimeSpec,
  linkBytesSpec,
  paretoSpec,
  progressCutS,
  progressSpec,
  webLatencySpec,
  type ChartContext,
} from './specs.js';
import { renderChart } from './svg.js';
import type { GroupOptions } from '../../analysis/group.js';
import { paretoTable, renderPage, type ChartSection } from './page.js';
import { runSetInfo } from './summary.js';
import { reportSummary, type ReportSummary } from './groupSummary.js';

export interface HtmlReport {
  html: string;
  /** Ids of the charts on the page (the rest are replaced by a note). */
  charts: string[];
  /** Vega-Lite/Vega warnings, `<chart id>: <message>`. */
  warnings: string[];
  /** The summary shown on the page (its warnings are on the page too). */
  summary: ReportSummary;
}

export interface HtmlReportOptions {
  dirs: string[];
  title?: string;
  now?: Date;
  /** Merge runs that differ in parameters, QEMU version or revision (the page warns about it). */
  pool?: boolean;
}

interface ChartPlan {
  id: string;
  title: string;
  caption: string;
  rows: number;
  spec: () => TopLevelSpec;
  empty: string;
  extraHtml?: string;
}

/** The charts of the page, their data extracted from the runs (grouped as the summary is). */
function chartPlans(runs: RunData[], ctx: ChartContext, grouping: GroupOptions): ChartPlan[] {
  const progress = progressPoints(runs);
  const links = linkBars(runs, grouping);
  const downtime = downtimePoints(runs, grouping);
  const web = webPoints(runs);
  const pareto = paretoPoints(runs, grouping);
  return [
    {
      id: 'progress',
      title: 'Migration progress',
      rows: progress.length,
      spec: () => progressSpec(progress, ctx),
      caption:
        'QMP query-migrate at 10 Hz: RAM still to send and RAM sent so far, per run, from the migrate command on.' +
        (progress.some((p) => p.status !== 'completed') ? ' Failed runs are dashed.' : '') +
        (progressCutS(progress) !== undefined ? ' The time axis ends just after the longest completed migration.' : ''),
      empty: 'No run has QMP progress samples (series/qmp.jsonl).',
    },
    {
      id: 'links',
      title: 'Bytes per link',
      rows: links.length,
      spec: () => linkBytesSpec(links, ctx),
      caption:
        'Median bytes per migration on the migration link (source mig0, both directions) and on the storage link ' +
        '(source + destination sto0).',
      empty: 'No completed run measured its link bytes.',
    },
    {
      id: 'downtime',
      title: 'Downtime',
      rows: downtime.length,
      spec: () => downtimeSpec(downtime, ctx),
      caption:
        'QMP-reported downtime and the largest gap in the 100 Hz ICMP probe of the guest (app-observed); one dot per ' +
        'run, the bar and number are the median.',
      empty: 'No completed run measured downtime.',
    },
    {
      id: 'web',
      title: 'Web latency',
      rows: web.length,
      spec: () => webLatencySpec(web, ctx),
      caption:
        "The web workload's p50 and p99 request latency per 100 ms; the black rule is the migrate command, dotted " +
        "rules the end of each run's migration.",
      empty: 'No web latency series in these runs (series/web.jsonl is written by the web workload): chart omitted.',
    },
    {
      id: 'pareto',
      title: 'Time vs migration-link bytes (Pareto)',
      rows: pareto.length,
      spec: () => paretoSpec(pareto, ctx),
      caption:
        'Medians per scenario, configuration and strategy (completed runs); both lower is better. Diamonds joined by ' +
        'the dashed line are the Pareto front within each workload type (the same front as pofbench pareto ' +
        '--objectives total_time_ms,migration_link_bytes).',
      empty: 'No completed run has both a total time and migration-link bytes.',
      extraHtml: paretoTable(pareto),
    },
  ];
}

/** Builds the page for already-loaded runs (the CLI reads them with loadRunSet). */
export async function buildHtmlReportFromRuns(runs: RunData[], o: HtmlReportOptions): Promise<HtmlReport> {
  const info = runSetInfo(runs);
  const ctx: ChartContext = { strategies: info.strategies, scenarios: info.scenarios };
  // the grouping's warnings (runs kept apart, or merged by --pool) go on the page, not only to stderr
  const groupWarnings: string[] = [];
  const grouping = {
    pool: o.pool ?? false,
    warn: (m: string) => {
      if (!groupWarnings.includes(m)) groupWarnings.push(m);
    },
  };
  const summary = reportSummary(reportGroups(runs, grouping), groupWarnings);
  const plans = chartPlans(runs, ctx, grouping);
  const warnings: string[] = [];
  const charts: ChartSection[] = [];
  for (const p of plans) {
    const section: ChartSection = { id: p.id, title: p.title, caption: p.caption, extraHtml: p.extraHtml };
    if (p.rows === 0) {
      charts.push({ ...section, note: p.empty });
      continue;
    }
    const r = await renderChart(p.spec(), p.id, p.title);
    warnings.push(...r.warnings.map((w) => `${p.id}: ${w}`));
    charts.push({ ...section, svg: r.svg });
  }
  const html = renderPage({
    title: o.title ?? `pofbench report: ${info.scenarios.join(', ')}`,
    dirs: o.dirs,
    generatedAt: (o.now ?? new Date()).toISOString(),
    info,
    summary,
    charts,
    failures: runs
      .filter((r) => r.record.status !== 'completed')
      .map((r) => ({ run_id: r.record.run_id, error: r.record.error ?? 'no reason recorded' })),
  });
  return { html, charts: charts.filter((c) => c.svg).map((c) => c.id), warnings, summary };
}

/** Reads the run directories under `dirs` and builds the page. */
export async function buildHtmlReport(dirs: string[], o: Omit<HtmlReportOptions, 'dirs'> = {}): Promise<HtmlReport> {
  return buildHtmlReportFromRuns(await loadRunSet(dirs), { ...o, dirs });
}
