import type { TopLevelSpec } from 'vega-lite';
import {
  DOWNTIMES,
  LINKS,
  type DowntimePoint,
  type LinkBar,
  type ParetoPoint,
  type ProgressPoint,
  type WebPoint,
} from './chartData.js';

/**
 * Vega-Lite specs of the report's charts. Each builder takes the extracted rows (chartData.ts)
 * and the strategies in display order (for stable colours: stock blue, pof orange), and facets
 * by scenario when the run set has more than one (the Pareto chart: by workload type).
 */

const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
const STRATEGY_COLORS = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2'];
const LINK_COLORS = ['#3b7d5c', '#b279a2'];

const config = {
  font: FONT,
  background: 'white',
  padding: 8,
  axis: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    titleColor: '#222',
    labelColor: '#333',
    gridColor: '#eee',
  },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
  header: { labelFontSize: 12, labelFontWeight: 'bold', titleFontSize: 12 },
  view: { stroke: '#ccc' },
};

export interface ChartContext {
  strategies: string[];
  scenarios: string[];
}

const strategyColor = (ctx: ChartContext) => ({
  field: 'strategy',
  type: 'nominal',
  title: 'strategy',
  sort: ctx.strategies,
  scale: { domain: ctx.strategies, range: STRATEGY_COLORS },
});

const rowHeader = (field: string) => ({
  field,
  type: 'nominal',
  title: null,
  header: { labelAngle: 0, labelAlign: 'left', labelOrient: 'top', labelAnchor: 'start' },
});

/**
 * Wraps a unit or layer spec with its data, faceting by `facet` (channel -> field definition)
 * when given; `rowField` values become rows when there are several (default: the scenario).
 */
function assemble(
  ctx: ChartContext,
  values: object[],
  inner: Record<string, unknown>,
  facet: { column?: object } = {},
  resolve?: object,
  rowField: 'scenario' | 'workload' = 'scenario',
): TopLevelSpec {
  const rows = new Set(values.map((v) => (v as Record<string, unknown>)[rowField]));
  const byRow = rowField === 'scenario' ? ctx.scenarios.length > 1 : rows.size > 1;
  const f = { ...facet, ...(byRow ? { row: rowHeader(rowField) } : {}) };
  const base = { config, data: { values } };
  // The pieces are plain objects (Vega-Lite's nested types do not survive spreading); compile()
  // checks them and the report tests render every chart.
  const spec =
    Object.keys(f).length === 0
      ? { ...base, ...inner }
      : { ...base, facet: f, spec: inner, ...(resolve ? { resolve } : {}) };
  return spec as unknown as TopLevelSpec;
}

/**
 * Where the progress chart's time axis ends when a failed run (which can go on for minutes) would
 * squash the completed ones: just after the longest completed migration. Undefined: no cut.
 */
export function progressCutS(points: ProgressPoint[]): number | undefined {
  const doneEnd = points.reduce((m, p) => (p.status === 'completed' ? Math.max(m, p.t_s) : m), 0);
  const end = Number((doneEnd * 1.05).toFixed(1));
  return doneEnd > 0 && points.some((p) => p.status !== 'completed' && p.t_s > end) ? end : undefined;
}

/**
 * The x axis of the per-group charts: the strategy, or `config_id / strategy` when a scenario is
 * swept; in the rows' own order (the extraction sorts them stock first, configs by value).
 */
function groupAxis(rows: { config_id?: string }[]) {
  const swept = rows.some((r) => r.config_id !== undefined);
  return {
    field: 'group',
    type: 'nominal',
    sort: null,
    title: swept ? 'configuration / strategy' : 'strategy',
    // swept: each swept value on its own line above the strategy, kept horizontal
    axis: swept
      ? { labelAngle: 0, labelExpr: "split(replace(datum.label, /,/g, ' / '), ' / ')", labelLimit: 0 }
      : { labelAngle: 0 },
  };
}

/** Band width per group: wide enough for a config_id label when the scenario is swept. */
const groupStep = (rows: { config_id?: string }[], narrow: number, swept: number) =>
  rows.some((r) => r.config_id !== undefined) ? swept : narrow;

/** 1. RAM remaining and transferred vs seconds since `migrate`, one line per run. */
export function progressSpec(points: ProgressPoint[], ctx: ChartContext): TopLevelSpec {
  const anyFailed = points.some((p) => p.status !== 'completed');
  const end = progressCutS(points);
  const cut = end !== undefined;
  const values = points.flatMap((p) => [
    { ...p, quantity: 'RAM remaining', mib: p.remaining_mib },
    { ...p, quantity: 'RAM transferred', mib: p.transferred_mib },
  ]);
  return assemble(
    ctx,
    values.map(({ remaining_mib: _r, transferred_mib: _t, ...v }) => v),
    {
      width: 400,
      height: 220,
      ...(cut ? { transform: [{ filter: `datum.t_s <= ${end}` }] } : {}),
      mark: { type: 'line', strokeWidth: 1.6, opacity: 0.85 },
      encoding: {
        x: {
          field: 't_s',
          type: 'quantitative',
          title: 'seconds since migrate',
          scale: cut ? { domain: [0, end], nice: false } : { zero: true },
        },
        y: { field: 'mib', type: 'quantitative', title: 'MiB', scale: { zero: true } },
        color: strategyColor(ctx),
        detail: { field: 'run_id', type: 'nominal' },
        ...(anyFailed
          ? {
              strokeDash: {
                field: 'status',
                type: 'nominal',
                title: 'run',
                scale: {
                  domain: ['completed', 'failed'],
                  range: [
                    [1, 0],
                    [4, 3],
                  ],
                },
              },
            }
          : {}),
      },
    },
    { column: { field: 'quantity', type: 'nominal', title: null, sort: ['RAM remaining', 'RAM transferred'] } },
    { scale: { y: 'independent' } },
  );
}

/** 2. Median bytes per migration on the migration and storage links, grouped by strategy. */
export function linkBytesSpec(bars: LinkBar[], ctx: ChartContext): TopLevelSpec {
  return assemble(ctx, bars, {
    width: { step: groupStep(bars, 48, 58) },
    height: 240, // with xOffset the step is per bar
    encoding: {
      x: groupAxis(bars),
      xOffset: { field: 'link', type: 'nominal', sort: [...LINKS] },
      y: { field: 'median_mib', type: 'quantitative', title: 'median MiB per migration', scale: { zero: true } },
    },
    layer: [
      {
        mark: { type: 'bar', width: { band: 0.9 } },
        encoding: {
          color: {
            field: 'link',
            type: 'nominal',
            title: 'link',
            sort: [...LINKS],
            scale: { domain: [...LINKS], range: LINK_COLORS },
          },
        },
      },
      {
        mark: { type: 'text', dy: -6, fontSize: 10, color: '#222' },
        encoding: { text: { field: 'median_mib', type: 'quantitative', format: '.1f' } },
      },
    ],
  });
}

/** 3. QMP and app-observed downtime: one point per run, a tick at the median. */
export function downtimeSpec(points: DowntimePoint[], ctx: ChartContext): TopLevelSpec {
  return assemble(
    ctx,
    points,
    {
      width: { step: groupStep(points, 90, 125) },
      height: 220,
      encoding: {
        x: groupAxis(points),
        y: { field: 'ms', type: 'quantitative', title: 'downtime ms', scale: { zero: true } },
      },
      layer: [
        {
          transform: [{ filter: "datum.role === 'run'" }],
          mark: { type: 'point', filled: true, size: 70, opacity: 0.65 },
          // the x axis names the strategy already: no legend
          encoding: { color: { ...strategyColor(ctx), legend: null } },
        },
        {
          transform: [{ filter: "datum.role === 'median'" }],
          mark: { type: 'tick', thickness: 3, size: 40, color: '#222' },
        },
        {
          transform: [{ filter: "datum.role === 'median'" }],
          mark: { type: 'text', align: 'left', dx: 24, fontSize: 10, color: '#222' },
          encoding: { text: { field: 'ms', type: 'quantitative', format: '.0f' } },
        },
      ],
    },
    { column: { field: 'measure', type: 'nominal', title: null, sort: [...DOWNTIMES] } },
    { scale: { y: 'independent' } },
  );
}

/** 4. Web workload p50/p99 latency over time with each run's migration window. */
export function webLatencySpec(points: WebPoint[], ctx: ChartContext): TopLevelSpec {
  const x = { field: 't_s', type: 'quantitative', title: 'seconds since migrate', scale: { zero: true } };
  // symlog keeps 0 ms drawable; its default ticks crowd at the top, so place them by decade
  const maxMs = points.reduce((m, p) => Math.max(m, p.ms ?? 0), 1);
  const ticks = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000].filter(
    (v) => v <= maxMs * 1.5,
  );
  return assemble(ctx, points, {
    width: 840,
    height: 240,
    layer: [
      {
        transform: [{ filter: "datum.role === 'latency'" }],
        mark: { type: 'line', strokeWidth: 1.3, opacity: 0.85 },
        encoding: {
          x,
          y: {
            field: 'ms',
            type: 'quantitative',
            title: 'request latency ms (symlog)',
            scale: { type: 'symlog', zero: true },
            axis: { values: ticks },
          },
          color: strategyColor(ctx),
          strokeDash: {
            field: 'stat',
            type: 'nominal',
            title: 'percentile',
            scale: {
              domain: ['p50', 'p99'],
              range: [
                [1, 0],
                [5, 3],
              ],
            },
          },
          detail: { field: 'run_id', type: 'nominal' },
        },
      },
      {
        transform: [{ filter: "datum.role === 'migration start'" }],
        mark: { type: 'rule', color: '#222', strokeWidth: 1 },
        encoding: { x },
      },
      {
        transform: [{ filter: "datum.role === 'migration end'" }],
        mark: { type: 'rule', strokeDash: [2, 2], strokeWidth: 1.2, opacity: 0.7 },
        encoding: { x, color: strategyColor(ctx) },
      },
    ],
  });
}

/** 5. Median total time vs migration-link bytes per scenario/config/strategy; the front (per workload) joined. */
export function paretoSpec(points: ParetoPoint[], ctx: ChartContext): TopLevelSpec {
  // both axes from zero (a ratio read off the chart is the real one); 15 % headroom for the labels of the outermost
  // points
  const headroom = (xs: number[]) => Number((Math.max(0, ...xs) * 1.15).toPrecision(3)) || 1;
  const x = {
    field: 'total_time_s',
    type: 'quantitative',
    title: 'median total migration time (s)',
    scale: { zero: true, domain: [0, headroom(points.map((p) => p.total_time_s))] },
  };
  const y = {
    field: 'migration_link_mib',
    type: 'quantitative',
    title: 'median migration-link MiB',
    scale: { zero: true, domain: [0, headroom(points.map((p) => p.migration_link_mib))] },
  };
  // labels alternate above and below the points, left to right within a workload, so that
  // neighbours do not overwrite each other
  const rank = new Map<ParetoPoint, number>();
  for (const w of new Set(points.map((p) => p.workload))) {
    points
      .filter((p) => p.workload === w)
      .sort((a, b) => a.total_time_s - b.total_time_s)
      .forEach((p, i) => {
        rank.set(p, i);
      });
  }
  const values = points.map((p) => ({
    ...p,
    pareto: p.front ? 'Pareto front' : 'dominated',
    dominated_by: p.dominated_by.join('; '),
    label_pos: (rank.get(p) ?? 0) % 2 ? 'below' : 'above',
  }));
  const label = (pos: 'above' | 'below', dy: number) => ({
    transform: [{ filter: `datum.label_pos === '${pos}'` }],
    mark: { type: 'text', align: 'center', dy, fontSize: 10, color: '#333' },
    encoding: { x, y, text: { field: 'label', type: 'nominal' } },
  });
  return assemble(
    ctx,
    values,
    {
      width: 620,
      height: 300,
      layer: [
        {
          transform: [{ filter: 'datum.front' }],
          mark: { type: 'line', color: '#888', strokeDash: [4, 3], strokeWidth: 1.2 },
          encoding: { x, y, order: { field: 'total_time_s', type: 'quantitative' } },
        },
        {
          mark: { type: 'point', filled: true, opacity: 0.9, stroke: '#222', strokeWidth: 0.8 },
          encoding: {
            x,
            y,
            color: strategyColor(ctx),
            shape: {
              field: 'pareto',
              type: 'nominal',
              title: 'point',
              scale: { domain: ['Pareto front', 'dominated'], range: ['diamond', 'circle'] },
            },
            size: {
              field: 'pareto',
              type: 'ordinal',
              title: 'point',
              scale: { domain: ['Pareto front', 'dominated'], range: [220, 70] },
            },
          },
        },
        label('above', -14),
        label('below', 20),
      ],
    },
    {},
    undefined,
    'workload',
  );
}
