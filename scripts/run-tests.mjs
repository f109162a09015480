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
// --test-force-exit: a file whose test left a handle open (a listener a failed assertion skipped closing) ends
// when its tests have, instead of holding the whole suite until CI's limit; --test-timeout: a test that gives no
// timeout of its own fails after 10 minutes rather than waiting forever.
const runnerArgs = ['--test', '--test-concurrency=1', '--test-force-exit', '--test-timeout=600000'];
const r = spawnSync(process.execPath, [...runnerArgs, '--test-reporter=spec', ...selected], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
