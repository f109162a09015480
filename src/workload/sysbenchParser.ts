/**
 * Parser for sysbench 1.0 text output (`sysbench memory|fileio ... --report-interval N run`): the
 * per-interval report lines and the final summary. Written for the guest's sysbench 1.0.20 (see
 * test/fixtures/sysbench/); lines it does not know are ignored, and an unterminated last line (a
 * log read while sysbench writes it) is dropped, so a running benchmark parses to the intervals so
 * far and no summary.
 */

/** `[ 3s ] 4992.60 MiB/sec` */
export interface MemoryInterval {
  kind: 'memory';
  /** seconds since the benchmark started, at the end of the interval */
  t_s: number;
  mib_s: number;
}

/** `[ 1s ] reads: 100.69 MiB/s writes: 67.13 MiB/s fsyncs: 425.64/s latency (ms,95%): 0.077` */
export interface FileioInterval {
  kind: 'fileio';
  t_s: number;
  read_mib_s: number;
  written_mib_s: number;
  fsyncs_s: number;
  /** latency percentile of the interval (ms) */
  latency_ms: number;
  /** which percentile latency_ms is (95 by default) */
  latency_percentile: number;
}

export type SysbenchInterval = MemoryInterval | FileioInterval;

export interface SysbenchLatency {
  min_ms: number;
  avg_ms: number;
  max_ms: number;
  /** e.g. 95 for `95th percentile:`; absent with --percentile=0 */
  percentile?: number;
  percentile_ms?: number;
  sum_ms?: number;
}

export interface SysbenchSummary {
  total_time_s: number;
  total_events: number;
  latency?: SysbenchLatency;
  /** `Threads fairness:` */
  fairness?: { events_avg: number; events_stddev: number; exec_time_avg_s: number; exec_time_stddev_s: number };
  /** memory: `Total operations: N (X per second)`, `M MiB transferred (R MiB/sec)` */
  memory?: { total_operations: number; operations_per_s: number; transferred_mib?: number; mib_s?: number };
  /** fileio: `File operations:` and `Throughput:` */
  fileio?: { reads_s: number; writes_s: number; fsyncs_s: number; read_mib_s?: number; written_mib_s?: number };
}

export interface SysbenchOutput {
  test: 'memory' | 'fileio' | 'unknown';
  /** e.g. `1.0.20` */
  version?: string;
  threads?: number;
  intervals: SysbenchInterval[];
  /** present once `General statistics:` holds total time and events */
  summary?: SysbenchSummary;
}

const NUM = String.raw`(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)`;
const MEMORY_LINE = new RegExp(String.raw`^\[\s*${NUM}s\s*\]\s+${NUM} MiB/sec\s*$`);
const FILEIO_LINE = new RegExp(
  String.raw`^\[\s*${NUM}s\s*\]\s+reads:\s*${NUM} MiB/s\s+writes:\s*${NUM} MiB/s\s+fsyncs:\s*${NUM}/s\s+latency ` +
    String.raw`\(ms,(\d+)%\):\s*${NUM}\s*$`,
);
const KEY_VALUE = /^\s*([^:]+?):\s*(.*?)\s*$/;

/** What the summary sections hold so far, while the lines are walked. */
interface SummaryParts {
  /** the section header last seen (`General statistics`, `Latency (ms)`, ...) */
  section: string;
  lat: Partial<SysbenchLatency>;
  general: { time?: number; events?: number };
  fileOps: Partial<NonNullable<SysbenchSummary['fileio']>>;
  memory: SysbenchSummary['memory'];
  fairEvents?: [number, number];
  fairTime?: [number, number];
}

/** Version, thread count, which test, and the per-interval report lines; false when the line is none of them. */
function parseHeaderOrInterval(line: string, out: SysbenchOutput): boolean {
  let m: RegExpExecArray | null;
  if ((m = /^sysbench (\d+\.\d+(?:\.\d+)?)/.exec(line))) {
    out.version = m[1];
    return true;
  }
  if ((m = /^Number of threads:\s*(\d+)\s*$/.exec(line))) {
    out.threads = Number(m[1]);
    return true;
  }
  if (/^Running memory speed test/.test(line)) {
    out.test = 'memory';
    return true;
  }
  if (/^Extra file open flags:|^Doing .* test$/.test(line) && out.test === 'unknown') {
    out.test = 'fileio';
    return true;
  }
  if ((m = MEMORY_LINE.exec(line))) {
    out.intervals.push({ kind: 'memory', t_s: Number(m[1]), mib_s: Number(m[2]) });
    if (out.test === 'unknown') out.test = 'memory';
    return true;
  }
  if ((m = FILEIO_LINE.exec(line))) {
    out.intervals.push({
      kind: 'fileio',
      t_s: Number(m[1]),
      read_mib_s: Number(m[2]),
      written_mib_s: Number(m[3]),
      fsyncs_s: Number(m[4]),
      latency_percentile: Number(m[5]),
      latency_ms: Number(m[6]),
    });
    if (out.test === 'unknown') out.test = 'fileio';
    return true;
  }
  return false;
}

/** The memory test's `Total operations:` and `MiB transferred` lines; false when the line is neither. */
function parseMemoryTotals(line: string, parts: SummaryParts): boolean {
  let m: RegExpExecArray | null;
  if ((m = new RegExp(String.raw`^Total operations:\s*(\d+)\s*\(\s*${NUM} per second\)\s*$`).exec(line))) {
    parts.memory = { ...parts.memory, total_operations: Number(m[1]), operations_per_s: Number(m[2]) };
    return true;
  }
  if ((m = new RegExp(String.raw`^${NUM} MiB transferred \(${NUM} MiB/sec\)\s*$`).exec(line))) {
    if (parts.memory) parts.memory = { ...parts.memory, transferred_mib: Number(m[1]), mib_s: Number(m[2]) };
    return true;
  }
  return false;
}

const num = (s: string): number | undefined =>
  new RegExp(`^${NUM}s?$`).test(s) ? Number(s.replace(/s$/, '')) : undefined;

function parseLatencyValue(key: string, v: number, lat: Partial<SysbenchLatency>): void {
  const p = /^(\d+(?:\.\d+)?)(?:st|nd|rd|th) percentile$/.exec(key);
  if (key === 'min') lat.min_ms = v;
  else if (key === 'avg') lat.avg_ms = v;
  else if (key === 'max') lat.max_ms = v;
  else if (key === 'sum') lat.sum_ms = v;
  else if (p) {
    lat.percentile = Number(p[1]);
    lat.percentile_ms = v;
  }
}

function parseFairnessValue(key: string, value: string, parts: SummaryParts): void {
  const pair = new RegExp(`^${NUM}/${NUM}$`).exec(value);
  if (!pair) return;
  if (key === 'events (avg/stddev)') parts.fairEvents = [Number(pair[1]), Number(pair[2])];
  else if (key === 'execution time (avg/stddev)') parts.fairTime = [Number(pair[1]), Number(pair[2])];
}

/** An indented `key: value` line of the current summary section. */
function parseSectionValue(key: string, value: string, parts: SummaryParts): void {
  const { general, fileOps } = parts;
  switch (parts.section) {
    case 'General statistics':
      if (key === 'total time') general.time = num(value);
      else if (key === 'total number of events') general.events = num(value);
      break;
    case 'Latency (ms)': {
      const v = num(value);
      if (v !== undefined) parseLatencyValue(key, v, parts.lat);
      break;
    }
    case 'File operations': {
      const v = num(value);
      if (v === undefined) break;
      if (key === 'reads/s') fileOps.reads_s = v;
      else if (key === 'writes/s') fileOps.writes_s = v;
      else if (key === 'fsyncs/s') fileOps.fsyncs_s = v;
      break;
    }
    case 'Throughput': {
      const v = num(value);
      if (v === undefined) break;
      if (key === 'read, MiB/s') fileOps.read_mib_s = v;
      else if (key === 'written, MiB/s') fileOps.written_mib_s = v;
      break;
    }
    case 'Threads fairness':
      parseFairnessValue(key, value, parts);
      break;
  }
}

/** The summary, once `General statistics:` held total time and events; the other parts only when complete. */
function buildSummary(parts: SummaryParts): SysbenchSummary | undefined {
  const { general, lat, fileOps, memory, fairEvents, fairTime } = parts;
  let fairness: SysbenchSummary['fairness'];
  if (fairEvents && fairTime)
    fairness = {
      events_avg: fairEvents[0],
      events_stddev: fairEvents[1],
      exec_time_avg_s: fairTime[0],
      exec_time_stddev_s: fairTime[1],
    };
  if (general.time === undefined || general.events === undefined) return undefined;
  const summary: SysbenchSummary = { total_time_s: general.time, total_events: general.events };
  if (lat.min_ms !== undefined && lat.avg_ms !== undefined && lat.max_ms !== undefined)
    summary.latency = lat as SysbenchLatency;
  if (fairness) summary.fairness = fairness;
  if (memory) summary.memory = memory;
  if (fileOps.reads_s !== undefined && fileOps.writes_s !== undefined && fileOps.fsyncs_s !== undefined) {
    summary.fileio = fileOps as NonNullable<SysbenchSummary['fileio']>;
  }
  return summary;
}

/** Parses sysbench output; never throws on unknown or cut text. */
export function parseSysbench(text: string): SysbenchOutput {
  const lines = text.split('\n');
  lines.pop(); // '' after the final newline, or an unterminated line that may be cut anywhere
  const out: SysbenchOutput = { test: 'unknown', intervals: [] };
  const parts: SummaryParts = { section: '', lat: {}, general: {}, fileOps: {}, memory: undefined };

  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    if (parseHeaderOrInterval(line, out)) continue;
    if (parseMemoryTotals(line, parts)) continue;
    // section headers start in column 0 and end with ':'
    const header = /^(\S[^:]*):\s*$/.exec(line);
    if (header) {
      parts.section = header[1];
      continue;
    }
    const kv = KEY_VALUE.exec(line);
    if (!kv || !/^\s/.test(line)) continue;
    parseSectionValue(kv[1], kv[2], parts);
  }

  const summary = buildSummary(parts);
  if (summary) out.summary = summary;
  if (out.test === 'unknown' && out.summary?.memory) out.test = 'memory';
  if (out.test === 'unknown' && out.summary?.fileio) out.test = 'fileio';
  return out;
}
