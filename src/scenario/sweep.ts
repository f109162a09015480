import { UserError } from '../util/errors.js';
import { isPlainObject, locate, type Loc, type Located } from './located.js';

/** Path segments that would reach an object's prototype instead of a parameter: refused. */
export const RESERVED_SEGMENTS: readonly string[] = ['__proto__', 'constructor', 'prototype'];
const reservedIn = (path: string) => path.split('.').find((seg) => RESERVED_SEGMENTS.includes(seg));

/** One swept parameter: its dotted path, its short name in config ids, its values. */
export interface SweepAxis {
  path: string;
  short: string;
  values: { value: unknown; loc: Loc }[];
}

/** One point of the grid: a value per swept path (in sweep order) and its stable id. */
export interface GridPoint {
  /** dotted path → value, in sweep order */
  values: Record<string, unknown>;
  /** `short=value,...` in sweep order; "" when nothing is swept */
  configId: string;
  /** dotted path → where the value was written */
  locs: Record<string, Loc>;
}

/**
 * Short names for swept paths: the last segment, or the shortest dotted suffix that no other path
 * shares when the last segment is ambiguous (`a.size` and `b.size` stay `a.size`, `b.size`).
 */
export function shortNames(paths: readonly string[]): string[] {
  const suffix = (p: string, k: number) => p.split('.').slice(-k).join('.');
  return paths.map((p, i) => {
    const n = p.split('.').length;
    for (let k = 1; k < n; k++) {
      const s = suffix(p, k);
      if (paths.every((q, j) => j === i || suffix(q, k) !== s)) return s;
    }
    return p;
  });
}

/** A sweep value as it appears in a config id. */
export function formatValue(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

/** The axes of a merged scenario document's `sweep:` mapping (already checked against the schema). */
export function sweepAxes(doc: Located): SweepAxis[] {
  const sweep = doc.data.sweep;
  if (!isPlainObject(sweep)) return [];
  const paths = Object.keys(sweep);
  for (const path of paths) {
    const seg = reservedIn(path);
    if (seg === undefined) continue;
    const at = locate(doc.locs, ['sweep', path]);
    const where = `${at.file}${at.line ? `:${at.line}` : ''}`;
    throw new UserError(
      `scenario ${where}: field "sweep.${path}" has the segment "${seg}"`,
      `${RESERVED_SEGMENTS.join(', ')} are not parameters: sweep a path such as migration.link_cap_mbit`,
    );
  }
  const shorts = shortNames(paths);
  return paths.map((path, i) => ({
    path,
    short: shorts[i],
    values: (sweep[path] as unknown[]).map((value, j) => ({
      value,
      loc: locate(doc.locs, ['sweep', path, String(j)]),
    })),
  }));
}

/** The cartesian product of the axes, first axis varying slowest; one point when nothing is swept. */
export function expandGrid(axes: readonly SweepAxis[]): GridPoint[] {
  let points: GridPoint[] = [{ values: {}, configId: '', locs: {} }];
  for (const axis of axes) {
    points = points.flatMap((p) =>
      axis.values.map(({ value, loc }) => ({
        values: { ...p.values, [axis.path]: value },
        configId: `${p.configId}${p.configId ? ',' : ''}${axis.short}=${formatValue(value)}`,
        locs: { ...p.locs, [axis.path]: { ...loc, note: `sweep ${axis.path}=${formatValue(value)}` } },
      })),
    );
  }
  return points;
}

/** Sets `value` at a dotted path in (a deep copy of) `data`, creating mappings on the way. */
export function applyPoint(data: Record<string, unknown>, point: GridPoint): Record<string, unknown> {
  const out = structuredClone(data);
  for (const [path, value] of Object.entries(point.values)) {
    if (reservedIn(path) !== undefined) throw new Error(`sweep path ${path} reaches an object's prototype`);
    const segs = path.split('.');
    let at: Record<string, unknown> = out;
    for (const s of segs.slice(0, -1)) {
      if (!Object.hasOwn(at, s) || !isPlainObject(at[s])) at[s] = {};
      at = at[s] as Record<string, unknown>;
    }
    at[segs[segs.length - 1]] = structuredClone(value);
  }
  return out;
}

/** The number of grid points, without building them. */
export function gridSize(axes: readonly SweepAxis[]): number {
  return axes.reduce((n, a) => n * a.values.length, 1);
}
