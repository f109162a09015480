import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { UserError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';
import type { Scenario } from './types.js';
import { locate, locateExact, type Loc, type Located } from './located.js';
import { parseDocuments, resolveExtends, type ReadText } from './extends.js';
import { SCENARIO_NAME_RE } from './runId.js';
import { applyPoint, expandGrid, formatValue, gridSize, sweepAxes, type GridPoint } from './sweep.js';

export const SCENARIO_SCHEMA_PATH = join(projectRoot, 'scenarios', 'schema', 'scenario.schema.json');
/** More configurations than this from one document is almost certainly a mistake. */
export const MAX_SWEEP_CONFIGS = 10000;

type Validator = ReturnType<Ajv['compile']>;
let validators: { scenario: Validator; sweep: Validator; fields: ReadonlySet<string> } | undefined;
function getValidators() {
  if (!validators) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    const schema = JSON.parse(readFileSync(SCENARIO_SCHEMA_PATH, 'utf8')) as { properties: Record<string, unknown> };
    validators = {
      scenario: ajv.compile(schema),
      // the sweep block alone: checked before the grid is expanded
      sweep: ajv.compile({
        type: 'object',
        properties: { sweep: schema.properties.sweep, extends: schema.properties.extends },
      }),
      fields: new Set(Object.keys(schema.properties)),
    };
  }
  return validators;
}

/** Turns an ajv error into "field: what is wrong", preferring the most specific message. */
function describe(err: ErrorObject): { path: string[]; message: string } {
  const path = err.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  switch (err.keyword) {
    case 'additionalProperties':
      return { path: [...path, String(err.params.additionalProperty)], message: 'unknown field' };
    case 'enum':
      return {
        path,
        message: `must be one of ${(err.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'propertyNames':
      return path[0] === 'sweep'
        ? {
            path: [...path, String(err.params.propertyName)],
            message:
              'is not a parameter path (use e.g. migration.link_cap_mbit: a dotted path under guest, workload or ' +
              'migration)',
          }
        : { path: [...path, String(err.params.propertyName)], message: 'unknown name' };
    case 'required':
      return { path: [...path, String(err.params.missingProperty)], message: 'is required' };
    default:
      return { path, message: err.message ?? err.keyword };
  }
}

const startsWith = (a: readonly string[], b: readonly string[]) =>
  b.length <= a.length && b.every((s, i) => a[i] === s);

/** Where a field of one configuration was written: the sweep value that set it, or the document. */
function locateField(doc: Located, point: GridPoint | undefined, path: string[]): Loc {
  if (point) {
    for (const [sp, loc] of Object.entries(point.locs)) {
      const segs = sp.split('.');
      if (startsWith(path, segs)) return loc;
      // about a field the sweep introduced (e.g. an unknown one on the way to the swept path)
      if (startsWith(segs, path) && !locateExact(doc.locs, path)) return loc;
    }
  }
  return locate(doc.locs, path);
}

/** One line naming file, line and field of each schema error. */
function schemaError(errors: ErrorObject[], file: string, doc: Located, point?: GridPoint): UserError {
  // the if/then wrappers add a generic "must match then schema" error: drop it
  // (and propertyNames repeats its inner error for the name: keep only its own)
  const described = errors.filter((e) => e.keyword !== 'if' && e.propertyName === undefined).map(describe);
  if (described.length === 0) described.push({ path: [], message: 'is invalid' });
  const lines = described.map((d) => {
    const loc = locateField(doc, point, d.path);
    const notes: string[] = [];
    if (loc.note) notes.push(loc.note);
    else if (point?.configId)
      notes.push(
        `sweep config ${Object.entries(point.values)
          .map(([p, v]) => `${p}=${formatValue(v)}`)
          .join(', ')}`,
      );
    if (loc.file !== file) notes.push(`extended by ${file}`);
    return (
      `${loc.file}${loc.line ? `:${loc.line}` : ''}: field "${d.path.join('.') || '(top)'}" ` +
      `${d.message}${notes.length ? ` (${notes.join('; ')})` : ''}`
    );
  });
  return new UserError(
    `scenario ${lines[0]}${lines.length > 1 ? ` (and ${lines.length - 1} more: ${lines.slice(1).join('; ')})` : ''}`,
    'fix the field; the schema is scenarios/schema/scenario.schema.json',
  );
}

/** Fields QEMU no longer has (or pofbench moved): path → what replaces them. */
const REPLACED_FIELDS: [string[], string][] = [
  [
    ['migration', 'capabilities', 'compress'],
    'QEMU 9.1 removed the compress capability: use migration.multifd_channels with migration.multifd_compression ' +
      '(zlib|zstd)',
  ],
  [['migration', 'capabilities', 'multifd'], 'multifd is set with migration.multifd_channels (0 = off)'],
  [['migration', 'capabilities', 'postcopy-ram'], 'post-copy is set with migration.postcopy_after_passes'],
  [['migration', 'capabilities', 'dirty-limit'], 'dirty-limit is set with migration.vcpu_dirty_limit_mbps'],
];

/** Settings that are valid one by one but not together: "field: what is wrong". */
function conflicts(m: Scenario['migration']): { path: string[]; message: string }[] {
  const out: { path: string[]; message: string }[] = [];
  const field = (name: string) => ['migration', name];
  if (m.multifd_channels === 0 && m.multifd_compression !== 'none') {
    out.push({
      path: field('multifd_compression'),
      message: `is ${m.multifd_compression} but multifd is off (set migration.multifd_channels > 0)`,
    });
  }
  if (m.multifd_channels === 0 && m.zero_page_detection === 'multifd') {
    out.push({
      path: field('zero_page_detection'),
      message: 'is multifd but multifd is off (set migration.multifd_channels > 0, or use legacy)',
    });
  }
  if (m.dirty_limit_period_ms !== undefined && m.vcpu_dirty_limit_mbps === undefined) {
    out.push({ path: field('dirty_limit_period_ms'), message: 'needs migration.vcpu_dirty_limit_mbps' });
  }
  return out;
}

/** A UserError for field problems found outside the schema, in the schema error's format. */
function fieldError(
  found: { path: string[]; message: string }[],
  _file: string,
  doc: Located,
  point?: GridPoint,
): UserError {
  const lines = found.map((d) => {
    const loc = locateField(doc, point, d.path);
    return `${loc.file}${loc.line ? `:${loc.line}` : ''}: field "${d.path.join('.')}" ${d.message}`;
  });
  return new UserError(
    `scenario ${lines.join('; ')}`,
    'fix the field; the schema is scenarios/schema/scenario.schema.json',
  );
}

function replacedFields(data: Record<string, unknown>): { path: string[]; message: string }[] {
  const at = (path: string[]) =>
    path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), data);
  return REPLACED_FIELDS.filter(([path]) => at(path) !== undefined).map(([path, message]) => ({ path, message }));
}

/**
 * The scenario name of document `index` of `count` in `file` when it has no `name:`: from the file
 * name, which must then follow the rule the schema sets for `name` (run ids, paths and QEMU options
 * are made of it).
 */
function defaultName(file: string, index: number, count: number): string {
  const base = basename(file, extname(file));
  const name = count > 1 ? `${base}-${index + 1}` : base;
  if (!SCENARIO_NAME_RE.test(name)) {
    const [shown, rule] = [JSON.stringify(name), SCENARIO_NAME_RE.source];
    throw new UserError(
      `scenario ${file}: the name taken from the file name, ${shown}, does not match ${rule}`,
      'rename the file or give the scenario a name: (letters, digits, ".", "_" and "-"; at most 64)',
    );
  }
  return name;
}

/**
 * Every configuration of a scenario file: each YAML document (`---` separates them) with `extends`
 * resolved, then one configuration per point of its `sweep:` grid (one when nothing is swept).
 * Each configuration is validated against the schema on its own, defaults filled in. Any problem is
 * a UserError naming the file and line where the bad value was written (the base's when it came
 * from there), the field and, for sweeps, the swept path and value — raised before anything starts.
 */
export function parseScenarios(text: string, file: string, read?: ReadText): Scenario[] {
  const { scenario: validate, sweep: validateSweep, fields } = getValidators();
  const out: Scenario[] = [];
  const names = new Map<string, number | undefined>();
  for (const src of parseDocuments(text, file)) {
    const name = typeof src.data.name === 'string' ? src.data.name : defaultName(file, src.index, src.count);
    if (names.has(name)) {
      const at = locate(src.locs, ['name']);
      throw new UserError(
        `scenario ${file}:${at.line ?? names.get(name) ?? 1}: two documents are named "${name}"`,
        'give each document its own name',
      );
    }
    names.set(name, locate(src.locs, ['name']).line);
    const doc = resolveExtends(src, { read, fields });
    if (!validateSweep(structuredClone(doc.data))) throw schemaError(validateSweep.errors ?? [], file, doc);
    const axes = sweepAxes(doc);
    const size = gridSize(axes);
    if (size > MAX_SWEEP_CONFIGS) {
      const at = locate(doc.locs, ['sweep']);
      throw new UserError(
        `scenario ${at.file}:${at.line ?? 1}: field "sweep" expands to ${size} configurations (more than ` +
          `${MAX_SWEEP_CONFIGS})`,
        'sweep fewer values',
      );
    }
    const base = { ...doc.data };
    delete base.sweep;
    for (const point of expandGrid(axes)) {
      const data = applyPoint(base, point);
      const replaced = replacedFields(data);
      if (replaced.length) throw fieldError(replaced, file, doc, point);
      if (!validate(data)) throw schemaError(validate.errors ?? [], file, doc, point);
      const s = data as unknown as Scenario;
      const conflicting = conflicts(s.migration);
      if (conflicting.length) throw fieldError(conflicting, file, doc, point);
      s.name = name;
      s.file = file;
      s.config_id = point.configId;
      s.sweep = point.values;
      out.push(s);
    }
  }
  return out;
}

/** Reads a scenario file and returns every configuration in it (see parseScenarios). */
export async function loadScenarios(file: string): Promise<Scenario[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(
      `scenario ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`,
      'check the path',
    );
  }
  return parseScenarios(text, file);
}

function single(list: Scenario[], file: string): Scenario {
  if (list.length !== 1) {
    throw new UserError(
      `scenario ${file}: has ${list.length} configurations (documents or sweep points), expected one`,
      'load it with loadScenarios',
    );
  }
  return list[0];
}

/** A file holding exactly one configuration (no sweep, one document). */
export function parseScenario(text: string, file: string, read?: ReadText): Scenario {
  return single(parseScenarios(text, file, read), file);
}

/** Loads a file holding exactly one configuration (no sweep, one document). */
export async function loadScenario(file: string): Promise<Scenario> {
  return single(await loadScenarios(file), file);
}
