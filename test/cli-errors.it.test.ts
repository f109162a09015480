import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';
import { pofbenchProcesses } from './helpers/leftovers.js';

const bin = join(projectRoot, 'bin', 'pofbench');

function cli(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env, timeout: 120000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const oneLine = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('pofbench:'));

test('--help works on every command', async () => {
  for (const args of [
    ['--help'],
    ['run', '--help'],
    ['testbed', '--help'],
    ['testbed', 'up', '--help'],
    ['image', '--help'],
    ['image', 'build', '--help'],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Usage: pofbench/);
  }
  const r = await cli(['frobnicate']);
  assert.notEqual(r.code, 0);
});

test('an invalid scenario fails before anything starts, naming file, line and field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pofbench-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'broken.yaml');
  writeFileSync(file, 'guest:\n  memory_mib: 512\nworkload:\n  type: pagecache\n  dataset_mib: -5\n');
  const before = pofbenchProcesses().length;
  const r = await cli(['run', file, '--strategies', 'stock']);
  assert.equal(r.code, 2);
  const lines = oneLine(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0],
    new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5: field "workload.dataset_mib" must be >= 1`),
  );
  assert.equal(pofbenchProcesses().length, before, 'nothing was started');
});

test('an unknown strategy is refused with a hint', async () => {
  const r = await cli(['run', join(projectRoot, 'scenarios', 'idle.yaml'), '--strategies', 'warp']);
  assert.equal(r.code, 2);
  assert.match(oneLine(r.stderr)[0], /unknown strategy "warp" — use --strategies with stock, pof and\/or pof-scan/);
});

test('a missing package gives one line saying what to install', async () => {
  const r = await cli(['testbed', 'up'], { ...process.env, PATH: '/nonexistent' });
  assert.equal(r.code, 2);
  const [line] = oneLine(r.stderr);
  assert.match(line, /missing: .*\(package [a-z0-9 -]+\).* — run "apt-get install -y .*" or "bash scripts\/setup.sh"/);
});

test('a workload the guest cannot hold fails before the image build, the testbed and the preflight', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pofbench-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'big.yaml');
  writeFileSync(file, 'guest: { memory_mib: 256 }\nworkload: { type: pagecache, dataset_mib: 400 }\n');
  const before = pofbenchProcesses().length;
  const t0 = Date.now();
  const r = await cli(['run', file, '--strategies', 'stock', '--out', join(dir, 'results')]);
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(oneLine(r.stderr), [
    `pofbench: scenario ${file} (big): workload.dataset_mib 400 does not fit in the page cache of a 256 MiB guest — ` +
      'lower dataset_mib or raise guest.memory_mib',
  ]);
  // nothing else was said or done: no influx line, no image, no testbed, no session directory
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
  assert.equal(pofbenchProcesses().length, before, 'nothing was started');
  assert.equal(existsSync(join(dir, 'results')), false, 'no session was created');
});

test('testbed status --json: one JSON document with every component', async () => {
  const r = await cli(['testbed', 'status', '--json']);
  const status = JSON.parse(r.stdout) as { ok: boolean; components: { component: string; ok: boolean }[] };
  assert.ok(status.components.length > 0);
  assert.equal(r.code, status.ok ? 0 : 1, 'exit 1 exactly when something is broken');
  assert.equal(
    status.ok,
    status.components.every((c) => c.ok),
  );
});
