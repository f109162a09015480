import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve, sep } from 'node:path';
import { parseAllDocuments, LineCounter } from 'yaml';
import { UserError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';
import { isPlainObject, locTreeOf, locate, mergeLocated, type Located } from './located.js';

/** Fields a scenario does not inherit through `extends` (each file names itself). */
const NOT_INHERITED = ['name', 'extends'];

/** One YAML document of a scenario file, with the location of each of its values. */
export interface SourceDoc extends Located {
  file: string;
  /** 0-based position of the document in its file, and how many the file has. */
  index: number;
  count: number;
}

/**
 * Parses every document of a scenario file (`---` separates them); each must be a mapping.
 * `prefix` starts every error (default `scenario FILE`); with `quiet` no error quotes the text (YAML's
 * messages can: an extends target may be a file that is not ours to show), only its error code.
 */
export function parseDocuments(text: string, file: string, o: { prefix?: string; quiet?: boolean } = {}): SourceDoc[] {
  const prefix = o.prefix ?? `scenario ${file}`;
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) {
    if (doc.errors.length) {
      const e = doc.errors[0];
      const { line, col } = lineCounter.linePos(e.pos[0]);
      throw new UserError(
        o.quiet
          ? `${prefix}: invalid YAML at line ${line}:${col} (${e.code})`
          : `${prefix}:${line}:${col}: invalid YAML: ${e.message.split('\n')[0]}`,
      );
    }
  }
  if (list.length === 0) return [{ file, index: 0, count: 1, data: {}, locs: { loc: { file, line: 1 } } }];
  return list.map((doc, index) => {
    const where = list.length > 1 ? ` (document ${index + 1})` : '';
    let data: unknown;
    try {
      data = doc.toJS() ?? {};
    } catch (err) {
      // e.g. an unresolved alias: its message names the alias
      const why = o.quiet ? '' : `: ${(err as Error).message.split('\n')[0]}`;
      throw new UserError(`${prefix}${where}: invalid YAML${why}`);
    }
    if (!isPlainObject(data)) throw new UserError(`${prefix}${where}: must be a YAML mapping`);
    return { file, index, count: list.length, data, locs: locTreeOf(doc, file, lineCounter) };
  });
}

export type ReadText = (file: string) => string;
const readText: ReadText = (file) => readFileSync(file, 'utf8');

function without(doc: Located, keys: string[]): Located {
  const data = { ...doc.data };
  const kids = new Map(doc.locs.kids);
  for (const k of keys) {
    delete data[k];
    kids.delete(k);
  }
  return { data, locs: { loc: doc.locs.loc, kids } };
}

/** Where `extends` may reach: the top scenario file's directory tree and the project's scenarios/ (real paths). */
export function extendsRoots(file: string): string[] {
  return [dirname(resolve(file)), join(projectRoot, 'scenarios')].map(realOrResolved);
}

function realOrResolved(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

const within = (path: string, root: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
const SCENARIO_EXTENSIONS = ['.yaml', '.yml', '.json'];
const MAX_BASE_BYTES = 1024 * 1024;

type ExtendsError = (what: string, hint?: string) => UserError;

/**
 * The real path of an extends target (symlinks resolved), once it is known to be a file extends
 * may reach: a .yaml/.yml/.json file of at most 1 MiB under one of `roots`. Nothing is read before.
 */
function checkBase(baseFile: string, roots: string[], error: ExtendsError): string {
  let real: string;
  try {
    real = realpathSync(baseFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? err;
    throw error(`cannot read ${baseFile} (${code})`, 'the path is relative to the file that extends it');
  }
  const shown = real === resolve(baseFile) ? baseFile : `${baseFile} (-> ${real})`;
  if (!roots.some((r) => within(real, r))) {
    throw error(
      `${shown} is outside the directories extends may reach (${roots.join(', ')})`,
      "a base scenario must lie under the directory of the scenario that names it, or in the project's scenarios/",
    );
  }
  const st = statSync(real);
  if (!st.isFile() || !SCENARIO_EXTENSIONS.includes(extname(real)) || st.size > MAX_BASE_BYTES) {
    throw error(`${shown} is not a scenario file (a .yaml, .yml or .json file of at most 1 MiB)`);
  }
  return real;
}

export interface ExtendsOptions {
  read?: ReadText;
  /** The top-level fields of a scenario: a base with any other key is not a scenario file (and is not quoted). */
  fields?: ReadonlySet<string>;
}

/** Parses an extends target: one document, a mapping of scenario fields; no error quotes its content. */
function parseBase(
  text: string,
  baseFile: string,
  fields: ReadonlySet<string> | undefined,
  error: ExtendsError,
): SourceDoc {
  const notScenario = error(`${baseFile} is not a scenario file`).message;
  const docs = parseDocuments(text, baseFile, { prefix: notScenario, quiet: true });
  if (docs.length !== 1) throw error(`${baseFile} has ${docs.length} documents; a base must have exactly one`);
  const unknown = fields ? Object.keys(docs[0].data).filter((k) => !fields.has(k)) : [];
  if (unknown.length) {
    throw error(
      `${baseFile} is not a scenario file: ${unknown.length} top-level key(s) are not scenario fields`,
      `a base holds scenario fields only: ${[...fields!].join(', ')}`,
    );
  }
  return docs[0];
}

/**
 * Resolves `extends: FILE` (relative to the file that says it; chains allowed) into one merged
 * document: mappings merge, lists and scalars replace (see mergeLocated). A cycle is an error naming
 * the files. `name` and `extends` are not inherited. Locations keep pointing at the file and line
 * where each value was written, the base's or the child's. A base must be a scenario file under the
 * top scenario's directory tree or the project's scenarios/ (extendsRoots); errors never quote it.
 */
export function resolveExtends(doc: SourceDoc, o: ExtendsOptions = {}): Located {
  const read = o.read ?? readText;
  const roots = extendsRoots(doc.file);
  const seen: string[] = [doc.file];
  const seenReal: string[] = [realOrResolved(doc.file)];
  const walk = (d: SourceDoc): Located => {
    const ext = d.data.extends;
    if (ext === undefined) return without(d, ['extends']);
    const at = locate(d.locs, ['extends']);
    const where = `${at.file}${at.line ? `:${at.line}` : ''}`;
    const error: ExtendsError = (what, hint) => new UserError(`scenario ${where}: field "extends": ${what}`, hint);
    if (typeof ext !== 'string' || ext.trim() === '') {
      throw new UserError(`scenario ${where}: field "extends" must be a file name (relative to ${d.file})`);
    }
    const baseFile = isAbsolute(ext) ? ext : join(dirname(d.file), ext);
    const real = checkBase(baseFile, roots, error);
    if (seenReal.includes(real)) {
      const from = seen[seenReal.indexOf(real)];
      throw new UserError(
        `scenario ${where}: extends cycle: ${[...seen.slice(seen.indexOf(from)), baseFile].join(' -> ')}`,
        'one of these files must stop extending the others',
      );
    }
    seen.push(baseFile);
    seenReal.push(real);
    let text: string;
    try {
      text = read(real);
    } catch (err) {
      throw error(`cannot read ${baseFile} (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    const base = without(walk(parseBase(text, baseFile, o.fields, error)), NOT_INHERITED);
    return mergeLocated(base, without(d, ['extends']));
  };
  return walk(doc);
}
