import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario, loadScenario, loadScenarios } from '../src/scenario/load.js';
import { projectRoot } from '../src/util/paths.js';
import { UserError } from '../src/util/errors.js';

test('every shipped scenario validates and gets defaults', async () => {
  const dir = join(projectRoot, 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 3);
  for (const f of files) {
    const configs = await loadScenarios(join(dir, f));
    assert.ok(configs.length >= 1, f);
    for (const s of configs) {
      assert.ok(s.name.startsWith(f.replace(/\.yaml$/, '')), `${f}: ${s.name}`);
      assert.ok(s.migration.max_bandwidth_mbit > 0, `${f}: max_bandwidth set explicitly`);
      assert.ok(s.guest.memory_mib >= 64);
      assert.equal(typeof s.config_id, 'string');
    }
    if (configs.length === 1) assert.equal(configs[0].name, f.replace(/\.yaml$/, ''));
  }
});

test('shipped scenarios use base.yaml through extends; nightly.yaml sweeps pagecache and anon', async () => {
  const dir = join(projectRoot, 'scenarios');
  const extending = readdirSync(dir).filter((f) => f.endsWith('.yaml') && /^extends: base\.yaml$/m.test(readFileSync(join(dir, f), 'utf8')));
  assert.ok(extending.length >= 2, `${extending}`);
  const pagecache = await loadScenario(join(dir, 'pagecache.yaml'));
  assert.equal(pagecache.guest.memory_mib, 512, 'from base.yaml');
  assert.equal(pagecache.migration.link_cap_mbit, 1000, 'from base.yaml');
  assert.equal(pagecache.workload.type, 'pagecache');
  const nightly = await loadScenarios(join(dir, 'nightly.yaml'));
  assert.deepEqual([...new Set(nightly.map((s) => s.workload.type))], ['pagecache', 'anon']);
  assert.ok(nightly.every((s) => s.strategies.join() === 'stock,pof' && Object.keys(s.sweep).includes('migration.link_cap_mbit') && Object.keys(s.sweep).includes('migration.downtime_limit_ms')));
  await assert.rejects(loadScenario(join(dir, 'nightly.yaml')), /has 14 configurations/);
});

test('defaults are filled per workload type', () => {
  const s = parseScenario('workload: { type: anon }\n', 'a.yaml');
  assert.deepEqual(s.workload, { type: 'anon', size_mib: 128, workers: 1, method: 'write64', warmup_s: 2, ready_timeout_s: 300 });
  assert.equal(s.repeat, 1);
  assert.deepEqual(s.strategies, ['stock']);
});

function errorOf(text: string): string {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (err) {
    assert.ok(err instanceof UserError, 'a UserError (one line, exit 2)');
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail('expected an error');
}

test('errors name the file, the line and the field', () => {
  assert.match(errorOf('name: x\nworkload:\n  type: bogus\n'), /bad\.yaml:3: field "workload\.type" must be one of "idle", "pagecache", "anon"/);
  assert.match(errorOf('guest:\n  memory_mib: lots\n'), /bad\.yaml:2: field "guest\.memory_mib" must be integer/);
  assert.match(errorOf('workload:\n  type: anon\n  dataset_mib: 3\n'), /bad\.yaml:3: field "workload\.dataset_mib" unknown field/);
  assert.match(errorOf('migration:\n  downtime_limit_ms: 0\n'), /bad\.yaml:2: field "migration\.downtime_limit_ms" must be >= 1/);
  assert.match(errorOf('strategies: [stock, warp]\n'), /field "strategies\.1" must be one of "stock", "pof"/);
  assert.match(errorOf('guest: [1, 2\n'), /bad\.yaml:\d+:\d+: invalid YAML/);
  assert.match(errorOf('guest: {}\nextra: 1\n'), /bad\.yaml:2: field "extra" unknown field/);
});

test('hostile names are refused by the schema', () => {
  assert.match(errorOf('name: "../../etc"\n'), /field "name" must match pattern/);
  assert.match(errorOf('workload: { type: anon, method: "x; rm -rf /" }\n'), /field "workload\.method" must match pattern/);
});
