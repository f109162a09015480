import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Command } from 'commander';
import { registerCompareCommand } from '../src/cli/compare.js';
import { registerParetoCommand } from '../src/cli/pareto.js';
import { registerRecommendCommand } from '../src/cli/recommend.js';
import { UserError } from '../src/util/errors.js';
import { rec, tempDir, writeRecords } from './helpers/analysisRecords.js';

const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));
writeRecords(dir, [
  ...[100, 110, 90].map((t) =>
    rec(
      { strategy: 'stock' },
      {
        total_time_ms: t,
        downtime_ms: 300,
        app_downtime_ms: 300,
        migration_link_bytes: 1000,
        src_qemu_cpu_s: 1,
        dst_qemu_cpu_s: 1,
      },
    ),
  ),
  ...[50, 55, 45].map((t) =>
    rec(
      { strategy: 'pof' },
      {
        total_time_ms: t,
        downtime_ms: 200,
        app_downtime_ms: 200,
        migration_link_bytes: 100,
        src_qemu_cpu_s: 1,
        dst_qemu_cpu_s: 1,
        agent_cpu_s: 1,
      },
    ),
  ),
  ...[40, 40, 40].map((t) =>
    rec(
      { strategy: 'pof', config_id: 'dl=900' },
      { total_time_ms: t, downtime_ms: 900, app_downtime_ms: 900, migration_link_bytes: 100 },
    ),
  ),
]);

/** Runs `pofbench ARGS` through the command modules, returning stdout. */
async function run(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerCompareCommand(program);
  registerParetoCommand(program);
  registerRecommendCommand(program);
  let out = '';
  const write = process.stdout.write;
  // the commands write strings; the test runner's own (binary) protocol on stdout passes through
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk === 'string') {
      out += chunk;
      return true;
    }
    return (write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'pofbench', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

const userError = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(`${e.message} — ${e.hint ?? ''}`);

test('compare --format json', async () => {
  const j = JSON.parse(await run('compare', dir, '--format', 'json', '--fields', 'total_time_ms,cpu_s')) as {
    rows: { strategy: string; config_id?: string; median: Record<string, number> }[];
    changes: { field: string; change: number; within_noise: boolean; config_id?: string }[];
  };
  assert.deepEqual(
    j.rows.map((r) => [r.config_id ?? '', r.strategy, r.median.total_time_ms, r.median.cpu_s]),
    [
      ['', 'stock', 100, 2],
      ['', 'pof', 50, 3],
      ['dl=900', 'pof', 40, undefined],
    ],
  );
  assert.deepEqual(
    j.changes.map((c) => [c.field, c.change, c.within_noise]),
    [
      ['total_time_ms', -0.5, false],
      ['cpu_s', 0.5, false],
    ],
  );
});

test('compare: unknown --fields, --format and --baseline are one-line UserErrors', async () => {
  await assert.rejects(
    run('compare', dir, '--fields', 'total_time_ms,bogus'),
    userError(/^unknown field "bogus" in --fields — valid fields: total_time_ms, /),
  );
  await assert.rejects(
    run('compare', dir, '--format', 'xml'),
    userError(/^unknown --format "xml" — use one of: table, markdown, csv, json$/),
  );
  await assert.rejects(
    run('compare', dir, '--baseline', 'qemu9'),
    userError(/no runs with --baseline strategy "qemu9" — strategies present: pof, stock/),
  );
});

test('compare --format markdown marks the baseline and the change', async () => {
  const md = await run('compare', dir, '--format', 'markdown', '--fields', 'total_time_ms');
  assert.match(md, /\| total_time_ms \(ms\) \| 100 \(IQR 10\.0, n=3\) \| 50\.0 \(IQR 5\.0, n=3\) \| -50\.0 % \[/);
});

test('pareto --format json and unknown objectives', async () => {
  const j = JSON.parse(await run('pareto', dir, '--format', 'json')) as {
    objectives: string[];
    workloads: {
      workload: string;
      front: { strategy: string; config_id?: string }[];
      dominated: { item: { strategy: string }; by: { strategy: string }[] }[];
    }[];
  };
  // the app (probe) downtime by default: what users feel
  assert.deepEqual(j.objectives, ['total_time_ms', 'app_downtime_ms', 'migration_link_bytes']);
  assert.equal(j.workloads.length, 1);
  assert.deepEqual(
    j.workloads[0].front.map((p) => `${p.config_id ?? ''}/${p.strategy}`),
    ['/pof', 'dl=900/pof'],
  );
  assert.deepEqual(
    j.workloads[0].dominated.map((d) => [d.item.strategy, d.by.map((b) => b.strategy)]),
    [['stock', ['pof']]],
  );
  const table = await run('pareto', dir, '--objectives', 'total_time_ms,cpu_s');
  assert.match(table, /workload pagecache — 2 non-dominated of 2 configurations/);
  assert.match(table, /skipped quick \[dl=900\] \/ pof: no values for cpu_s/);
  await assert.rejects(
    run('pareto', dir, '--objectives', 'total_time'),
    userError(/^unknown field "total_time" in --objectives/),
  );
});

test('recommend picks within the limit and names the constraint when nothing qualifies', async () => {
  const out = await run('recommend', dir, '--workload', 'pagecache', '--max-downtime-ms', '250');
  assert.match(
    out,
    /^quick \/ pof for workload pagecache: median total_time_ms 50\.0 ms, app_downtime_ms 200 ms over 3 runs\.\n/,
  );
  assert.match(
    await run('recommend', dir, '--workload', 'pagecache', '--max-downtime-ms', '1000'),
    /^quick \[dl=900\] \/ pof /,
  );
  await assert.rejects(
    run('recommend', dir, '--workload', 'pagecache', '--max-downtime-ms', '150'),
    userError(/^no configuration of workload "pagecache" meets app_downtime_ms ≤ 150 ms/),
  );
  await assert.rejects(
    run('recommend', dir, '--workload', 'pagecache', '--max-downtime-ms', 'soon'),
    userError(/--max-downtime-ms must be a number/),
  );
  await assert.rejects(
    run('recommend', dir, '--workload', 'pagecache', '--max-downtime-ms', '100', '--prefer', 'speed'),
    userError(/^unknown field "speed" in --prefer/),
  );
});

test(
  'release gate: compare --baseline SESSION --fail-above PCT exits 3 on a regression beyond PCT, ' + '0 without',
  async () => {
    const base = tempDir();
    const same = tempDir();
    const slower = tempDir();
    try {
      const runs = (dir: string, times: number[]) =>
        writeRecords(dir, [
          ...times.map((t) => rec({ strategy: 'stock' }, { total_time_ms: t, migration_link_bytes: 1000 })),
          ...times.map((t) => rec({ strategy: 'pof' }, { total_time_ms: t / 2, migration_link_bytes: 200 })),
        ]);
      runs(base, [1000, 1010, 990, 1005, 995]);
      runs(same, [1002, 1008, 992, 1001, 997]);
      runs(slower, [1300, 1310, 1290, 1305, 1295]);
      const judge = async (dir: string) => {
        process.exitCode = 0;
        const out = await run(
          'compare',
          dir,
          '--baseline',
          base,
          '--fail-above',
          '10',
          '--fields',
          'total_time_ms,migration_link_bytes',
        );
        const code = process.exitCode;
        process.exitCode = 0;
        return { out, code };
      };
      const ok = await judge(same);
      assert.equal(ok.code, 0, ok.out);
      assert.match(ok.out, /gate: no metric regressed by more than 10 %/);
      const bad = await judge(slower);
      assert.equal(bad.code, 3, bad.out);
      assert.match(bad.out, /REGRESSED quick \/ stock total_time_ms: 1000 -> 1300 \(\+30\.0 %/);
      assert.match(bad.out, /REGRESSED quick \/ pof total_time_ms: 500 -> 650 \(\+30\.0 %/);
      assert.match(bad.out, /ok {8}quick \/ stock migration_link_bytes: 1000 -> 1000 \(\+0\.0 %/);
      assert.match(bad.out, /gate: 2 metric\(s\) regressed by more than 10 %/);
      await assert.rejects(
        run('compare', slower, '--fail-above', '10'),
        userError(/--fail-above needs --baseline SESSION/),
      );
    } finally {
      for (const d of [base, same, slower]) rmSync(d, { recursive: true, force: true });
    }
  },
);
