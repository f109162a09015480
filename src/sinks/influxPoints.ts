import { Point } from '@influxdata/influxdb-client';
import { paramsHash } from '../results/params.js';
import type { RunRecord } from '../results/record.js';
import type { HostRow, QmpRam, QmpRow } from '../results/series.js';

/**
 * The InfluxDB schema of a run (README "InfluxDB schema"): pure conversion of a record and its
 * series rows into line protocol, millisecond precision. Timestamps and tags come only from the
 * run's own data, so writing the same run twice writes the same points (no duplicates).
 */

export const MEASUREMENT_RUN = 'migration';
export const MEASUREMENT_PROGRESS = 'migration_progress';
export const MEASUREMENT_LINK = 'host_link';
export const MEASUREMENTS = [MEASUREMENT_RUN, MEASUREMENT_PROGRESS, MEASUREMENT_LINK] as const;
/** Fields of `migration_progress` (numbers; `status` is a string) and of `host_link`. */
export const PROGRESS_FIELDS = [
  'transferred_bytes',
  'remaining_bytes',
  'mbps',
  'dirty_sync_count',
  'dirty_pages_rate',
  'status',
] as const;
export const LINK_FIELDS = ['rx_bytes', 'tx_bytes'] as const;
/** Precision of every timestamp we write (and of spool files). */
export const PRECISION = 'ms' as const;

/**
 * Record keys that are tags (or the timestamp) rather than fields: what dashboards group and filter
 * by (a Grafana variable per scenario, config, pair and revision; `warmup` is a tag too).
 */
export const TAG_KEYS = [
  'scenario',
  'strategy',
  'testbed',
  'src_host',
  'dst_host',
  'status',
  'config_id',
  'pair',
  'pofbench_rev',
] as const;
const NOT_FIELDS = new Set<string>([...TAG_KEYS, 'repeat', 'warmup', 'started_at', 'params', 'sweep']);
/** Record strings written as string fields (everything else non-numeric is left out). */
const STRING_FIELDS = new Set(['run_id', 'error', 'qemu_version']);

/** The series of one run the sink exports. */
export interface RunSeries {
  qmp: QmpRow[];
  hostSrc: HostRow[];
  hostDst: HostRow[];
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function startedMs(record: RunRecord): number {
  const ms = Date.parse(record.started_at);
  if (!Number.isFinite(ms))
    throw new Error(`run ${record.run_id}: started_at "${record.started_at}" is not a timestamp`);
  return ms;
}

const lineOf = (p: Point): string | undefined =>
  p.toLineProtocol({ convertTime: (v) => String(Math.floor(Number(v))) });

/** The `migration` point: one per run, at started_at. Numbers are float fields (stable types). */
export function runPoint(record: RunRecord): Point {
  const p = new Point(MEASUREMENT_RUN);
  for (const k of TAG_KEYS) if (typeof record[k] === 'string') p.tag(k, record[k]); // empty values are left out
  p.tag('repeat', String(record.repeat));
  p.tag('warmup', String(record.warmup === true));
  p.tag('params_hash', paramsHash(record.params ?? {}));
  for (const [k, v] of Object.entries(record)) {
    if (NOT_FIELDS.has(k)) continue;
    if (isNum(v)) p.floatField(k, v);
    else if (typeof v === 'boolean') p.booleanField(k, v);
    else if (typeof v === 'string' && STRING_FIELDS.has(k)) p.stringField(k, v);
  }
  return p.timestamp(startedMs(record));
}

const seriesTags = (p: Point, r: RunRecord): Point =>
  p.tag('run_id', r.run_id).tag('scenario', r.scenario).tag('strategy', r.strategy);

/** `migration_progress` points, one per QMP sample. */
export function progressPoints(record: RunRecord, rows: QmpRow[]): Point[] {
  const out: Point[] = [];
  for (const row of rows) {
    if (!isNum(row.t)) continue;
    const p = seriesTags(new Point(MEASUREMENT_PROGRESS), record);
    const ram: Partial<QmpRam> = row.ram ?? {};
    const fields: [string, unknown][] = [
      ['transferred_bytes', ram.transferred],
      ['remaining_bytes', ram.remaining],
      ['mbps', ram.mbps],
      ['dirty_sync_count', ram['dirty-sync-count']],
      ['dirty_pages_rate', ram['dirty-pages-rate']],
    ];
    for (const [name, v] of fields) if (isNum(v)) p.floatField(name, v);
    if (typeof row.status === 'string') p.stringField('status', row.status);
    out.push(p.timestamp(row.t));
  }
  return out;
}

/** `host_link` points: cumulative rx/tx byte counters of each NIC of one host, per sample. */
export function hostLinkPoints(record: RunRecord, role: 'src' | 'dst', rows: HostRow[]): Point[] {
  const out: Point[] = [];
  for (const row of rows) {
    if (!isNum(row.t)) continue;
    for (const [nic, c] of Object.entries(row.nic ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!Array.isArray(c) || !isNum(c[0]) || !isNum(c[1])) continue;
      out.push(
        seriesTags(new Point(MEASUREMENT_LINK), record)
          .tag('role', role)
          .tag('nic', nic)
          .floatField('rx_bytes', c[0])
          .floatField('tx_bytes', c[1])
          .timestamp(row.t),
      );
    }
  }
  return out;
}

/** Every line of one run, in a fixed order: the run point, QMP progress, src links, dst links. */
export function runLines(record: RunRecord, series: RunSeries): string[] {
  const points = [
    runPoint(record),
    ...progressPoints(record, series.qmp),
    ...hostLinkPoints(record, 'src', series.hostSrc),
    ...hostLinkPoints(record, 'dst', series.hostDst),
  ];
  return points.map(lineOf).filter((l): l is string => l !== undefined);
}
