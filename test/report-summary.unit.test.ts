import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunRecord } from '../src/results/record.js';
import { groupRecords } from '../src/analysis/group.js';
import { reportSummary } from '../src/reports/html/groupSummary.js';
import { summaryHtml, warningsHtml } from '../src/reports/html/summaryHtml.js';
import { buildHtmlReportFromRuns } from '../src/reports/html/build.js';
import type { RunData } from '../src/reports/html/runSet.js';
import {
  downtimeSpec,
  linkBytesSpec,
  paretoSpec,
  progressSpec,
  webLatencySpec,
  type ChartContext,
} from '../src/reports/html/specs.js';
import { downtimePoints, linkBars, paretoPoints, progressPoints, webPoints } from '../src/reports/html/chartData.js';

/** The report's summary (what compare computes, per group environment, warnings) and its axes. */

const MiB = 1024 * 1024;
let n = 0;
function rec(strategy: string, total: number, over: Partial<RunRecord> = {}): RunRecord {
  return {
    run_id: `r${n++}-${strategy}`,
    scenario: 'quick',
    strategy,
    repeat: n,
    status: 'completed',
    started_at: '2026-12-01T07:00:00.000Z',
    testbed: 'local',
    src_host: 'pofb-src',
    dst_host: 'pofb-dst',
    qemu_version: '10.0.2',
    pofbench_rev: 'a18fc79',
    params: { memory_mib: 256, accel: 'tcg', workload: { type: 'pagecache', dataset_mib: 128 } },
    total_time_ms: total,
    wall_time_ms: total + 300,
    downtime_ms: 250,
    app_downtime_ms: 400,
    migration_link_bytes: strategy === 'stock' ? 244 * MiB : 118 * MiB,
    storage_link_bytes: strategy === 'stock' ? 0 : 128 * MiB,
    source_agent_cpu_s: strategy === 'stock' ? undefined : 1.1,
    target_agent_cpu_s: strategy === 'stock' ? undefined : 1.0,
    ...over,
  } as RunRecord;
}

const five = (strategy: string, base: number, over: Partial<RunRecord> = {}) =>
  [0, 1, 2, 3, 4].map((i) => rec(strategy, base + 10 * i, over));

test('five runs a side: median, IQR, interval, the change against stock, app downtime, wall time, agent CPU', () => {
  const s = reportSummary(groupRecords([...five('stock', 2100), ...five('pof', 1500)], 'stock', { warn: () => {} }));
  assert.deepEqual(s.warnings, [], 'same environment, enough runs: nothing to warn about');
  const [c] = s.configs;
  const [stock, pof] = c.rows;
  assert.equal(stock.median.total_time_ms, 2120);
  assert.equal(stock.iqr.total_time_ms, 20);
  assert.equal(pof.median.wall_time_ms, 1820);
  assert.equal(pof.median.source_agent_cpu_s, 1.1);
  assert.equal(stock.n.source_agent_cpu_s, 0);
  const ch = c.changes.find((x) => x.field === 'total_time_ms')!;
  assert.ok(Math.abs(ch.change! - (1520 / 2120 - 1)) < 1e-9);
  assert.equal(ch.within_noise, false, 'every pof run is faster: the interval excludes 0');
  assert.deepEqual(c.environments[1], {
    strategy: 'pof',
    qemu: ['10.0.2'],
    revision: ['a18fc79'],
    testbed: ['local'],
    accel: ['tcg'],
    hosts: ['pofb-src → pofb-dst'],
  });
  const html = summaryHtml(s);
  for (const label of ['wall_time_ms (ms)', 'app_downtime_ms (ms)', 'source_agent_cpu_s (s)', 'pof vs stock'])
    assert.ok(html.includes(label), label);
  assert.match(html, /<b>-28\.3 %<\/b><br><small>95 % \[/);
  assert.match(html, /IQR 20.0 · 95 % \[2100, 2140\] · n=5/);
  assert.match(html, /accelerator tcg/);
  assert.equal(warningsHtml(s.warnings), '', 'no warnings box without warnings');
});

test('strategies from different testbeds or a group pooling QEMU versions are warned about', () => {
  const lab = five('pof', 1500, { testbed: 'inventory', pair: 'p1' });
  const s = reportSummary(groupRecords([...five('stock', 2100), ...lab], 'stock', { warn: () => {} }));
  assert.ok(
    s.warnings.some((w) =>
      /^quick: the strategies ran with different testbeds \(stock: local; pof: inventory\)/.test(w),
    ),
    s.warnings.join('\n'),
  );
  assert.ok(s.warnings.some((w) => /different host pairs/.test(w)));

  const grouped: string[] = [];
  const mixed = [...five('stock', 2100), ...five('stock', 2000, { qemu_version: '7.2.15' }), ...five('pof', 1500)];
  const pooled = reportSummary(groupRecords(mixed, 'stock', { pool: true, warn: (m) => grouped.push(m) }), grouped);
  assert.match(pooled.warnings[0], /^--pool: merging 15 runs of scenario quick that differ in qemu_version/);
  assert.ok(
    pooled.warnings.some((w) => /quick \/ stock pools runs of several QEMU versions: 10\.0\.2, 7\.2\.15/.test(w)),
  );
  assert.match(
    warningsHtml(pooled.warnings),
    /<section id="warnings" class="warnings"><h2>Warnings<\/h2><ul><li>--pool/,
  );

  const apart: string[] = [];
  const kept = reportSummary(groupRecords(mixed, 'stock', { warn: (m) => apart.push(m) }), apart);
  assert.match(kept.warnings[0], /differ in qemu_version \(10\.0\.2 vs 7\.2\.15\): kept apart as 2 configurations/);
  assert.equal(kept.configs.length, 2);
});

/** Every quantitative x/y encoding in a spec (walked through layers, facets and nested specs). */
function quantitativeScales(spec: unknown, out: { where: string; scale?: Record<string, unknown> }[] = [], path = '') {
  if (Array.isArray(spec)) {
    for (const [i, s] of spec.entries()) quantitativeScales(s, out, `${path}[${i}]`);
  } else if (spec && typeof spec === 'object') {
    const o = spec as Record<string, unknown>;
    const enc = o.encoding as Record<string, { type?: string; scale?: Record<string, unknown> }> | undefined;
    for (const ch of ['x', 'y'])
      if (enc?.[ch]?.type === 'quantitative') out.push({ where: `${path}.${ch}`, scale: enc[ch].scale });
    for (const [k, v] of Object.entries(o))
      if (k !== 'data' && k !== 'encoding') quantitativeScales(v, out, `${path}.${k}`);
  }
  return out;
}

test('every chart axis starts at zero (the Pareto chart included)', async () => {
  const runs: RunData[] = [...five('stock', 2100), ...five('pof', 1500)].map((r, i) => ({
    dir: `/x/${i}`,
    record: r,
    qmp: [
      { t: 1000, status: 'active', ram: { transferred: 0, remaining: MiB, mbps: 1, 'dirty-sync-count': 1 } },
      { t: 2000, status: 'completed', ram: { transferred: MiB, remaining: 0, mbps: 1, 'dirty-sync-count': 2 } },
    ],
    web: [{ t: 900, p50_ms: 1, p99_ms: 2, max_ms: 3, rps: 10, ok: 10, errors: 0, timeouts: 0, gap_ms: 0 }],
  }));
  const ctx: ChartContext = { strategies: ['stock', 'pof'], scenarios: ['quick'] };
  const specs = {
    progress: progressSpec(progressPoints(runs), ctx),
    links: linkBytesSpec(linkBars(runs), ctx),
    downtime: downtimeSpec(downtimePoints(runs), ctx),
    web: webLatencySpec(webPoints(runs), ctx),
    pareto: paretoSpec(paretoPoints(runs), ctx),
  };
  for (const [id, spec] of Object.entries(specs)) {
    const scales = quantitativeScales(spec);
    assert.ok(scales.length > 0, `${id}: has quantitative axes`);
    for (const s of scales) {
      assert.notEqual(s.scale?.zero, false, `${id} ${s.where}: zero: false`);
      const domain = s.scale?.domain as number[] | undefined;
      if (domain) assert.equal(domain[0], 0, `${id} ${s.where}: domain starts at ${domain[0]}`);
      else assert.equal(s.scale?.zero, true, `${id} ${s.where}: zero not asked for`);
    }
  }
  const report = await buildHtmlReportFromRuns(runs, { dirs: ['/x'] });
  assert.deepEqual(report.warnings, []);
  // the Pareto x axis shows 0 (it started at the smallest median before)
  const pareto = /<section id="pareto"[\s\S]*?<\/section>/.exec(report.html)?.[0] ?? '';
  assert.match(pareto, /<text[^>]*>0(\.0)?<\/text>/);
});
