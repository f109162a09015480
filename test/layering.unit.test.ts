// The house reads as its data path: every src/ folder has a README.md saying what it owns and which folders it
// may import ("May import: a, b" or "May import: nothing"), and its modules import no other folder. The declared
// graph has no cycle, so the folders keep one direction of dependency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const SRC = resolve('src');
const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Folders each folder's modules import (relative imports that leave the folder). */
function actualImports(folder: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of tsFiles(join(SRC, folder))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bfrom\s+'(\.[^']+)'/g)) {
      const target = relative(SRC, resolve(dirname(file), m[1])).split('/')[0];
      if (target !== folder && !found.has(target)) found.set(target, relative(SRC, file));
    }
  }
  return found;
}

function declared(folder: string): { owns: string; may: string[] } {
  const path = join(SRC, folder, 'README.md');
  assert.ok(existsSync(path), `src/${folder}/README.md is missing`);
  const text = readFileSync(path, 'utf8');
  const may = /^May import: (.+)$/m.exec(text);
  assert.ok(may, `src/${folder}/README.md has no "May import:" line`);
  const owns = /^Owns: (.+)$/m.exec(text);
  assert.ok(owns && owns[1].length > 20, `src/${folder}/README.md has no "Owns:" line`);
  const list = may[1].trim() === 'nothing' ? [] : may[1].split(',').map((s) => s.trim().replace(/`/g, ''));
  return { owns: owns[1], may: list };
}

test('every src/ folder says what it owns and may import, and imports nothing else', () => {
  for (const folder of folders) {
    const { may } = declared(folder);
    for (const m of may) assert.ok(folders.includes(m), `src/${folder}/README.md: "${m}" is not a src/ folder`);
    for (const [target, file] of actualImports(folder)) {
      assert.ok(
        may.includes(target),
        `src/${file} imports src/${target}, which src/${folder}/README.md does not allow`,
      );
    }
  }
});

test('the declared folder graph has no cycle', () => {
  const graph = new Map(folders.map((f) => [f, declared(f).may]));
  const state = new Map<string, 'open' | 'done'>();
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return;
    assert.notEqual(state.get(f), 'open', `folder cycle: ${[...path, f].join(' -> ')}`);
    state.set(f, 'open');
    for (const g of graph.get(f) ?? []) visit(g, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of folders) visit(f, []);
});
