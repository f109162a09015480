#!/usr/bin/env node
// Runs the compiled tests with node's test runner, one file at a time (integration tests share
// the local testbed). `--unit` runs only *.unit.test.js (no root, no namespaces, no QEMU).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const unitOnly = process.argv.includes('--unit');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})('dist/test');
const selected = files.filter(
  (f) => (!unitOnly || f.endsWith('.unit.test.js')) && (only.length === 0 || only.some((o) => f.includes(o))),
);
// unit tests first: they fail fast
selected.sort((a, b) => Number(!a.endsWith('.unit.test.js')) - Number(!b.endsWith('.unit.test.js')));
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...selected], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
