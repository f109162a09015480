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
  const extending = readdirSync(dir).filter(
    (f) => f.endsWith('.yaml') && /^extends: base\.yaml$/m.test(readFileSync(join(dir, f), 'utf8')),
  );
  assert.ok(extending.length >= 2, `${extending}`);
  const pagecache = await loadScenario(join(dir, 'pagecache.yaml'));
  assert.equal(pagecache.guest.memory_mib, 512, 'from base.yaml');
  assert.equal(pagecache.migration.link_cap_mbit, 1000, 'from base.yaml');
  assert.equal(pagecache.workload.type, 'pagecache');
  const nightly = await loadScenarios(join(dir, 'nightly.yaml'));
  assert.deepEqual([...new Set(nightly.map((s) => s.workload.type))], ['pagecache', 'anon']);
  assert.ok(
    nightly.every(
      (s) =>
        s.strategies.join() === 'stock,pof' &&
        Object.keys(s.sweep).includes('migration.link_cap_mbit') &&
        Object.keys(s.sweep).includes('migration.downtime_limit_ms'),
    ),
  );
  // stock at its best (multifd) next to stock's defaults and pof, for each workload
  for (const type of ['pagecache', 'anon']) {
    assert.deepEqual(
      [...new Set(nightly.filter((s) => s.workload.type === type).map((s) => s.migration.multifd_channels))],
      [0, 4],
      type,
    );
  }
  await assert.rejects(loadScenario(join(dir, 'nightly.yaml')), /has 20 configurations/);
});

test('defaults are filled per workload type', () => {
  const s = parseScenario('workload: { type: anon }\n', 'a.yaml');
  assert.deepEqual(s.workload, {
    type: 'anon',
    size_mib: 128,
    workers: 1,
    method: 'write64',
    warmup_s: 2,
    ready_timeout_s: 300,
  });
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
  assert.match(
    errorOf('name: x\nworkload:\n  type: bogus\n'),
    /bad\.yaml:3: field "workload\.type" must be one of "idle", "pagecache", "anon", "mixed", "sysbench-memory", "sysbench-fileio", "rewrite", "web"/,
  );
  assert.match(errorOf('guest:\n  memory_mib: lots\n'), /bad\.yaml:2: field "guest\.memory_mib" must be integer/);
  assert.match(
    errorOf('workload:\n  type: anon\n  dataset_mib: 3\n'),
    /bad\.yaml:3: field "workload\.dataset_mib" unknown field/,
  );
  assert.match(
    errorOf('migration:\n  downtime_limit_ms: 0\n'),
    /bad\.yaml:2: field "migration\.downtime_limit_ms" must be >= 1/,
  );
  assert.match(errorOf('strategies: [stock, warp]\n'), /field "strategies\.1" must be one of "stock", "pof"/);
  assert.match(errorOf('guest: [1, 2\n'), /bad\.yaml:\d+:\d+: invalid YAML/);
  assert.match(errorOf('guest: {}\nextra: 1\n'), /bad\.yaml:2: field "extra" unknown field/);
});

test('hostile names are refused by the schema', () => {
  assert.match(errorOf('name: "../../etc"\n'), /field "name" must match pattern/);
  assert.match(
    errorOf('workload: { type: anon, method: "x; rm -rf /" }\n'),
    /field "workload\.method" must match pattern/,
  );
});

test('the new workload types: shipped scenarios, defaults, and invalid values named by field', async () => {
  const dir = join(projectRoot, 'scenarios');
  const types = new Set<string>();
  for (const f of ['mixed.yaml', 'sysbench-memory.yaml', 'sysbench-fileio.yaml', 'rewrite.yaml']) {
    assert.match(readFileSync(join(dir, f), 'utf8'), /^extends: base\.yaml$/m, f);
    for (const s of await loadScenarios(join(dir, f))) {
      types.add(s.workload.type);
      assert.ok(s.guest.memory_mib >= 256 && s.guest.memory_mib <= 512, `${f}: guest 256-512 MiB`);
    }
  }
  assert.deepEqual([...types].sort(), ['mixed', 'rewrite', 'sysbench-fileio', 'sysbench-memory']);
  const rewrite = await loadScenarios(join(dir, 'rewrite.yaml'));
  assert.deepEqual(
    rewrite.map((s) => s.workload.type === 'rewrite' && s.workload.direct),
    [false, true],
  );

  const w = (text: string) => parseScenario(text, 'w.yaml').workload;
  assert.deepEqual(w('workload: { type: mixed }\n'), {
    type: 'mixed',
    dataset_mib: 128,
    reread_interval_s: 1,
    size_mib: 128,
    workers: 1,
    method: 'write64',
    warmup_s: 2,
    ready_timeout_s: 300,
  });
  assert.deepEqual(w('workload: { type: sysbench-memory }\n'), {
    type: 'sysbench-memory',
    block_size_mib: 64,
    threads: 1,
    oper: 'write',
    time_s: 86400,
    warmup_s: 2,
    ready_timeout_s: 300,
  });
  assert.deepEqual(w('workload: { type: sysbench-fileio }\n'), {
    type: 'sysbench-fileio',
    file_total_mib: 64,
    mode: 'rndrw',
    threads: 1,
    time_s: 86400,
    warmup_s: 2,
    ready_timeout_s: 300,
  });
  assert.deepEqual(w('workload: { type: rewrite }\n'), {
    type: 'rewrite',
    file_mib: 32,
    rate_mib_s: 8,
    direct: false,
    fsync: false,
    warmup_s: 2,
    ready_timeout_s: 300,
  });
  assert.equal(
    (w('workload: { type: sysbench-memory, block_size_mib: 256 }\n') as { block_size_mib: number }).block_size_mib,
    256,
  );

  assert.match(
    errorOf('workload:\n  type: sysbench-memory\n  block_size_mib: 48\n'),
    /bad\.yaml:3: field "workload\.block_size_mib" must be one of 1, 2, 4, 8, 16, 32, 64, 128, 256/,
  );
  assert.match(
    errorOf('workload: { type: sysbench-memory, oper: copy }\n'),
    /field "workload\.oper" must be one of "write", "read"/,
  );
  assert.match(
    errorOf('workload:\n  type: sysbench-fileio\n  mode: rndfoo\n'),
    /bad\.yaml:3: field "workload\.mode" must be one of "seqwr", "seqrewr", "seqrd", "rndrd", "rndwr", "rndrw"/,
  );
  assert.match(errorOf('workload: { type: rewrite, direct: maybe }\n'), /field "workload\.direct" must be boolean/);
  assert.match(errorOf('workload: { type: rewrite, rate_mib_s: 0 }\n'), /field "workload\.rate_mib_s" must be >= 1/);
  assert.match(
    errorOf('workload: { type: sysbench-memory, size_mib: 3 }\n'),
    /field "workload\.size_mib" unknown field/,
  );
  assert.match(errorOf('workload: { type: mixed, method: "a b" }\n'), /field "workload\.method" must match pattern/);
});

test('hostile scenario values are refused before anything starts, naming the field', () => {
  const refused: [string, RegExp][] = [
    ['guest: { memory_mib: 100000000 }\n', /guest\.memory_mib/],
    ['name: "../../etc/passwd"\n', /field "name"/],
    ['name: "x; rm -rf /"\n', /field "name"/],
    ['workload: { type: anon, method: "write64; reboot" }\n', /workload\.method/],
    ['workload: { type: pagecache, dataset_mib: 99999999999 }\n', /workload\.dataset_mib/],
    ['migration: { capabilities: { "x-colo; id": true } }\n', /migration\.capabilities/],
    ['extends: /etc/shadow\n', /field "extends": \/etc\/shadow is outside/],
  ];
  for (const [text, field] of refused) {
    assert.throws(
      () => parseScenario(text, 'hostile.yaml'),
      (e: unknown) => e instanceof UserError && field.test(e.message),
      `refused: ${text.trim()}`,
    );
  }
});
