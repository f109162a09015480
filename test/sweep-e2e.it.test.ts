import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { localUp, localDown } from '../src/testbed/local/localTestbed.js';
import { buildImage, type GuestImage } from '../src/image/build.js';
import { loadScenarios } from '../src/scenario/load.js';
import { runSession } from '../src/runner/session.js';
import { readRecords } from '../src/results/runReader.js';
import type { TestbedSpec } from '../src/testbed/spec.js';
import type { RunRecord } from '../src/results/record.js';
import { pofbenchCommand } from '../src/util/paths.js';
import { pofbenchProcesses, pofbenchNamespaces } from './helpers/leftovers.js';

let testbed: TestbedSpec;
let image: GuestImage;
const dir = mkdtempSync(join(tmpdir(), 'pofbench-sweep-'));
const out = join(dir, 'results');
const [node, main] = pofbenchCommand();
const cli = async (...args: string[]) => (await execa(node, [main, ...args])).stdout;

before(
  async () => {
    image = await buildImage({});
    testbed = await localUp();
  },
  { timeout: 600_000 },
);

after(
  async () => {
    await localDown();
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(pofbenchNamespaces(), [], 'no namespace left');
    assert.deepEqual(pofbenchProcesses(), [], 'no process left');
  },
  { timeout: 120_000 },
);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const key = (r: { config_id?: string; strategy: string }) => `${r.config_id ?? ''}/${r.strategy}`;

test('a 2 × 2 × 2 sweep runs end to end; compare, markdown and Pareto agree with values computed by hand from its ' +
  'run.json records', {
  timeout: 1_200_000,
}, async () => {
  const file = join(dir, 'sweep.yaml');
  writeFileSync(
    file,
    'name: it-sweep\nstrategies: [stock, pof]\nrepeat: 2\nguest: { memory_mib: 192 }\n' +
      'workload: { type: pagecache, dataset_mib: 48, warmup_s: 0 }\nmigration: { timeout_s: 120 }\nsweep:\n  ' +
      'migration.link_cap_mbit: [300, 2000]\n',
  );
  const scenarios = await loadScenarios(file);
  assert.equal(scenarios.length, 2);
  const records = await runSession({ scenarios, testbed, image, outDir: out, seed: 5, quiet: true });
  assert.equal(records.length, 8);
  for (const r of records)
    if (r.status !== 'completed')
      console.log(`run failed (statistics use completed runs only): ${r.run_id}: ${r.error}`);
  // a destination QEMU occasionally exits after the stream on this machine (see README); the analysis
  // under test must then work from the completed runs — at least one per configuration and strategy
  assert.ok(records.filter((r) => r.status === 'completed').length >= 6, 'at most 2 of 8 runs failed');

  const saved: RunRecord[] = (await readRecords(out)).filter((r) => r.status === 'completed');
  const groups = new Map<string, RunRecord[]>();
  for (const r of saved) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  assert.equal(groups.size, 4);

  // compare --format json: medians and relative changes equal the hand-computed ones
  const cmp = JSON.parse(
    await cli('compare', out, '--format', 'json', '--fields', 'total_time_ms,migration_link_bytes,downtime_ms'),
  );
  assert.equal(cmp.rows.length, 4);
  for (const row of cmp.rows) {
    const g = groups.get(key(row))!;
    assert.equal(row.runs, g.length);
    for (const f of ['total_time_ms', 'migration_link_bytes', 'downtime_ms'] as const) {
      assert.equal(row.median[f], median(g.map((r) => r[f] as number)), `${key(row)} median ${f}`);
    }
  }
  for (const ch of cmp.changes.filter((c: { field: string }) => c.field === 'migration_link_bytes')) {
    const stock = median(groups.get(`${ch.config_id ?? ''}/stock`)!.map((r) => r.migration_link_bytes!));
    const pof = median(groups.get(`${ch.config_id ?? ''}/pof`)!.map((r) => r.migration_link_bytes!));
    assert.ok(Math.abs(ch.change - (pof / stock - 1)) < 1e-9, `change ${ch.change} vs ${pof / stock - 1}`);
    assert.ok(ch.change < -0.2, `pof sends fewer link bytes (${(100 * ch.change).toFixed(1)} %)`);
  }

  // compare --format markdown: one section per configuration, stock and pof medians side by side, from run.json
  const md = await cli('compare', out, '--format', 'markdown', '--fields', 'migration_link_bytes');
  for (const config of new Set(saved.map((r) => r.config_id ?? ''))) {
    const section = md.split('### ').find((sec) => sec.includes(`\`${config}\``));
    assert.ok(section, `markdown has a section for ${config}:\n${md}`);
    const line = section!.split('\n').find((l) => l.startsWith('| migration_link_bytes'));
    assert.ok(line, `section ${config} has the link bytes row`);
    const cells = line!.split('|').map((c) => c.trim());
    for (const [i, strategy] of [
      [2, 'stock'],
      [3, 'pof'],
    ] as const) {
      const mib = (median(groups.get(`${config}/${strategy}`)!.map((r) => r.migration_link_bytes!)) / 1048576).toFixed(
        1,
      );
      assert.ok(
        cells[i].startsWith(mib),
        `${config} ${strategy}: markdown shows ${cells[i]}, run.json median is ${mib} MiB`,
      );
    }
  }

  // pareto: the front equals the brute-force non-dominated set of the groups' medians
  const objectives = ['total_time_ms', 'migration_link_bytes'] as const;
  const par = JSON.parse(await cli('pareto', out, '--objectives', objectives.join(','), '--format', 'json'));
  const pts = [...groups].map(([k, g]) => ({ k, v: objectives.map((o) => median(g.map((r) => r[o] as number))) }));
  const dominated = (a: number[], b: number[]) => b.every((x, i) => x <= a[i]) && b.some((x, i) => x < a[i]);
  const expected = pts
    .filter((p) => !pts.some((q) => dominated(p.v, q.v)))
    .map((p) => p.k)
    .sort();
  const front = par.workloads[0].front.map(key).sort();
  assert.deepEqual(front, expected);
  console.log(
    `front: ${front.join(', ')}; ${pts.map((p) => `${p.k}: ${p.v.map((x) => Math.round(x)).join(' / ')}`).join('; ')}`,
  );

  // the HTML report of these real runs renders (the Chromium check is in report-html.it.test.ts)
  await cli('report', out, '--html', join(dir, 'report.html'), '--quiet');
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<svg/);
});
