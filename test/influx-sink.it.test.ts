import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunRecord } from '../src/results/record.js';
import { InfluxSink } from '../src/sinks/influx.js';
import { paramsHash } from '../src/results/params.js';
import type { HostRow, QmpRow } from '../src/results/series.js';
import { PUSHED_FILE, SPOOL_FILE, readSpool } from '../src/sinks/influxSpool.js';
import type { WriteTuning } from '../src/sinks/influxWriter.js';
import { projectRoot } from '../src/util/paths.js';
import { waitFor } from '../src/util/exec.js';

/**
 * The InfluxDB sink against a real server speaking the InfluxDB write protocol: Debian's
 * victoria-metrics on 127.0.0.1 (field `f` of measurement `m` becomes series `m_f`; string fields
 * are not stored). Deduplication is left off on purpose, so a point written twice shows up as two
 * samples.
 */

const FAST: WriteTuning = { batchSize: 500, maxRetries: 1, minRetryDelayMs: 50, maxRetryDelayMs: 100, timeoutMs: 2000 };
const bin = join(projectRoot, 'bin', 'pofbench');

let vm: ChildProcess | undefined;
let vmLog = '';
let base = '';
const tmp = mkdtempSync(join(tmpdir(), 'pofbench-influx-it-'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  vm = spawn(
    'victoria-metrics',
    [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${join(tmp, 'vm-data')}`,
      '-search.latencyOffset=0s',
      '-retentionPeriod=100y',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let spawnError: Error | undefined;
  vm.once('error', (err) => {
    spawnError = err;
  });
  vm.stdout!.on('data', (d: Buffer) => {
    vmLog = (vmLog + d.toString()).slice(-4000);
  });
  vm.stderr!.on('data', (d: Buffer) => {
    vmLog = (vmLog + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 15000;
  for (;;) {
    if (spawnError)
      throw new Error(
        `victoria-metrics: ${spawnError.message} — apt-get install -y victoria-metrics (or bash scripts/setup.sh)`,
      );
    if (vm.exitCode !== null) throw new Error(`victoria-metrics exited (${vm.exitCode}): ${vmLog}`);
    const ok = await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`victoria-metrics did not answer on ${base}: ${vmLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  if (vm?.pid && vm.exitCode === null) {
    const exited = new Promise((r) => vm!.once('exit', r));
    process.kill(vm.pid, 'SIGTERM');
    const t = setTimeout(() => {
      try {
        process.kill(vm!.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5000);
    await exited;
    clearTimeout(t);
  }
  rmSync(tmp, { recursive: true, force: true });
});

/** A realistic finished run (shape of src/runner/migrationRun.ts) with its series files. */
function fakeRun(
  outDir: string,
  scenario: string,
  t0: number,
): { record: RunRecord; dir: string; qmp: QmpRow[]; src: HostRow[]; dst: HostRow[] } {
  const runId = `${new Date(t0)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')}-${scenario}-stock-r0`;
  const record: RunRecord = {
    run_id: runId,
    scenario,
    strategy: 'stock',
    repeat: 0,
    status: 'completed',
    started_at: new Date(t0).toISOString(),
    testbed: 'local',
    src_host: 'pofb-src',
    dst_host: 'pofb-dst',
    qemu_version: '7.2.22',
    pofbench_rev: '0123456789ab',
    params: {
      memory_mib: 512,
      vcpus: 1,
      accel: 'tcg',
      link_cap_mbit: 1000,
      max_bandwidth_mbit: 100000,
      downtime_limit_ms: 300,
      workload: { type: 'pagecache', dataset_mib: 300 },
      image_id: 'img-1',
    },
    total_time_ms: 5210,
    wall_time_ms: 5390,
    setup_time_ms: 14,
    downtime_ms: 41,
    expected_downtime_ms: 300,
    app_downtime_ms: 120,
    passes: 4,
    migration_link_bytes: 612345678,
    migration_link_tx_bytes: 600000000,
    migration_link_rx_bytes: 12345678,
    storage_link_bytes: 1048576,
    warmup_storage_link_bytes: 314572800,
    qmp_transferred_bytes: 598765432,
    qmp_normal_pages: 145000,
    qmp_normal_bytes: 593920000,
    qmp_duplicate_pages: 20000,
    qmp_total_bytes: 537595904,
    src_qemu_cpu_s: 6.43,
    dst_qemu_cpu_s: 2.1,
    boot_ms: 2500,
    workload_ready_ms: 9000,
    guest_on_dst: true,
    probe_rate_hz: 100,
    qmp_sample_hz: 19.8,
  };
  const dir = join(outDir, runId);
  mkdirSync(join(dir, 'series'), { recursive: true });
  writeFileSync(join(dir, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
  const mt = t0 + 20000; // migration starts 20 s into the run
  const qmp: QmpRow[] = [{ t: mt, status: 'setup' }];
  for (let i = 1; i <= 20; i++) {
    qmp.push({
      t: mt + i * 50,
      status: i === 20 ? 'completed' : 'active',
      ram: {
        transferred: i * 30e6,
        remaining: Math.max(0, 537595904 - i * 28e6),
        mbps: 950.5 + i,
        'dirty-sync-count': 1 + Math.floor(i / 6),
        'dirty-pages-rate': i * 10,
      },
    });
  }
  const host = (off: number): HostRow[] =>
    Array.from({ length: 10 }, (_, i) => ({
      t: mt + off + i * 100,
      nic: { mig0: [1000 + i * 7, 5000 + i * 3e7], sto0: [20 + i, 30 + i] },
    }));
  const src = host(3);
  const dst = host(7);
  const jsonl = (rows: unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  writeFileSync(join(dir, 'series', 'qmp.jsonl'), jsonl(qmp));
  writeFileSync(join(dir, 'series', 'host-src.jsonl'), jsonl(src.map((r) => ({ ...r, cpu: { 4242: 1.5 } }))));
  writeFileSync(join(dir, 'series', 'host-dst.jsonl'), jsonl(dst));
  return { record, dir, qmp, src, dst };
}

interface Exported {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

async function exportSeries(match: string): Promise<Exported[]> {
  const f = await fetch(`${base}/internal/force_flush`);
  assert.ok(f.ok, `force_flush: HTTP ${f.status}`);
  const r = await fetch(`${base}/api/v1/export?${new URLSearchParams({ 'match[]': match, start: '0' })}`);
  assert.ok(r.ok, `export: HTTP ${r.status} ${await r.clone().text()}`);
  return (await r.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Exported);
}

/** victoria-metrics can show freshly written samples a moment after force_flush: the export once `enough` holds (15 s at most) */
const exportWhen = (match: string, enough: (series: Exported[]) => boolean): Promise<Exported[]> =>
  waitFor(
    `${match} in victoria-metrics`,
    15_000,
    async () => {
      const series = await exportSeries(match);
      if (!enough(series)) throw new Error(`${series.length} series, ${samples(series)} samples so far`);
      return series;
    },
    250,
  );

const samples = (series: Exported[]) => series.reduce((n, s) => n + s.values.length, 0);

/** the record's fields the sink stores as numbers */
const numericFields = (record: RunRecord) =>
  Object.entries(record).filter(
    ([k, v]) => k !== 'repeat' && k !== 'warmup' && (typeof v === 'number' || typeof v === 'boolean'),
  );

const cfg = (url: string) => ({ url, org: 'pofbench', bucket: 'pofbench', token: 'unused' });

test('a run arrives: every numeric field with its value, tags and started_at; progress and link series', async () => {
  const t0 = Date.now() - 3600_000;
  const { record, dir, qmp, src, dst } = fakeRun(join(tmp, 'results-a'), 'it-sent', t0);
  const logs: string[] = [];
  const sink = new InfluxSink(cfg(base), (l) => logs.push(l), FAST);
  assert.equal(await sink.writeRun(record, dir), 'sent', logs.join('\n'));
  assert.equal(existsSync(join(dir, SPOOL_FILE)), false);

  const numeric = numericFields(record);
  const isRunSeries = (s: Exported) => !s.metric.__name__.startsWith('migration_progress_');
  const runSeries = (
    await exportWhen(
      '{__name__=~"migration_.+",scenario="it-sent"}',
      (all) => all.filter(isRunSeries).length >= numeric.length,
    )
  ).filter(isRunSeries);
  const byName = new Map(runSeries.map((s) => [s.metric.__name__, s]));
  assert.ok(numeric.length >= 20);
  for (const [k, v] of numeric) {
    const s = byName.get(`migration_${k}`);
    assert.ok(s, `migration_${k} missing; got ${[...byName.keys()].join(', ')}`);
    assert.deepEqual(s.values, [v === true ? 1 : v], k);
    assert.deepEqual(s.timestamps, [t0], k);
    assert.deepEqual(
      { ...s.metric, __name__: undefined, db: undefined },
      {
        __name__: undefined,
        db: undefined,
        scenario: 'it-sent',
        strategy: 'stock',
        testbed: 'local',
        src_host: 'pofb-src',
        dst_host: 'pofb-dst',
        status: 'completed',
        repeat: '0',
        warmup: 'false',
        pofbench_rev: '0123456789ab',
        params_hash: paramsHash(record.params),
      },
      k,
    );
  }
  // string fields (run_id, qemu_version) are not numbers; some victoria-metrics versions store them as 0
  const stringFields = new Set(['migration_run_id', 'migration_qemu_version']);
  assert.equal(
    [...byName.keys()].filter((n) => !stringFields.has(n)).length,
    numeric.length,
    `unexpected series: ${[...byName.keys()].join(', ')}`,
  );

  const withRam = qmp.filter((r) => r.ram);
  const field = {
    transferred_bytes: 'transferred',
    remaining_bytes: 'remaining',
    mbps: 'mbps',
    dirty_sync_count: 'dirty-sync-count',
    dirty_pages_rate: 'dirty-pages-rate',
  } as const;
  for (const [f, key] of Object.entries(field)) {
    const [s, ...rest] = await exportSeries(`migration_progress_${f}{run_id="${record.run_id}"}`);
    assert.equal(rest.length, 0);
    assert.ok(s, `migration_progress_${f} missing`);
    assert.deepEqual(s.metric, {
      __name__: `migration_progress_${f}`,
      ...(s.metric.db ? { db: s.metric.db } : {}),
      run_id: record.run_id,
      scenario: 'it-sent',
      strategy: 'stock',
    });
    assert.deepEqual(
      s.timestamps,
      withRam.map((r) => r.t),
      f,
    );
    assert.deepEqual(
      s.values,
      withRam.map((r) => r.ram![key]),
      f,
    );
  }

  for (const [role, rows] of [
    ['src', src],
    ['dst', dst],
  ] as const) {
    for (const nic of ['mig0', 'sto0']) {
      for (const [i, dirName] of ['rx', 'tx'].entries()) {
        const [s, ...rest] = await exportSeries(
          `host_link_${dirName}_bytes{run_id="${record.run_id}",role="${role}",nic="${nic}"}`,
        );
        assert.ok(s && rest.length === 0, `host_link_${dirName}_bytes ${role} ${nic}`);
        assert.deepEqual(
          s.timestamps,
          rows.map((r) => r.t),
        );
        assert.deepEqual(
          s.values,
          rows.map((r) => r.nic![nic][i]),
        );
        assert.equal(s.metric.scenario, 'it-sent');
      }
    }
  }
});

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env, timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function sampleCount(match: string): Promise<number> {
  return samples(await exportSeries(match));
}

test(
  'unreachable InfluxDB: the run is spooled; `results push` sends it once, a second push ' + 'sends nothing',
  async () => {
    const out = join(tmp, 'results-b');
    const { record, dir, qmp, src, dst } = fakeRun(out, 'it-spool', Date.now() - 1800_000);
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    const logs: string[] = [];
    const t = Date.now();
    assert.equal(await new InfluxSink(cfg(deadUrl), (l) => logs.push(l), FAST).writeRun(record, dir), 'spooled');
    assert.ok(Date.now() - t < 10000, 'gave up within the retry budget');
    assert.equal(logs.length, 1);
    assert.match(
      logs[0],
      /failed \(.*ECONNREFUSED.*\); \d+ of \d+ points spooled to .*influx-spool\.lp — send later with `pofbench results push`/,
    );
    const expectedLines = 1 + qmp.length + 2 * (src.length + dst.length);
    assert.equal((await readSpool(dir)).length, expectedLines);
    assert.equal(
      readFileSync(join(dir, 'run.json'), 'utf8').includes('"status": "completed"'),
      true,
      'the record is untouched',
    );
    // progress and link series carry run_id
    const match = `{run_id="${record.run_id}",__name__!="migration_progress_status"}`;
    assert.equal(await sampleCount(match), 0);

    const env = {
      ...process.env,
      INFLUX_URL: base,
      INFLUX_ORG: 'pofbench',
      INFLUX_BUCKET: 'pofbench',
      INFLUX_TOKEN: '',
    };
    const first = await cli(['results', 'push', out], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /pushed 1 spooled run\(s\), \d+ points/);
    assert.equal(existsSync(join(dir, SPOOL_FILE)), false);
    assert.equal(existsSync(join(dir, PUSHED_FILE)), true);
    // 5 numeric fields per sample with ram (string fields are not stored)
    const progressSamples = qmp.filter((r) => r.ram).length * 5;
    const linkSamples = 2 * 2 * (src.length + dst.length); // 2 NICs × rx/tx
    const seriesSamples = progressSamples + linkSamples;
    assert.equal(samples(await exportWhen(match, (all) => samples(all) >= seriesSamples)), seriesSamples);
    // every field of the run point
    const runMatch = '{__name__=~"migration_[a-z_]+",__name__!~"migration_progress_.+",scenario="it-spool"}';
    const fields = numericFields(record).length;
    const runSamples = samples(await exportWhen(runMatch, (all) => samples(all) >= fields));
    assert.ok(fields >= 20 && runSamples >= fields, `${runSamples} run samples for ${fields} fields`);

    const second = await cli(['results', 'push', out, '--influx-url', base], { ...env, INFLUX_URL: deadUrl });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /nothing to push/);
    assert.equal(await sampleCount(match), seriesSamples, 'no duplicates');
    assert.equal(await sampleCount(runMatch), runSamples, 'no duplicates');
  },
);

test('`results push` without InfluxDB settings, or to a dead server, says so in one line', async () => {
  const env = { ...process.env, INFLUX_URL: '', INFLUX_ORG: '', INFLUX_BUCKET: '', INFLUX_TOKEN: '' };
  const none = await cli(['results', 'push', tmp], env);
  assert.equal(none.code, 2);
  assert.deepEqual(none.stderr.trim().split('\n'), [
    'pofbench: no InfluxDB configured — pass --influx-url, --influx-org and --influx-bucket (or set INFLUX_URL, ' +
      'INFLUX_ORG, INFLUX_BUCKET)',
  ]);

  const out = join(tmp, 'results-c');
  const { dir } = fakeRun(out, 'it-dead', Date.now() - 900_000);
  writeFileSync(join(dir, SPOOL_FILE), 'migration,scenario=it-dead total_time_ms=1 1700000000000\n');
  const dead = await cli(
    [
      'results',
      'push',
      out,
      '--quiet',
      '--influx-url',
      `http://127.0.0.1:${await freePort()}`,
      '--influx-org',
      'o',
      '--influx-bucket',
      'b',
    ],
    env,
  );
  assert.equal(dead.code, 1);
  const errLines = dead.stderr.trim().split('\n');
  assert.equal(errLines.length, 1, dead.stderr);
  assert.match(
    errLines[0],
    /^pofbench: 1 run\(s\) still spooled \(.*ECONNREFUSED.*\); run `pofbench results push` again when http:\/\/127\.0\.0\.1:\d+ is reachable$/,
  );
  assert.equal(existsSync(join(dir, SPOOL_FILE)), true, 'the spool is kept');
});
