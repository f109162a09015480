// The sysbench output parser and the workloads' metrics parsers, on sysbench output captured from
// the project's guest (sysbench 1.0.20; test/fixtures/sysbench/, see the README there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';
import { parseSysbench, type FileioInterval, type MemoryInterval } from '../src/workload/sysbenchParser.js';
import { SysbenchMemoryWorkload } from '../src/workload/sysbenchMemory.js';
import { SysbenchFileioWorkload } from '../src/workload/sysbenchFileio.js';
import { MixedWorkload } from '../src/workload/mixed.js';
import { RewriteWorkload } from '../src/workload/rewrite.js';
import { parseWorkloadClock } from '../src/workload/clock.js';
import { createWorkload } from '../src/workload/index.js';
import { parseScenario } from '../src/scenario/load.js';

const fixture = (name: string): string =>
  readFileSync(join(projectRoot, 'test', 'fixtures', 'sysbench', `${name}.txt`), 'utf8');

test('memory: interval lines and the summary (64 MiB block, write, 1 thread)', () => {
  const r = parseSysbench(fixture('memory-write-64M'));
  assert.equal(r.test, 'memory');
  assert.equal(r.version, '1.0.20');
  assert.equal(r.threads, 1);
  assert.equal(r.intervals.length, 6);
  assert.deepEqual(r.intervals[0], { kind: 'memory', t_s: 1, mib_s: 3565.98 });
  assert.deepEqual(r.intervals[5], { kind: 'memory', t_s: 6, mib_s: 4026.46 });
  assert.deepEqual(
    r.intervals.map((i) => i.t_s),
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(r.summary, {
    total_time_s: 6.0194,
    total_events: 395,
    latency: { min_ms: 11.91, avg_ms: 15.18, max_ms: 91.94, percentile: 95, percentile_ms: 25.28, sum_ms: 5995.57 },
    fairness: { events_avg: 395, events_stddev: 0, exec_time_avg_s: 5.9956, exec_time_stddev_s: 0 },
    memory: { total_operations: 395, operations_per_s: 65.6, transferred_mib: 25280, mib_s: 4198.43 },
  });
  // hand check: 395 operations of a 64 MiB block = 25280 MiB
  assert.equal(r.summary!.memory!.total_operations * 64, r.summary!.memory!.transferred_mib);
});

test('memory: read, 2 threads (fairness stddev, a 32 MiB block)', () => {
  const r = parseSysbench(fixture('memory-read-32M-2threads'));
  assert.equal(r.test, 'memory');
  assert.equal(r.threads, 2);
  assert.deepEqual(
    r.intervals.map((i) => (i as MemoryInterval).mib_s),
    [5442.16, 3738.39, 3805.14, 2850.33, 4822.25],
  );
  assert.equal(r.summary!.total_events, 650);
  assert.equal(r.summary!.memory!.transferred_mib, 650 * 32);
  assert.deepEqual(r.summary!.fairness, {
    events_avg: 325,
    events_stddev: 46,
    exec_time_avg_s: 4.9981,
    exec_time_stddev_s: 0.01,
  });
  assert.equal(r.summary!.latency!.max_ms, 454.78);
});

test('fileio: rndrw interval lines (reads, writes, fsyncs, latency) and the summary', () => {
  const r = parseSysbench(fixture('fileio-rndrw-2threads'));
  assert.equal(r.test, 'fileio');
  assert.equal(r.threads, 2);
  assert.equal(r.intervals.length, 5);
  assert.deepEqual(r.intervals[0], {
    kind: 'fileio',
    t_s: 1,
    read_mib_s: 90.12,
    written_mib_s: 60.08,
    fsyncs_s: 762.19,
    latency_ms: 1.319,
    latency_percentile: 95,
  });
  assert.equal((r.intervals[4] as FileioInterval).fsyncs_s, 837.98);
  assert.deepEqual(r.summary, {
    total_time_s: 5.0203,
    total_events: 62827,
    latency: { min_ms: 0.01, avg_ms: 0.16, max_ms: 20.93, percentile: 95, percentile_ms: 1.14, sum_ms: 9817.31 },
    fairness: { events_avg: 31413.5, events_stddev: 183.5, exec_time_avg_s: 4.9087, exec_time_stddev_s: 0 },
    fileio: { reads_s: 6950.78, writes_s: 4633.99, fsyncs_s: 928.71, read_mib_s: 108.61, written_mib_s: 72.41 },
  });
  // hand check: two threads of 31413.5 events on average = all events
  assert.equal(r.summary!.fairness!.events_avg * 2, r.summary!.total_events);
});

test('fileio: seqrd and seqwr (reads only, writes only; a last interval may be missing)', () => {
  const rd = parseSysbench(fixture('fileio-seqrd'));
  assert.equal(rd.test, 'fileio');
  assert.equal(rd.intervals.length, 4);
  assert.ok(
    rd.intervals.every((i) => i.kind === 'fileio' && i.written_mib_s === 0 && i.fsyncs_s === 0 && i.read_mib_s > 0),
  );
  assert.equal(rd.summary!.fileio!.reads_s, 56783.15);
  // hand check: 56783.15 reads/s of 16 KiB blocks = 887.24 MiB/s
  assert.equal(Math.round(((rd.summary!.fileio!.reads_s * 16) / 1024) * 100) / 100, rd.summary!.fileio!.read_mib_s);
  const wr = parseSysbench(fixture('fileio-seqwr'));
  assert.deepEqual(
    wr.intervals.map((i) => (i as FileioInterval).written_mib_s),
    [167.36, 136.04, 117.39],
  );
  assert.equal(wr.summary!.fileio!.read_mib_s, 0);
  assert.equal(wr.summary!.fileio!.written_mib_s, 136.67);
});

test('fileio prepare output: recognised as fileio, no intervals, no summary', () => {
  const r = parseSysbench(fixture('fileio-prepare'));
  assert.equal(r.test, 'fileio');
  assert.deepEqual(r.intervals, []);
  assert.equal(r.summary, undefined);
});

test('partial output: a cut last line is dropped, a cut summary is left out or partial', () => {
  const text = fixture('memory-write-64M');
  // cut inside the 4th interval line: "[ 4s ] 4223.7" must not become 4223.7
  const cutInterval = text.slice(0, text.indexOf('[ 4s ] 4223.73') + '[ 4s ] 4223.7'.length);
  const a = parseSysbench(cutInterval);
  assert.deepEqual(
    a.intervals.map((i) => i.t_s),
    [1, 2, 3],
  );
  assert.equal(a.summary, undefined);
  // the same line complete but without its newline yet: still dropped (it could be longer)
  const b = parseSysbench(text.slice(0, text.indexOf('[ 4s ] 4223.73') + '[ 4s ] 4223.73 MiB/sec'.length));
  assert.equal(b.intervals.length, 3);
  // cut inside "total number of events": no summary
  const c = parseSysbench(text.slice(0, text.indexOf('total number of events:') + 30));
  assert.equal(c.intervals.length, 6);
  assert.equal(c.summary, undefined);
  // cut inside the latency block: summary without latency
  const d = parseSysbench(text.slice(0, text.indexOf('avg:') + 10));
  assert.equal(d.summary!.total_events, 395);
  assert.equal(d.summary!.latency, undefined);
  // a cut fileio interval line
  const f = fixture('fileio-rndrw-2threads');
  const e = parseSysbench(f.slice(0, f.indexOf('[ 3s ]') + 40));
  assert.equal(e.intervals.length, 2);
  // nothing, garbage, CRLF
  assert.deepEqual(parseSysbench(''), { test: 'unknown', intervals: [] });
  assert.deepEqual(parseSysbench('garbage\n[ xs ] 12 MiB/sec\n[ 1s ]\n').intervals, []);
  assert.deepEqual(parseSysbench(text.replace(/\n/g, '\r\n')).summary, parseSysbench(text).summary);
});

test('sysbench workloads: metrics rows with t_s from the workload start, from the clock and @run lines', () => {
  const mem = new SysbenchMemoryWorkload({
    type: 'sysbench-memory',
    warmup_s: 2,
    ready_timeout_s: 60,
    block_size_mib: 64,
    threads: 1,
    oper: 'write',
    time_s: 86400,
  });
  const text = `@wl-clock start=10.00 now=20.50\n@run 12.25\n${fixture('memory-write-64M')}`;
  assert.deepEqual(parseWorkloadClock(text), { start_uptime_s: 10, now_uptime_s: 20.5 });
  const rows = mem.parseMetrics(text);
  assert.equal(rows.length, 6);
  assert.deepEqual(rows[0], { t_s: 3.25, mib_s: 3565.98 });
  assert.deepEqual(rows[5], { t_s: 8.25, mib_s: 4026.46 });
  assert.match(
    mem.startScript(),
    /--memory-block-size=64M --memory-total-size=65536T --memory-oper=write --threads=1 --time=86400 --report-interval=1 run/,
  );

  const fio = new SysbenchFileioWorkload({
    type: 'sysbench-fileio',
    warmup_s: 2,
    ready_timeout_s: 60,
    file_total_mib: 32,
    mode: 'rndrw',
    threads: 2,
    time_s: 600,
  });
  const frows = fio.parseMetrics(`@wl-clock start=5 now=9\n@run 7\n${fixture('fileio-rndrw-2threads')}`);
  assert.equal(frows.length, 5);
  assert.deepEqual(frows[0], {
    t_s: 3,
    read_mib_s: 90.12,
    written_mib_s: 60.08,
    fsyncs_s: 762.19,
    latency_ms_p95: 1.319,
  });
  assert.match(fio.startScript(), /sysbench fileio --file-total-size=32M prepare/);
  assert.match(fio.startScript(), /--file-test-mode=rndrw --threads=2 --time=600 --report-interval=1 run/);
});

test('mixed and rewrite: metrics rows from their pass/tick lines; a cut last line is dropped', () => {
  const mixed = new MixedWorkload({
    type: 'mixed',
    warmup_s: 2,
    ready_timeout_s: 60,
    dataset_mib: 64,
    reread_interval_s: 1,
    size_mib: 32,
    workers: 1,
    method: 'write64',
  });
  const rows = mixed.parseMetrics(
    '@wl-clock start=100.00 now=110.00\n@pass 104.50 0.50 64.00 33000 70000\n@pass 106.00 0.00 64.00 33024 ' +
      '70100\n@pass 107.5',
  );
  assert.deepEqual(rows, [
    { t_s: 4.5, pass_s: 0.5, reread_mib_s: 128, anon_mib: 32.227, cached_mib: 68.359 },
    { t_s: 6, pass_s: 0, reread_mib_s: 6400, anon_mib: 32.25, cached_mib: 68.457 },
  ]);
  const rw = new RewriteWorkload({
    type: 'rewrite',
    warmup_s: 2,
    ready_timeout_s: 60,
    file_mib: 16,
    rate_mib_s: 4,
    direct: true,
    fsync: false,
  });
  assert.deepEqual(rw.parseMetrics('@wl-clock start=1.5 now=9\n@w 3.00 4 0.25\n@w 4.00 4 1.60\n'), [
    { t_s: 1.5, written_mib: 4, write_s: 0.25, mib_s: 16 },
    { t_s: 2.5, written_mib: 4, write_s: 1.6, mib_s: 2.5 },
  ]);
  assert.match(rw.startScript(), /oflag=direct/);
  assert.doesNotMatch(new RewriteWorkload({ ...rw.spec, direct: false }).startScript(), /oflag=direct|fsync/);
  assert.match(new RewriteWorkload({ ...rw.spec, direct: false, fsync: true }).startScript(), /conv=notrunc,fsync/);
});

test('createWorkload builds every new type from validated scenarios; check() refuses what cannot fit', () => {
  const image = { dataDiskBytes: 809500672, dataset: { seed: 's', totalBytes: 640 * 1024 * 1024, files: [] } } as never;
  for (const [text, name] of [
    ['workload: { type: mixed }\n', 'MixedWorkload'],
    ['workload: { type: sysbench-memory }\n', 'SysbenchMemoryWorkload'],
    ['workload: { type: sysbench-fileio }\n', 'SysbenchFileioWorkload'],
    ['workload: { type: rewrite }\n', 'RewriteWorkload'],
  ] as const) {
    const w = createWorkload(parseScenario(text, 'w.yaml').workload);
    assert.equal(w.constructor.name, name);
    assert.equal(typeof w.metricsScript, 'function');
    assert.equal(typeof w.parseMetrics, 'function');
  }
  const memory = createWorkload(
    parseScenario('workload: { type: sysbench-memory, block_size_mib: 512 }\n', 'w.yaml').workload,
  );
  assert.throws(() => memory.check(image, 256), /workload\.block_size_mib 512 does not fit in a 256 MiB guest/);
  const fio = createWorkload(
    parseScenario('workload: { type: sysbench-fileio, file_total_mib: 512 }\n', 'w.yaml').workload,
  );
  assert.throws(() => fio.check(image, 256), /workload\.file_total_mib 512 does not fit on the image's data disk/);
  const rw = createWorkload(
    parseScenario('workload: { type: rewrite, file_mib: 8, rate_mib_s: 16 }\n', 'w.yaml').workload,
  );
  assert.throws(() => rw.check(image, 256), /workload\.rate_mib_s 16 is more than workload\.file_mib 8/);
  createWorkload(parseScenario('workload: { type: rewrite }\n', 'w.yaml').workload).check(image, 256);
});
