import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseAllDocuments, LineCounter } from 'yaml';
import { UserError } from '../util/errors.js';
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

/** Parses every document of a scenario file (`---` separates them); each must be a mapping. */
export function parseDocuments(text: string, file: string): SourceDoc[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) {
    if (doc.errors.length) {
      const e = doc.errors[0];
      const { line, col } = lineCounter.linePos(e.pos[0]);
      throw new UserError(`scenario ${file}:${line}:${col}: invalid YAML: ${e.message.split('\n')[0]}`);
    }
  }
  if (list.length === 0) return [{ file, index: 0, count: 1, data: {}, locs: { loc: { file, line: 1 } } }];
  return list.map((doc, index) => {
    const data = doc.toJS() ?? {};
    if (!isPlainObject(data)) {
      const where = list.length > 1 ? ` (document ${index + 1})` : '';
      throw new UserError(`scenario ${file}${where}: must be a YAML mapping`);
    }
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

/**
 * Resolves `extends: FILE` (relative to the file that says it; chains allowed) into one merged
 * document: mappings merge, lists and scalars replace (see mergeLocated). A cycle is an error naming
 * the files. `name` and `extends` are not inherited. Locations keep pointing at the file and line
 * where each value was written, the base's or the child's.
 */
export function resolveExtends(doc: SourceDoc, read: ReadText = readText): Located {
  const seen: string[] = [doc.file];
  const seenAbs: string[] = [resolve(doc.file)];
  const walk = (d: SourceDoc): Located => {
    const ext = d.data.extends;
    if (ext === undefined) return without(d, ['extends']);
    const at = locate(d.locs, ['extends']);
    const where = `${at.file}${at.line ? `:${at.line}` : ''}`;
    if (typeof ext !== 'string' || ext.trim() === '') {
      throw new UserError(`scenario ${where}: field "extends" must be a file name (relative to ${d.file})`);
    }
    const baseFile = isAbsolute(ext) ? ext : join(dirname(d.file), ext);
    const abs = resolve(baseFile);
    if (seenAbs.includes(abs)) {
      const from = seen[seenAbs.indexOf(abs)];
      throw new UserError(`scenario ${where}: extends cycle: ${[...seen.slice(seen.indexOf(from)), baseFile].join(' -> ')}`,
        'one of these files must stop extending the others');
    }
    seen.push(baseFile);
    seenAbs.push(abs);
    let text: string;
    try {
      text = read(baseFile);
    } catch (err) {
      throw new UserError(`scenario ${where}: field "extends": cannot read ${baseFile} (${(err as NodeJS.ErrnoException).code ?? err})`,
        'the path is relative to the file that extends it');
    }
    const docs = parseDocuments(text, baseFile);
    if (docs.length !== 1) {
      throw new UserError(`scenario ${where}: field "extends": ${baseFile} has ${docs.length} documents; a base must have exactly one`);
    }
    const base = without(walk(docs[0]), NOT_INHERITED);
    return mergeLocated(base, without(d, ['extends']));
  };
  return walk(doc);
}
