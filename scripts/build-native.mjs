#!/usr/bin/env node
// Builds the native hot path (native/pofhot.c -> build/Release/pofhot.node) with node-gyp, only when
// the source is newer than the module. Run by `npm ci` (install) and `npm run build`. Node's own
// headers are used (--nodedir /usr where the distribution ships them), so nothing is downloaded.
// A failed build is an error: the agents would fall back to Node's crypto (correct, ~2x slower), and
// a benchmark harness must not silently measure the slow path. POFBENCH_NO_NATIVE=1 skips the build.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'Release', 'pofhot.node');
const sources = [join(root, 'native', 'pofhot.c'), join(root, 'binding.gyp')];
if (process.env.POFBENCH_NO_NATIVE === '1') {
  console.error("build-native: skipped (POFBENCH_NO_NATIVE=1): the agents will hash with Node's crypto");
  process.exit(0);
}
if (existsSync(out) && sources.every((s) => statSync(s).mtimeMs <= statSync(out).mtimeMs)) process.exit(0);

const gyp = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].find((p) => p && existsSync(p));
if (!gyp) {
  console.error('build-native: node-gyp not found (it ships with npm); install npm or set npm_config_node_gyp');
  process.exit(1);
}
const args = [gyp, 'rebuild', '--release', '--jobs', '2', '--loglevel=warn'];
const headers = join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h');
if (existsSync(headers)) args.push(`--nodedir=${join(dirname(process.execPath), '..')}`);
console.error('build-native: building build/Release/pofhot.node');
const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (r.status !== 0) {
  console.error(
    `build-native: node-gyp failed (exit ${r.status}); needs make, a C compiler and Python 3 (scripts/setup.sh installs them)`,
  );
  process.exit(1);
}
