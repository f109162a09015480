import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/** Where a value was written: the file, its line, and optionally how it got there (a sweep value). */
export interface Loc {
  file: string;
  line?: number;
  note?: string;
}

/** The source location of every value in a scenario document, mirroring its shape. */
export interface LocTree {
  loc: Loc;
  kids?: Map<string, LocTree>;
}

type YamlDoc = Document.Parsed | Document;

/** Builds the location tree of a parsed YAML document (aliases point at the alias's own line). */
export function locTreeOf(doc: YamlDoc, file: string, lineCounter: LineCounter): LocTree {
  const lineOf = (node: unknown): number | undefined => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };
  const walk = (node: unknown, at: number | undefined, depth: number): LocTree => {
    const line = lineOf(node) ?? at;
    const tree: LocTree = { loc: { file, line } };
    if (depth > 64) return tree;
    const target = isAlias(node) ? node.resolve(doc as Document) : node;
    if (isMap(target)) {
      tree.kids = new Map();
      for (const pair of target.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        tree.kids.set(key, walk(pair.value ?? pair.key, lineOf(pair.key) ?? line, depth + 1));
      }
    } else if (isSeq(target)) {
      tree.kids = new Map();
      for (const [i, item] of target.items.entries()) tree.kids.set(String(i), walk(item, line, depth + 1));
    }
    return tree;
  };
  return walk(doc.contents, 1, 0);
}

/** The location of the deepest part of `path` that was written somewhere. */
export function locate(tree: LocTree, path: readonly string[]): Loc {
  let t = tree;
  for (const p of path) {
    const next = t.kids?.get(p);
    if (!next) break;
    t = next;
  }
  return t.loc;
}

/** The location of exactly `path`, if it was written. */
export function locateExact(tree: LocTree, path: readonly string[]): Loc | undefined {
  let t: LocTree | undefined = tree;
  for (const p of path) t = t?.kids?.get(p);
  return t?.loc;
}

/** A plain mapping (not a list, not null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value and where each part of it was written. */
export interface Located {
  data: Record<string, unknown>;
  locs: LocTree;
}

/**
 * Deep merge of `child` over `base`: mappings merge key by key (base's keys first, then the
 * child's new ones), lists and scalars from the child replace the base's. Locations follow the
 * values, so an error still points at the file and line where the value was written.
 */
export function mergeLocated(base: Located, child: Located): Located {
  // a key "__proto__" (YAML allows it) stays an own field, for validation to refuse: never a prototype
  const set = (o: Record<string, unknown>, k: string, value: unknown) => {
    Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
  };
  const merge = (b: unknown, bl: LocTree, c: unknown, cl: LocTree): { v: unknown; l: LocTree } => {
    if (!isPlainObject(b) || !isPlainObject(c)) return { v: c, l: cl };
    const v: Record<string, unknown> = {};
    const kids = new Map<string, LocTree>();
    for (const [k, bv] of Object.entries(b)) {
      set(v, k, bv);
      kids.set(k, bl.kids?.get(k) ?? { loc: bl.loc });
    }
    for (const [k, cv] of Object.entries(c)) {
      const ckid = cl.kids?.get(k) ?? { loc: cl.loc };
      if (Object.hasOwn(b, k)) {
        const m = merge(b[k], kids.get(k)!, cv, ckid);
        set(v, k, m.v);
        kids.set(k, m.l);
      } else {
        set(v, k, cv);
        kids.set(k, ckid);
      }
    }
    return { v, l: { loc: cl.loc, kids } };
  };
  const m = merge(base.data, base.locs, child.data, child.locs);
  return { data: m.v as Record<string, unknown>, locs: m.l };
}
