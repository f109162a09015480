/**
 * A run's parameters (`params` in run.json): what was run, independent of strategy, repeat and time.
 * Two runs with the same scenario name but different parameters are different experiments: their
 * `params_hash` differs, resuming refuses to mix them, and the analyses never pool them.
 */
import { createHash } from 'node:crypto';
import type { Scenario } from '../scenario/types.js';
import { migrationParams } from '../qemu/migrationSettings.js';
/**
 * What of a testbed shapes a run's numbers: its accelerator and how the source and the destination
 * back guest RAM (TestbedSpec's fields of these names).
 */
export interface TestbedParams {
  accel: string;
  sourceRam?: string;
  destinationRam?: string;
}

/**
 * The `params` of a run of `scenario` on `testbed`, booting image `imageId`. `source_ram` and
 * `destination_ram` are there only when preallocated: runs from before the settings (on demand)
 * keep their hash.
 */
export function runParams(scenario: Scenario, testbed: TestbedParams, imageId: string): Record<string, unknown> {
  return {
    memory_mib: scenario.guest.memory_mib,
    vcpus: scenario.guest.vcpus,
    accel: testbed.accel,
    ...(testbed.sourceRam === 'prealloc' ? { source_ram: 'prealloc' } : {}),
    ...(testbed.destinationRam === 'prealloc' ? { destination_ram: 'prealloc' } : {}),
    ...migrationParams(scenario.migration),
    workload: scenario.workload,
    image_id: imageId,
  };
}

/** JSON with object keys sorted at every level: equal values, equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** 12 hex digits of the SHA-256 of the canonical parameters. */
export function paramsHash(params: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(params ?? {}))
    .digest('hex')
    .slice(0, 12);
}

/** A record's parameters' hash: the stored one, else computed from its `params` (records before the field). */
export function recordParamsHash(r: { params_hash?: unknown; params?: unknown }): string {
  return typeof r.params_hash === 'string' && r.params_hash !== '' ? r.params_hash : paramsHash(r.params);
}

/** One parameter that differs: its dotted path and both values (as JSON; undefined: absent). */
export interface ParamDiff {
  field: string;
  a?: string;
  b?: string;
}

/** Where `a` and `b` differ, leaf by leaf (`migration` fields are at the top level of params). */
export function paramsDiff(a: unknown, b: unknown, prefix = ''): ParamDiff[] {
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => paramsDiff(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  if (canonicalJson(a ?? null) === canonicalJson(b ?? null)) return [];
  const show = (v: unknown) => (v === undefined ? undefined : canonicalJson(v));
  return [{ field: prefix || '(params)', a: show(a), b: show(b) }];
}

/** `field a -> b` for messages, at most `max` differences. */
export function describeDiffs(diffs: readonly ParamDiff[], max = 4): string {
  const shown = diffs.slice(0, max).map((d) => `${d.field} ${d.a ?? '(absent)'} vs ${d.b ?? '(absent)'}`);
  return `${shown.join(', ')}${diffs.length > max ? ` and ${diffs.length - max} more` : ''}`;
}
