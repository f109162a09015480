import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadScenarios, parseScenarios, loadScenario } from '../src/scenario/load.js';
import { shortNames } from '../src/scenario/sweep.js';
import { planSession } from '../src/plan/plan.js';
import { estimateRun, etaSeconds } from '../src/plan/estimate.js';
import { shuffle, markWarmups } from '../src/plan/order.js';
import { completedRuns, runKey } from '../src/plan/resume.js';
import { makeRunId } from '../src/scenario/runId.js';
import { projectRoot } from '../src/util/paths.js';
import { UserError } from '../src/util/errors.js';

const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pofbench-sweep-'));
  temps.push(d);
  return d;
}

function files(dir: string, contents: Record<string, string>): void {
  for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, name), text);
}

async function errorOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `a UserError, got ${err}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail('expected an error');
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

// --- extends ---

test('extends: maps merge, lists and scalars replace, chains resolve, name is not inherited', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'common'));
  files(dir, {
    'common/root.yaml':
      'name: root\nguest: { memory_mib: 1024, vcpus: 2 }\nmigration: { link_cap_mbit: 100, capabilities: { ' +
      'auto-converge: true } }\nstrategies: [stock, pof]\n',
    'common/base.yaml':
      'extends: root.yaml\nname: base\nguest: { memory_mib: 512 }\nmigration: { downtime_limit_ms: 100 }\nrepeat: 4\n',
    'child.yaml':
      'extends: common/base.yaml\nworkload: { type: anon, size_mib: 64 }\nmigration: { link_cap_mbit: 2000 ' +
      '}\nstrategies: [pof]\n',
  });
  const s = await loadScenario(join(dir, 'child.yaml'));
  assert.equal(s.name, 'child', 'name comes from the file, not the base');
  assert.deepEqual(s.guest, { memory_mib: 512, vcpus: 2, boot_timeout_s: 60 });
  assert.equal(s.migration.link_cap_mbit, 2000, 'child scalar replaces');
  assert.equal(s.migration.downtime_limit_ms, 100, 'base value kept (map merge)');
  assert.deepEqual(s.migration.capabilities, { 'auto-converge': true }, 'grand-base value kept');
  assert.deepEqual(s.strategies, ['pof'], 'lists replace, not concatenate');
  assert.equal(s.repeat, 4);
  assert.equal(s.workload.type, 'anon');
  assert.equal(s.config_id, '');
  assert.deepEqual(s.sweep, {});
  assert.equal((s as unknown as Record<string, unknown>).extends, undefined, 'extends is not part of the scenario');
});

test('extends: a cycle is an error naming the files', async () => {
  const dir = tempDir();
  files(dir, {
    'a.yaml': 'extends: b.yaml\n',
    'b.yaml': 'extends: c.yaml\n',
    'c.yaml': 'extends: ./a.yaml\n',
    'self.yaml': 'extends: self.yaml\n',
  });
  const msg = await errorOf(() => loadScenarios(join(dir, 'a.yaml')));
  assert.match(msg, /extends cycle: .*a\.yaml -> .*b\.yaml -> .*c\.yaml -> .*a\.yaml/);
  assert.match(msg, /c\.yaml:1/, 'names the line that closes the cycle');
  assert.match(
    await errorOf(() => loadScenarios(join(dir, 'self.yaml'))),
    /extends cycle: .*self\.yaml -> .*self\.yaml/,
  );
});

test('extends: a missing base names the file and line of the extends', async () => {
  const dir = tempDir();
  files(dir, { 'x.yaml': 'guest: { memory_mib: 256 }\nextends: nope.yaml\n' });
  assert.match(
    await errorOf(() => loadScenarios(join(dir, 'x.yaml'))),
    new RegExp(`${escapeRe(join(dir, 'x.yaml'))}:2: field "extends": cannot read .*nope\\.yaml`),
  );
});

test('a bad value written in a base is reported at the base file, line and field', async () => {
  const dir = tempDir();
  files(dir, {
    'base.yaml': '# a base\nguest:\n  memory_mib: 32\nmigration:\n  link_cap_mbit: 1000\n',
    'child.yaml': 'extends: base.yaml\nworkload:\n  type: idle\nmigration:\n  downtime_limit_ms: 0\n',
  });
  const msg = await errorOf(() => loadScenarios(join(dir, 'child.yaml')));
  assert.match(
    msg,
    new RegExp(
      `${escapeRe(join(dir, 'base.yaml'))}:3: field "guest\\.memory_mib" must be >= 64 \\(extended by ` +
        `${escapeRe(join(dir, 'child.yaml'))}\\)`,
    ),
  );
  assert.match(
    msg,
    new RegExp(`${escapeRe(join(dir, 'child.yaml'))}:5: field "migration\\.downtime_limit_ms" must be >= 1`),
    "the child's own error at the child",
  );
  // the child overriding the bad base value makes it valid
  files(dir, { 'fixed.yaml': 'extends: base.yaml\nguest: { memory_mib: 128 }\n' });
  assert.equal((await loadScenario(join(dir, 'fixed.yaml'))).guest.memory_mib, 128);
});

// --- sweeps ---

const SWEEP = `name: grid
workload: { type: pagecache, dataset_mib: 100 }
strategies: [stock, pof]
repeat: 3
sweep:
  migration.link_cap_mbit: [500, 1000]
  migration.downtime_limit_ms: [100, 300]
  migration.capabilities.xbzrle: [false, true]
  guest.memory_mib: [256, 512]
  workload.dataset_mib: [128, 256]
`;

test('a sweep expands to the grid, each configuration a full scenario with a config id and its values', () => {
  const configs = parseScenarios(SWEEP, 'grid.yaml');
  assert.equal(configs.length, 32);
  assert.equal(new Set(configs.map((c) => c.config_id)).size, 32, 'config ids are unique');
  assert.equal(
    configs[0].config_id,
    'link_cap_mbit=500,downtime_limit_ms=100,xbzrle=false,memory_mib=256,dataset_mib=128',
  );
  assert.equal(
    configs[31].config_id,
    'link_cap_mbit=1000,downtime_limit_ms=300,xbzrle=true,memory_mib=512,dataset_mib=256',
  );
  assert.equal(
    configs[1].config_id,
    'link_cap_mbit=500,downtime_limit_ms=100,xbzrle=false,memory_mib=256,dataset_mib=256',
    'the last key varies fastest',
  );
  const c = configs[31];
  assert.deepEqual(c.sweep, {
    'migration.link_cap_mbit': 1000,
    'migration.downtime_limit_ms': 300,
    'migration.capabilities.xbzrle': true,
    'guest.memory_mib': 512,
    'workload.dataset_mib': 256,
  });
  assert.equal(c.migration.link_cap_mbit, 1000);
  assert.deepEqual(c.migration.capabilities, { xbzrle: true });
  assert.equal(c.guest.memory_mib, 512);
  assert.deepEqual(c.workload, {
    type: 'pagecache',
    dataset_mib: 256,
    reread_interval_s: 1,
    warmup_s: 2,
    ready_timeout_s: 300,
  });
  assert.equal(c.migration.max_bandwidth_mbit, 100000, 'defaults filled per configuration');
  assert.notEqual(configs[0].guest, configs[1].guest, 'configurations do not share objects');
  // grid × strategies × repeats, minus pof with xbzrle=true (skipped with a note)
  const plan = planSession(configs);
  assert.equal(plan.total, 16 * 2 * 3 + 16 * 1 * 3);
  assert.equal(plan.runs.length, plan.total);
  assert.equal(plan.notes.length, 1);
  assert.match(
    plan.notes[0],
    /pof skipped for grid migration\.capabilities\.xbzrle=true \(16 configurations\): field "migration\.capabilities\.xbzrle"/,
  );
  assert.ok(!plan.runs.some((r) => r.strategy === 'pof' && r.scenario.migration.capabilities.xbzrle));
});

test('short names: the last segment unless ambiguous, then the shortest unique suffix', () => {
  assert.deepEqual(shortNames(['migration.link_cap_mbit', 'guest.memory_mib']), ['link_cap_mbit', 'memory_mib']);
  assert.deepEqual(shortNames(['a.x.size', 'b.x.size', 'c.count']), ['a.x.size', 'b.x.size', 'count']);
  assert.deepEqual(shortNames(['a.b', 'x.a.b']), ['a.b', 'x.a.b']);
});

test('an invalid sweep value names the sweep path, the value and its line', async () => {
  const text = 'workload: { type: idle }\nsweep:\n  guest.memory_mib:\n    - 256\n    - 32\n';
  assert.match(
    await errorOf(() => parseScenarios(text, 's.yaml')),
    /s\.yaml:5: field "guest\.memory_mib" must be >= 64 \(sweep guest\.memory_mib=32\)/,
  );
  // a combination that is invalid only together: anon has no dataset_mib
  const combo = 'workload: { type: pagecache, dataset_mib: 64 }\nsweep:\n  workload.type: [pagecache, anon]\n';
  assert.match(
    await errorOf(() => parseScenarios(combo, 'c.yaml')),
    /c\.yaml:1: field "workload\.dataset_mib" unknown field \(sweep config workload\.type=anon\)/,
  );
  // a path that is no parameter
  assert.match(
    await errorOf(() => parseScenarios('sweep:\n  migration.link_cap: [1, 2]\n', 'p.yaml')),
    /p\.yaml:2: field "migration\.link_cap" unknown field \(sweep migration\.link_cap=1\)/,
  );
  assert.match(
    await errorOf(() => parseScenarios('sweep:\n  repeat: [1, 2]\n', 'r.yaml')),
    /r\.yaml:2: field "sweep\.repeat" is not a parameter path/,
  );
  assert.match(
    await errorOf(() => parseScenarios('sweep:\n  guest.vcpus: []\n', 'e.yaml')),
    /e\.yaml:2: field "sweep\.guest\.vcpus" must NOT have fewer than 1 items/,
  );
});

test('pof with a setting it refuses: refused naming the field, unless the setting is swept', () => {
  const fixed = parseScenarios(
    'migration: { multifd_channels: 4 }\nstrategies: [stock, pof]\nsweep:\n  migration.link_cap_mbit: [100, 200]\n',
    'f.yaml',
  );
  assert.throws(() => planSession(fixed), /field "migration\.multifd_channels" is not supported by the pof strategy/);
  assert.equal(planSession(fixed, { strategies: ['stock'] }).runs.length, 2);
  const swept = parseScenarios('strategies: [stock, pof]\nsweep:\n  migration.multifd_channels: [0, 4]\n', 'w.yaml');
  const plan = planSession(swept);
  assert.deepEqual(
    plan.runs.map((r) => `${r.strategy}:${r.scenario.config_id}`),
    ['stock:multifd_channels=0', 'pof:multifd_channels=0', 'stock:multifd_channels=4'],
  );
  assert.match(plan.notes.join('\n'), /pof skipped for w migration\.multifd_channels=4/);
  const xbzrle = parseScenarios('migration: { capabilities: { xbzrle: true } }\nstrategies: [pof]\n', 'x.yaml');
  assert.throws(
    () => planSession(xbzrle),
    /field "migration\.capabilities\.xbzrle" is not supported by the pof strategy/,
  );
  const postcopy = parseScenarios('migration: { postcopy_after_passes: 2 }\nstrategies: [pof]\n', 'p.yaml');
  assert.throws(
    () => planSession(postcopy),
    /field "migration\.postcopy_after_passes" is not supported by the pof strategy/,
  );
});

test('a file of several documents gives each its configurations; names default to file-N', () => {
  const configs = parseScenarios(
    'workload: { type: idle }\n---\nname: second\nsweep:\n  guest.vcpus: [1, 2]\n---\n{}\n',
    'multi.yaml',
  );
  assert.deepEqual(
    configs.map((c) => `${c.name}/${c.config_id}`),
    ['multi-1/', 'second/vcpus=1', 'second/vcpus=2', 'multi-3/'],
  );
  assert.throws(() => parseScenarios('name: a\n---\nname: a\n', 'd.yaml'), /d\.yaml:3: two documents are named "a"/);
});

// --- order, warm-up, resume ---

test('the shuffled order is deterministic by seed and a permutation of the whole matrix', () => {
  const configs = parseScenarios(SWEEP, 'grid.yaml');
  const all = planSession(configs);
  const a = planSession(configs, { seed: 42 });
  const b = planSession(configs, { seed: 42 });
  const c = planSession(configs, { seed: 43 });
  const order = (p: typeof a) => p.runs.map((r) => r.n);
  assert.deepEqual(order(a), order(b), 'same seed, same order');
  assert.notDeepEqual(order(a), order(c), 'another seed, another order');
  assert.notDeepEqual(order(a), order(all), 'shuffled');
  assert.deepEqual(
    [...order(a)].sort((x, y) => x - y),
    order(all),
    'a permutation of the full set',
  );
  assert.equal(a.estimate_s, all.estimate_s);
  assert.deepEqual(shuffle([], 1), []);
  assert.deepEqual(shuffle([1, 2, 3, 4, 5, 6, 7], 9).sort(), [1, 2, 3, 4, 5, 6, 7]);
});

test('--warmup-runs marks the first N runs of each configuration and strategy, in execution order', () => {
  const configs = parseScenarios(
    'strategies: [stock, pof]\nrepeat: 4\nsweep:\n  migration.link_cap_mbit: [100, 200, 300]\n',
    'w.yaml',
  );
  const plan = planSession(configs, { seed: 5, warmupRuns: 2 });
  const groups = new Map<string, boolean[]>();
  for (const r of plan.runs) {
    const g = `${r.scenario.config_id}/${r.strategy}`;
    groups.set(g, [...(groups.get(g) ?? []), r.warmup]);
  }
  assert.equal(groups.size, 6);
  for (const flags of groups.values()) assert.deepEqual(flags, [true, true, false, false]);
  assert.deepEqual(
    markWarmups(
      ['a', 'b', 'a', 'a'],
      (x) => x,
      1,
      (g) => (g === 'a' ? 1 : 0),
    ),
    [false, true, false, false],
    'finished runs count first',
  );
});

test(
  'resume: completed runs in the directory are skipped (matched on scenario, config, strategy, repeat); failed ' +
    'ones run again',
  async () => {
    const dir = tempDir();
    const configs = parseScenarios(
      'name: r\nstrategies: [stock, pof]\nrepeat: 2\nsweep:\n  migration.link_cap_mbit: [100, 200]\n',
      'r.yaml',
    );
    const write = (runId: string, rec: Record<string, unknown>) => {
      mkdirSync(join(dir, runId), { recursive: true });
      writeFileSync(join(dir, runId, 'run.json'), JSON.stringify({ run_id: runId, ...rec }));
    };
    write('20200101T000000-r-link_cap_mbit=100-stock-r0', {
      scenario: 'r',
      config_id: 'link_cap_mbit=100',
      strategy: 'stock',
      repeat: 0,
      status: 'completed',
    });
    // same run completed in another session (other timestamp): still one run
    write('20200202T000000-r-link_cap_mbit=100-stock-r0', {
      scenario: 'r',
      config_id: 'link_cap_mbit=100',
      strategy: 'stock',
      repeat: 0,
      status: 'completed',
    });
    write('20200101T000100-r-link_cap_mbit=200-pof-r1', {
      scenario: 'r',
      config_id: 'link_cap_mbit=200',
      strategy: 'pof',
      repeat: 1,
      status: 'completed',
    });
    write('20200101T000200-r-link_cap_mbit=100-pof-r0', {
      scenario: 'r',
      config_id: 'link_cap_mbit=100',
      strategy: 'pof',
      repeat: 0,
      status: 'failed',
      error: 'boom',
    });
    write('20200101T000300-r-link_cap_mbit=200-stock-r0', {
      scenario: 'r',
      config_id: 'link_cap_mbit=200',
      strategy: 'stock',
      repeat: 0,
      status: 'failed',
      error: 'runner did not finish this run (interrupted)',
    });
    write('20200101T000400-other-stock-r0', {
      scenario: 'other',
      config_id: '',
      strategy: 'stock',
      repeat: 0,
      status: 'completed',
    });
    write('20200101T000500-r-link_cap_mbit=300-stock-r0', {
      scenario: 'r',
      config_id: 'link_cap_mbit=300',
      strategy: 'stock',
      repeat: 0,
      status: 'completed',
    });
    mkdirSync(join(dir, 'not-a-run'));
    writeFileSync(join(dir, 'stray.txt'), 'x');
    const completed = await completedRuns(dir);
    assert.equal(completed.length, 5);
    const plan = planSession(configs, { seed: 1, completed, warmupRuns: 1 });
    assert.equal(plan.total, 8);
    assert.equal(plan.completed, 2);
    const left = plan.runs.map((r) =>
      runKey({ scenario: r.scenario.name, config_id: r.scenario.config_id, strategy: r.strategy, repeat: r.repeat }),
    );
    assert.equal(left.length, 6);
    assert.ok(!left.includes(runKey({ scenario: 'r', config_id: 'link_cap_mbit=100', strategy: 'stock', repeat: 0 })));
    assert.ok(!left.includes(runKey({ scenario: 'r', config_id: 'link_cap_mbit=200', strategy: 'pof', repeat: 1 })));
    assert.ok(
      left.includes(runKey({ scenario: 'r', config_id: 'link_cap_mbit=100', strategy: 'pof', repeat: 0 })),
      'failed: again',
    );
    assert.ok(
      left.includes(runKey({ scenario: 'r', config_id: 'link_cap_mbit=200', strategy: 'stock', repeat: 0 })),
      'interrupted: again',
    );
    // the groups with a completed run already had their warm-up
    const warm = plan.runs
      .filter((r) => r.warmup)
      .map((r) => `${r.scenario.config_id}/${r.strategy}`)
      .sort();
    assert.deepEqual(warm, ['link_cap_mbit=100/pof', 'link_cap_mbit=200/stock']);
    // records from before sweeps (no config_id) match an unswept scenario
    assert.equal(
      runKey({ scenario: 'x', strategy: 'stock', repeat: 0 }),
      runKey({ scenario: 'x', config_id: '', strategy: 'stock', repeat: 0 }),
    );
    await assert.rejects(completedRuns(join(dir, 'missing')), /no such results directory/);
  },
);

// --- run ids, estimates, the plan command ---

test('run ids carry the config id and stay unique and safe', () => {
  const at = new Date('2025-01-02T03:04:05.678Z');
  assert.equal(
    makeRunId({ scenario: 's', configId: '', strategy: 'stock', repeat: 0, at }),
    '20250102T030405-s-stock-r0',
  );
  assert.equal(
    makeRunId({ scenario: 's', configId: 'link_cap_mbit=500,xbzrle=true', strategy: 'pof', repeat: 2, at }),
    '20250102T030405-s-link_cap_mbit-500_xbzrle-true-pof-r2',
    'no "=" or "," (QEMU option syntax) in run ids',
  );
  const a = makeRunId({ scenario: 's', configId: 'method=a/b', strategy: 'stock', repeat: 0, at });
  const b = makeRunId({ scenario: 's', configId: 'method=a_b', strategy: 'stock', repeat: 0, at });
  assert.ok(!a.includes('/') && !/[=,]/.test(a));
  assert.notEqual(a, b);
  assert.ok(makeRunId({ scenario: 's', configId: 'x='.repeat(200), strategy: 'stock', repeat: 0, at }).length < 140);
});

test('estimates: non-zero memory over the link cap; the ETA scales by measured durations', () => {
  const [slow, fast] = parseScenarios(
    'workload: { type: anon, size_mib: 192 }\nsweep:\n  migration.link_cap_mbit: [100, 1000]\n',
    'e.yaml',
  );
  const es = estimateRun(slow);
  const ef = estimateRun(fast);
  assert.equal(es.nonzero_mib, 256);
  assert.ok(Math.abs(es.migration_s - (1 + (256 * 8 * 1.048576) / 100)) < 1e-9);
  assert.ok(es.total_s > ef.total_s && ef.total_s > 0);
  assert.equal(etaSeconds(100, 0, 0), 100);
  assert.equal(etaSeconds(100, 50, 100), 200);
});

test('pofbench plan prints the expanded matrix and its estimate as JSON, starting nothing', async () => {
  const r = await execa(
    process.execPath,
    [join('dist', 'src', 'cli', 'main.js'), 'plan', 'scenarios/nightly.yaml', '--json'],
    { cwd: projectRoot, reject: false },
  );
  assert.equal(r.exitCode, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as {
    count: number;
    total: number;
    estimate_s: number;
    notes: string[];
    runs: { config_id: string; strategy: string; warmup: boolean }[];
  };
  // pagecache: 3 caps × 2 limits × 2 (multifd) × 3 stock + 6 × 3 pof; anon: 2 × 2 × 2 × 3 stock + 4 × 3 pof
  assert.equal(plan.count, 36 + 18 + 24 + 12);
  assert.equal(plan.runs.length, plan.count);
  assert.ok(plan.estimate_s > 0);
  assert.equal(plan.notes.length, 2);
  assert.ok(plan.runs.every((x) => !(x.strategy === 'pof' && x.config_id.includes('multifd_channels=4'))));
  const table = await execa(
    process.execPath,
    [join('dist', 'src', 'cli', 'main.js'), 'plan', 'scenarios/nightly.yaml', 'scenarios/quick.yaml'],
    { cwd: projectRoot, reject: false },
  );
  assert.equal(table.exitCode, 0, table.stderr);
  assert.match(table.stdout, /scenario.*config.*strategy.*repeat.*guest MiB.*workload.*link cap/);
  assert.match(table.stdout, /link_cap_mbit=250,downtime_limit_ms=100/);
  // + quick.yaml: stock and pof, one repeat each
  assert.match(table.stdout, /92 runs.*\nestimated duration: \d+/);
});
