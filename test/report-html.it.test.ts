import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { writeSyntheticRuns } from './helpers/syntheticRuns.js';
import { buildHtmlReport } from '../src/reports/html/build.js';

/**
 * `pofbench report --html` end to end: the CLI writes the page for a synthetic stock-vs-pof
 * result set, headless Chromium (JavaScript off, network off) opens it, and every chart must be
 * an inline SVG with data marks and its axis titles. The screenshot goes to test-artifacts/.
 */

const exec = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repo, 'dist', 'src', 'cli', 'main.js');
const artifacts = join(repo, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';

const EXPECTED: Record<string, string[]> = {
  progress: ['seconds since migrate', 'MiB'],
  links: ['configuration / strategy', 'median MiB per migration'],
  downtime: ['configuration / strategy', 'downtime ms'],
  web: ['seconds since migrate', 'request latency ms (symlog)'],
  pareto: ['median total migration time (s)', 'median migration-link MiB'],
};

let tmp: string;
let browser: Browser | undefined;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'pofb-report-html-'));
  await writeSyntheticRuns(join(tmp, 'results'));
  await writeSyntheticRuns(join(tmp, 'no-web'), { repeats: 1, web: false, failedRun: false, linkCaps: [1000] });
  await mkdir(join(tmp, 'empty'));
});

after(async () => {
  await browser?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('the CLI writes a self-contained page; Chromium shows every chart as SVG with marks and axis titles', {
  timeout: 60_000,
}, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium (scripts/setup.sh installs it)`);
  const out = join(tmp, 'report.html');
  const r = await exec(process.execPath, [cli, 'report', join(tmp, 'results'), '--html', out]);
  assert.match(r.stderr, /5 charts: progress, links, downtime, web, pareto/);
  assert.doesNotMatch(r.stderr, /^ {2}warning/m, 'no chart (Vega) warning');
  // fewer than 5 completed runs per strategy: said on stderr and on the page
  assert.match(
    r.stderr,
    /^warning: pagecache \[link_cap_mbit=500\]: fewer than 5 completed runs .*\(shown on the page\)$/m,
  );
  const html = await readFile(out, 'utf8');
  assert.doesNotMatch(html, /<script|https?:\/\/|\bsrc=|<link /i, 'no script, URL, or external resource');

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({
    javaScriptEnabled: false,
    offline: true,
    viewport: { width: 1150, height: 900 },
  });
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (req) => requests.push(req.url()));
  await page.goto(pathToFileURL(out).href);

  assert.equal(await page.locator('h1').innerText(), 'pofbench report: pagecache');
  const runset = await page.locator('dl.runset').innerText();
  for (const s of [
    '14 (13 completed, 1 failed)',
    'warm-up runs\n1, left out',
    'stock, pof',
    'local',
    '7.2.15',
    '3f2c1ab',
  ])
    assert.ok(runset.includes(s), `header shows ${s}: ${runset}`);
  // one table per configuration: metrics down, strategies across, then the change against stock
  assert.deepEqual(await page.locator('#summary div.config h3').allInnerTexts(), [
    'pagecache [link_cap_mbit=500]',
    'pagecache [link_cap_mbit=1000]',
  ]);
  const first = page.locator('#summary div.config').first();
  assert.match(await first.locator('p.caption').innerText(), /^stock: 3 completed, 1 failed · pof: 3 completed$/);
  assert.deepEqual(await first.locator('thead th').allInnerTexts(), ['metric', 'stock', 'pof', 'pof vs stock']);
  const rows = await first.locator('tbody tr').allInnerTexts();
  for (const f of ['total_time_ms (ms)', 'wall_time_ms (ms)', 'app_downtime_ms (ms)', 'migration_link_bytes (MiB)'])
    assert.ok(
      rows.some((r) => r.startsWith(f)),
      `summary has ${f}: ${rows.map((r) => r.split('\t')[0]).join(', ')}`,
    );
  const total = rows.find((r) => r.startsWith('total_time_ms'))!;
  assert.match(total, /IQR [\d.]+ · 95 % \[\d+, \d+\] · n=3/, total);
  assert.match(total, /[-+]\d+\.\d %\n95 % \[[-+]?\d+\.\d, [-+]?\d+\.\d\]/, total);
  assert.match(
    await first.locator('ul.env').innerText(),
    /stock: QEMU 7\.2\.15 .*· revision 3f2c1ab · testbed local · accelerator tcg/,
  );
  assert.ok(await page.locator('#warnings').isVisible(), 'the warnings box is shown');
  assert.match(await page.locator('#warnings').innerText(), /fewer than 5 completed runs/);

  for (const [id, titles] of Object.entries(EXPECTED)) {
    const svg = page.locator(`section#${id} svg`);
    assert.equal(await svg.count(), 1, `${id}: one inline SVG`);
    const box = await svg.boundingBox();
    assert.ok(box && box.width > 300 && box.height > 150, `${id}: the SVG is laid out (${JSON.stringify(box)})`);
    const marks = await svg.locator('g.role-mark path, g.role-mark rect, g.role-mark line').count();
    assert.ok(marks > 0, `${id}: data marks drawn (${marks})`);
    const axisTitles = await svg.locator('g.role-axis-title text').allTextContents();
    for (const t of titles)
      assert.ok(axisTitles.includes(t), `${id}: axis title "${t}" in ${JSON.stringify(axisTitles)}`);
  }
  // line charts: one path per run and panel (13 runs that are not warm-ups), not one path for everything
  assert.equal(await page.locator('section#progress g.mark-line.role-mark path').count(), 2 * 13);
  assert.ok(
    (await page.locator('section#pareto g.mark-symbol.role-mark path').count()) === 4,
    'four Pareto points (2 strategies x 2 link caps)',
  );
  assert.equal(await page.locator('table.pareto tr.front').count(), 2);
  assert.match(await page.locator('#failures').innerText(), /did not complete within/);
  assert.deepEqual(requests, [pathToFileURL(out).href], 'the page loads nothing but itself');

  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: true });
  assert.ok(existsSync(join(artifacts, 'report.png')));
});

test('without web.jsonl the latency chart is omitted with a note; the others are drawn', async () => {
  const report = await buildHtmlReport([join(tmp, 'no-web')]);
  assert.deepEqual(report.charts, ['progress', 'links', 'downtime', 'pareto']);
  assert.deepEqual(report.warnings, []);
  const web = /<section id="web" class="chart">[\s\S]*?<\/section>/.exec(report.html)?.[0] ?? '';
  assert.match(web, /No web latency series in these runs.*chart omitted/);
  assert.ok(!web.includes('<svg'), 'no SVG in the web section');
});

test('the CLI reports a directory without runs in one line, exit code 2', async () => {
  const err = await exec(process.execPath, [cli, 'report', join(tmp, 'empty'), '--html', join(tmp, 'x.html')]).then(
    () => assert.fail('expected a failure'),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(err.code, 2);
  assert.equal(err.stderr.trim().split('\n').length, 1, err.stderr);
  assert.match(err.stderr, /^pofbench: no run\.json under .*empty — pass a results directory/);
  assert.ok(!existsSync(join(tmp, 'x.html')));
});
