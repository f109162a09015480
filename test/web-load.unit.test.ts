import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantile, WebBucketer, type WebRowWithSamples } from '../src/metrics/webBuckets.js';
import { webPhase, webSummary, seriesRow } from '../src/metrics/webSummary.js';
import { requestPicker } from '../src/metrics/webLoadClient.js';
import { WebWorkload } from '../src/workload/web.js';
import { parseScenario } from '../src/scenario/load.js';
import type { GuestImage } from '../src/image/build.js';

test('nearest-rank quantiles', () => {
  assert.equal(quantile([], 0.5), undefined);
  assert.equal(quantile([7], 0.5), 7);
  assert.equal(quantile([7], 0.99), 7);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2, 'ceil(0.5*4) = 2nd');
  assert.equal(quantile([1, 2, 3, 4], 0.99), 4, 'ceil(0.99*4) = 4th');
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantile(hundred, 0.5), 50);
  assert.equal(quantile(hundred, 0.99), 99);
  const twoHundred = Array.from({ length: 200 }, (_, i) => i + 1);
  assert.equal(quantile(twoHundred, 0.99), 198);
});

/** Responses at known times (ms) into 100 ms buckets starting at 1000; see the hand-computed rows below. */
function sampleRows(): WebRowWithSamples[] {
  const b = new WebBucketer(1000, 100);
  const rows: WebRowWithSamples[] = [];
  b.ok(1010, 5, rows);
  b.ok(1020, 1, rows);
  b.ok(1050, 3, rows);
  b.ok(1090, 2, rows);
  b.ok(1110, 7, rows);
  b.error(1120, false, rows);
  b.error(1150, true, rows);
  b.ok(1420, 100, rows);
  b.ok(1510, 4, rows);
  b.ok(1520, 6, rows);
  b.finish(1550, rows);
  return rows;
}

test('responses are cut into 100 ms buckets with their own quantiles, rate, errors and gaps', () => {
  const rows = sampleRows();
  const strip = rows.map(seriesRow);
  assert.deepEqual(strip, [
    // (1000, 1100]: latencies 1 2 3 5; gaps 10 (from the start), 10, 30, 40
    { t: 1100, p50_ms: 2, p99_ms: 5, max_ms: 5, rps: 40, ok: 4, errors: 0, timeouts: 0, gap_ms: 40 },
    // (1100, 1200]: one response (20 ms after the last), an error and a timeout
    { t: 1200, p50_ms: 7, p99_ms: 7, max_ms: 7, rps: 10, ok: 1, errors: 2, timeouts: 1, gap_ms: 20 },
    // nothing at all: empty buckets are rows too
    { t: 1300, p50_ms: null, p99_ms: null, max_ms: null, rps: 0, ok: 0, errors: 0, timeouts: 0, gap_ms: 0 },
    { t: 1400, p50_ms: null, p99_ms: null, max_ms: null, rps: 0, ok: 0, errors: 0, timeouts: 0, gap_ms: 0 },
    // the stalled one: 1420 - 1110 = 310 ms without a successful response
    { t: 1500, p50_ms: 100, p99_ms: 100, max_ms: 100, rps: 10, ok: 1, errors: 0, timeouts: 0, gap_ms: 310 },
    // the open bucket cut at 1550 (50 ms long): 2 responses = 40/s
    { t: 1550, p50_ms: 4, p99_ms: 6, max_ms: 6, rps: 40, ok: 2, errors: 0, timeouts: 0, gap_ms: 90 },
  ]);
  assert.deepEqual(rows[0].lat_ms, [1, 2, 3, 5], 'samples kept (sorted) for phase quantiles');
  assert.equal('lat_ms' in strip[0], false, 'series rows carry no samples');
});

test('phases and record fields of the web load, hand-computed', () => {
  const w = { migrateStart: 1200, migrateEnd: 1450, loadEnd: 1550 };
  assert.deepEqual(
    sampleRows().map((r) => webPhase(r.t, w)),
    ['before', 'before', 'during', 'during', 'during', 'after'],
  );
  assert.deepEqual(webSummary(sampleRows(), w), {
    web_requests: 8,
    web_errors: 2,
    web_timeouts: 1,
    web_rps_before: 25,
    web_p99_ms_before: 7, // (40 + 10) / 2; p99 of 1 2 3 5 7
    web_rps_during: 3.33,
    web_p99_ms_during: 100,
    web_max_latency_ms: 100, // (0 + 0 + 10) / 3
    web_rps_after: 40,
    web_p99_ms_after: 6,
    web_stall_ms: 310,
  });

  // a load that never got an answer again: the gap runs to the end of the load
  const b = new WebBucketer(1000, 100);
  const rows = b.ok(1010, 1);
  b.flush(1500, rows);
  const s = webSummary(rows, { migrateStart: 1200, migrateEnd: 1500, loadEnd: 1500 });
  assert.equal(s.web_stall_ms, 400, 'last success in the bucket ending at 1100, load ended at 1500');
  assert.equal(s.web_rps_after, undefined, 'no rows after: no field');
  assert.equal(s.web_rps_during, 0);
  assert.equal(s.web_p99_ms_during, undefined, 'no response during: no latency');
});

test('request sequence: round robin over files and ranges, or random', () => {
  const files = [
    { path: '/a', bytes: 3072 },
    { path: '/b', bytes: 2048 },
  ];
  const rr = requestPicker({ files, order: 'round-robin', objectBytes: 1024 });
  assert.deepEqual(
    Array.from({ length: 6 }, () => rr()),
    [
      { path: '/a', range: 'bytes=0-1023' },
      { path: '/b', range: 'bytes=0-1023' },
      { path: '/a', range: 'bytes=1024-2047' },
      { path: '/b', range: 'bytes=1024-2047' },
      { path: '/a', range: 'bytes=2048-3071' },
      { path: '/b', range: 'bytes=0-1023' },
    ],
  );
  const rnd = requestPicker({ files, order: 'random', objectBytes: 1024 }, () => 0.99);
  assert.deepEqual(rnd(), { path: '/b', range: 'bytes=1024-2047' });
  const whole = requestPicker({ files, order: 'round-robin', objectBytes: 0 });
  assert.deepEqual([whole(), whole()], [{ path: '/a' }, { path: '/b' }]);
});

test('web workload: scenario defaults, guest scripts, controller load, refused parameters', () => {
  const spec = parseScenario('workload: { type: web }\n', 'w.yaml').workload;
  assert.deepEqual(spec, {
    type: 'web',
    connections: 4,
    files: 16,
    order: 'round-robin',
    object_kib: 64,
    dataset_mib: 64,
    timeout_s: 10,
    warmup_s: 2,
    ready_timeout_s: 300,
  });
  assert.throws(
    () => parseScenario('workload: { type: web, order: sideways }\n', 'bad.yaml'),
    /field "workload\.order" must be one of "round-robin", "random"/,
  );
  assert.throws(() => parseScenario('workload: { type: web, connections: 0 }\n', 'bad.yaml'), /workload\.connections/);
  if (spec.type !== 'web') throw new Error('unreachable');

  const MiB = 1024 * 1024;
  const files = Array.from({ length: 20 }, (_, i) => ({
    path: `/data/dataset/f${String(i + 1).padStart(4, '0')}.bin`,
    bytes: 4 * MiB,
  }));
  const image = { dataset: { seed: 's', totalBytes: 80 * MiB, files } } as unknown as GuestImage;
  const wl = new WebWorkload({ ...spec, files: 3, dataset_mib: 8 });
  const start = wl.startScript(image);
  assert.match(
    start,
    /for f in \/data\/dataset\/f0001\.bin \/data\/dataset\/f0002\.bin; do cat "\$f" > \/dev\/null; done/,
    'pre-reads dataset_mib (2 files of 4 MiB)',
  );
  assert.match(start, /exec httpd -f -p 80 -h \/data\/dataset/);
  assert.match(wl.readyScript(), /wget -q --spider http:\/\/127\.0\.0\.1:80\/MANIFEST/);
  assert.deepEqual(wl.controllerLoad(image), {
    port: 80,
    files: [
      { path: '/f0001.bin', bytes: 4 * MiB },
      { path: '/f0002.bin', bytes: 4 * MiB },
      { path: '/f0003.bin', bytes: 4 * MiB },
    ],
    order: 'round-robin',
    objectBytes: 65536,
    connections: 4,
    timeoutS: 10,
  });
  assert.throws(
    () => new WebWorkload({ ...spec, files: 21 }).check(image, 256),
    /workload\.files 21 is more than the image's 20 dataset files/,
  );
  assert.throws(
    () => new WebWorkload({ ...spec, dataset_mib: 81 }).check(image, 256),
    /workload\.dataset_mib 81 is larger than the image's dataset/,
  );
  assert.throws(() => new WebWorkload({ ...spec, dataset_mib: 64 }).check(image, 64), /does not fit/);
  assert.doesNotThrow(() => wl.check(image, 256));
});
