import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunRecord } from '../src/results/record.js';
import { runLines } from '../src/sinks/influxPoints.js';
import { canonicalJson as stableJson, paramsHash } from '../src/results/params.js';
import { readRunSeries } from '../src/sinks/runDirSeries.js';
import {
  spoolLines,
  readSpool,
  settleSpool,
  findSpooledRuns,
  SPOOL_FILE,
  PUSHED_FILE,
} from '../src/sinks/influxSpool.js';
import { influxConfig } from '../src/cli/influxOptions.js';
import { UserError } from '../src/util/errors.js';

// a record as read from disk: also fields this revision does not declare
const record = {
  run_id: '20240501T100000-quick-stock-r1',
  scenario: 'quick',
  config_id: 'mem=512',
  sweep: { 'guest.memory_mib': 512 },
  strategy: 'stock',
  repeat: 1,
  warmup: false,
  status: 'completed',
  started_at: '2024-05-01T10:00:00.123Z',
  testbed: 'local',
  src_host: 'pofb-src',
  dst_host: 'pofb-dst',
  qemu_version: '7.2.22',
  pofbench_rev: 'abc123',
  params: { memory_mib: 512, workload: { type: 'idle' }, capabilities: undefined },
  total_time_ms: 1234,
  downtime_ms: 12,
  migration_link_bytes: 5e8,
  src_qemu_cpu_s: 1.25,
  guest_on_dst: true,
  pof_ref_pages: 77,
  nested: { ignored: 1 },
  not_a_number: Number.NaN,
} as RunRecord;

test('a record becomes one `migration` line: tags, float/bool/string fields, started_at in ms', () => {
  const [line] = runLines(record, { qmp: [], hostSrc: [], hostDst: [] });
  assert.equal(
    line,
    `migration,config_id=mem\\=512,dst_host=pofb-dst,params_hash=${paramsHash(record.params)},` +
      'pofbench_rev=abc123,repeat=1,scenario=quick,src_host=pofb-src,status=completed,strategy=stock,testbed=local,' +
      'warmup=false ' +
      'downtime_ms=12,guest_on_dst=T,migration_link_bytes=500000000,pof_ref_pages=77,' +
      'qemu_version="7.2.22",' +
      'run_id="20240501T100000-quick-stock-r1",src_qemu_cpu_s=1.25,total_time_ms=1234 1714557600123',
  );
  // a record from before sweeps (no config_id) or not swept ("") has no config_id tag
  assert.doesNotMatch(runLines({ ...record, config_id: '' }, { qmp: [], hostSrc: [], hostDst: [] })[0], /config_id/);
});

test('a failed record carries its error as a string field, escaped', () => {
  const failed: RunRecord = {
    ...record,
    status: 'failed',
    error: 'migration failed: "x", y=1',
    total_time_ms: undefined,
  };
  const [line] = runLines(failed, { qmp: [], hostSrc: [], hostDst: [] });
  assert.match(line, /,status=failed,/);
  assert.ok(line.includes(String.raw`,error="migration failed: \"x\", y=1",`), line);
  assert.doesNotMatch(line, /total_time_ms/);
});

test('series rows become migration_progress and host_link lines with their own timestamps', () => {
  const lines = runLines(record, {
    qmp: [
      { t: 1714557600200, status: 'setup' },
      {
        t: 1714557600250,
        status: 'active',
        ram: { transferred: 1000, remaining: 500, mbps: 812.5, 'dirty-sync-count': 2, 'dirty-pages-rate': 30 },
      },
    ],
    hostSrc: [{ t: 1714557600210, nic: { sto0: [1, 2], mig0: [3, 4] } }],
    hostDst: [{ t: 1714557600220, nic: { mig0: [5, 6] } }],
  });
  const tags = 'run_id=20240501T100000-quick-stock-r1,scenario=quick,strategy=stock';
  assert.deepEqual(lines.slice(1), [
    `migration_progress,${tags} status="setup" 1714557600200`,
    `migration_progress,${tags} ` +
      `dirty_pages_rate=30,dirty_sync_count=2,mbps=812.5,remaining_bytes=500,status="active",transferred_bytes=1000 ` +
      `1714557600250`,
    `host_link,nic=mig0,role=src,${tags} rx_bytes=3,tx_bytes=4 1714557600210`,
    `host_link,nic=sto0,role=src,${tags} rx_bytes=1,tx_bytes=2 1714557600210`,
    `host_link,nic=mig0,role=dst,${tags} rx_bytes=5,tx_bytes=6 1714557600220`,
  ]);
});

test('the same run gives the same lines; params_hash ignores key order and undefined values', () => {
  assert.deepEqual(
    runLines(record, { qmp: [], hostSrc: [], hostDst: [] }),
    runLines({ ...record }, { qmp: [], hostSrc: [], hostDst: [] }),
  );
  assert.equal(paramsHash({ b: 1, a: { y: 2, x: 1 }, c: undefined }), paramsHash({ a: { x: 1, y: 2 }, b: 1 }));
  assert.notEqual(paramsHash({ a: 1 }), paramsHash({ a: 2 }));
  assert.match(paramsHash({}), /^[0-9a-f]{12}$/);
  assert.equal(stableJson({ b: [1, { d: 1, c: 2 }], a: 'x' }), '{"a":"x","b":[1,{"c":2,"d":1}]}');
});

test('a record without a usable started_at is refused by name', () => {
  assert.throws(
    () => runLines({ ...record, started_at: 'yesterday' }, { qmp: [], hostSrc: [], hostDst: [] }),
    /started_at "yesterday"/,
  );
});

test('series files: missing ones give nothing, a partial last line is skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pofbench-series-'));
  try {
    mkdirSync(join(dir, 'series'));
    writeFileSync(join(dir, 'series', 'qmp.jsonl'), '{"t":1,"status":"active"}\n{"t":2,"sta');
    const s = await readRunSeries(dir);
    assert.deepEqual(s, { qmp: [{ t: 1, status: 'active' }], hostSrc: [], hostDst: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('spool: lines are kept once, a pushed spool is renamed and no longer found', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pofbench-spool-'));
  try {
    const run = join(root, 'run-a');
    mkdirSync(run);
    mkdirSync(join(root, 'run-b'));
    await spoolLines(run, ['m f=1 1', 'm f=2 2']);
    await spoolLines(run, ['m f=2 2', 'm f=3 3']);
    assert.deepEqual(await readSpool(run), ['m f=1 1', 'm f=2 2', 'm f=3 3']);
    assert.match(readFileSync(join(run, SPOOL_FILE), 'utf8'), /^# .*precision=ms/);
    assert.deepEqual(await findSpooledRuns(root), [run]);
    assert.deepEqual(await findSpooledRuns(run), [run]);
    await settleSpool(run, ['m f=3 3']);
    assert.deepEqual(await readSpool(run), ['m f=3 3']);
    await settleSpool(run, []);
    assert.equal(existsSync(join(run, SPOOL_FILE)), false);
    assert.equal(existsSync(join(run, PUSHED_FILE)), true);
    assert.deepEqual(await findSpooledRuns(root), []);
    // a results root holding sessions: the runs of each session are found, no deeper
    const sessionRun = join(root, '20261201T000000-quick', 'run-c');
    mkdirSync(join(sessionRun, 'series', 'deeper'), { recursive: true });
    await spoolLines(sessionRun, ['m f=4 4']);
    await spoolLines(join(sessionRun, 'series', 'deeper'), ['m f=5 5']);
    assert.deepEqual(await findSpooledRuns(root), [sessionRun]);
    assert.deepEqual(await findSpooledRuns(join(root, '20261201T000000-quick')), [sessionRun]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('influx config: flags win over env, nothing set means no sink, partial config is named', () => {
  assert.equal(influxConfig({}, {}), undefined);
  assert.deepEqual(
    influxConfig(
      { influxUrl: 'http://a:8086/' },
      { INFLUX_URL: 'http://b:8086', INFLUX_ORG: 'o', INFLUX_BUCKET: 'b', INFLUX_TOKEN: 't' },
    ),
    { url: 'http://a:8086', token: 't', org: 'o', bucket: 'b' },
  );
  assert.throws(
    () => influxConfig({ influxUrl: 'http://a:8086' }, {}),
    (e: unknown) =>
      e instanceof UserError &&
      /--influx-org \(or INFLUX_ORG\), --influx-bucket \(or INFLUX_BUCKET\) are missing/.test(e.message),
  );
  assert.throws(
    () => influxConfig({ influxUrl: 'a:b:c', influxOrg: 'o', influxBucket: 'b' }, {}),
    (e: unknown) => e instanceof UserError && /must be http/.test(e.message),
  );
  assert.throws(
    () => influxConfig({ influxUrl: 'not a url', influxOrg: 'o', influxBucket: 'b' }, {}),
    (e: unknown) => e instanceof UserError && /is not a URL/.test(e.message),
  );
});
