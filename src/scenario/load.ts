import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument, LineCounter, isNode } from 'yaml';
import { UserError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';
import type { Scenario } from './types.js';

export const SCENARIO_SCHEMA_PATH = join(projectRoot, 'scenarios', 'schema', 'scenario.schema.json');

let validator: ReturnType<Ajv['compile']> | undefined;
function getValidator() {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    validator = ajv.compile(JSON.parse(readFileSync(SCENARIO_SCHEMA_PATH, 'utf8')));
  }
  return validator;
}

/** Turns an ajv error into "field: what is wrong", preferring the most specific message. */
function describe(err: ErrorObject): { path: string[]; message: string } {
  const path = err.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  switch (err.keyword) {
    case 'additionalProperties':
      return { path: [...path, String(err.params.additionalProperty)], message: 'unknown field' };
    case 'enum':
      return { path, message: `must be one of ${(err.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'propertyNames':
      return { path: [...path, String(err.params.propertyName)], message: 'unknown name' };
    case 'required':
      return { path: [...path, String(err.params.missingProperty)], message: 'is required' };
    default:
      return { path, message: err.message ?? err.keyword };
  }
}

/**
 * Loads and validates a scenario file. Any problem is a UserError naming the file, line and field,
 * raised before anything starts. Defaults from the schema are filled in.
 */
export async function loadScenario(file: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`scenario ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`, 'check the path');
  }
  return parseScenario(text, file);
}

export function parseScenario(text: string, file: string): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const { line, col } = lineCounter.linePos(e.pos[0]);
    throw new UserError(`scenario ${file}:${line}:${col}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const data = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof data !== 'object' || Array.isArray(data)) throw new UserError(`scenario ${file}: must be a YAML mapping`);
  const validate = getValidator();
  if (!validate(data)) {
    // the if/then wrappers add a generic "must match then schema" error: drop it
    const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'if');
    const described = errors.map(describe);
    const first = described[0] ?? { path: [], message: 'invalid' };
    const lines = described.map((d) => {
      let node: unknown;
      for (let i = d.path.length; i >= 0 && !isNode(node); i--) node = doc.getIn(d.path.slice(0, i), true);
      const at = isNode(node) && node.range ? lineCounter.linePos(node.range[0]).line : undefined;
      return `${file}${at ? `:${at}` : ''}: field "${d.path.join('.') || '(top)'}" ${d.message}`;
    });
    throw new UserError(`scenario ${lines[0]}${lines.length > 1 ? ` (and ${lines.length - 1} more: ${lines.slice(1).join('; ')})` : ''}`,
      `fix the field; the schema is scenarios/schema/scenario.schema.json${first ? '' : ''}`);
  }
  const s = data as unknown as Scenario;
  s.name ??= basename(file, extname(file));
  s.file = file;
  return s;
}
