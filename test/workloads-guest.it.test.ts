// Boots the project's guest ONCE locally (QEMU TCG, 256 MiB, -smp 1, no NIC, a private copy of the
// image's data disk in a temp dir; no testbed) and runs each new workload in it as the runner does:
// startScript -> readyScript until `ready` (bounded) -> metricsScript parses to rows -> stopScript.
// QEMU is killed by PID in `after`, even on failure, and the temp dir removed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildImage, type GuestImage } from '../src/image/build.js';
import { createWorkload } from '../src/workload/index.js';
import { parseWorkloadClock } from '../src/workload/clock.js';
import { parseScenario } from '../src/scenario/load.js';
import type { Workload } from '../src/workload/types.js';
import { bootLocalGuest, type LocalGuest } from './helpers/localGuest.js';

const MEMORY_MIB = 256;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let image: GuestImage;
let guest: LocalGuest | undefined;

before(async () => {
  image = await buildImage({}); // cached; never modified (the guest gets a copy of its disk)
  guest = await bootLocalGuest(image, { memoryMib: MEMORY_MIB });
});

after(async () => {
  await guest?.stop();
});

async function sh(script: string, timeoutMs = 30_000): Promise<string> {
  const r = await guest!.ctl.exec(script, { timeoutMs });
  assert.equal(r.rc, 0, `guest script failed (${r.rc}): ${r.output}`);
  return r.output;
}

const cachedKb = async (): Promise<number> => Number((await sh("awk '/^Cached:/ { print $2 }' /proc/meminfo")).trim());

/** Start, wait until ready, let it run, fetch and parse its metrics, stop; returns the rows. */
async function exercise(
  w: Workload,
  label: string,
): Promise<{ rows: ReturnType<NonNullable<Workload['parseMetrics']>>; readyMs: number; text: string }> {
  w.check(image, MEMORY_MIB);
  assert.match(await sh(w.startScript(image)), /started/);
  const t0 = Date.now();
  let state = '';
  for (;;) {
    state = (await sh(w.readyScript(), 10_000)).trim();
    if (state === 'ready') break;
    assert.ok(!state.startsWith('failed'), `${label}: ${state}`);
    assert.ok(Date.now() - t0 < 60_000, `${label} not ready within 60 s: ${state}`);
    await sleep(500);
  }
  const readyMs = Date.now() - t0;
  await sleep(2500); // a few metric intervals
  const text = await sh(w.metricsScript!());
  const rows = w.parseMetrics!(text);
  await sh(w.stopScript());
  // everything the workload started is gone
  // (zombies do not count: busybox init reaps orphans about once a second)
  // a process that is exiting as we look counts as gone (its status is read once: it may vanish between two
  // reads); one still running a moment after stopScript is given up to 3 s before it counts as left behind
  const leftScript =
    "ps -o pid,stat,args | awk '$2 !~ /Z/' | grep -E 'sysbench|stress-ng| dd |wl\\.sh' | grep -v grep; for p in " +
    '$(cat /tmp/wl.pid /tmp/wl.pids 2>/dev/null); do s=$(cat /proc/$p/status 2>/dev/null) && ' +
    '! echo "$s" | grep -q \'^State:.*Z\' && echo alive $p; done; true';
  let left = await sh(leftScript);
  for (let i = 0; i < 10 && left.trim() !== ''; i++) {
    await sleep(300);
    left = await sh(leftScript);
  }
  assert.equal(left.trim(), '', `${label}: still running 3 s after stopScript: ${left}`);
  console.log(
    `# ${label}: ready after ${(readyMs / 1000).toFixed(1)} s, ${rows.length} rows, last ` +
      `${JSON.stringify(rows.at(-1))}`,
  );
  return { rows, readyMs, text };
}

function checkRows(rows: { t_s: number }[], label: string, keys: string[]): void {
  assert.ok(rows.length >= 1, `${label}: at least one metrics row`);
  for (const r of rows) {
    assert.ok(Number.isFinite(r.t_s) && r.t_s >= 0, `${label}: t_s ${r.t_s}`);
    for (const k of keys)
      assert.ok(Number.isFinite((r as Record<string, number>)[k]), `${label}: ${k} in ${JSON.stringify(r)}`);
  }
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i].t_s >= rows[i - 1].t_s, `${label}: t_s ascending`);
}

const workload = (yaml: string): Workload => createWorkload(parseScenario(`workload: ${yaml}\n`, 'it.yaml').workload);

test('mixed: page cache filled and anonymous memory dirtied, one row per re-read pass', {
  timeout: 90_000,
}, async () => {
  const { rows, text } = await exercise(
    workload('{ type: mixed, dataset_mib: 48, size_mib: 48, reread_interval_s: 0.5 }'),
    'mixed',
  );
  checkRows(rows, 'mixed', ['pass_s', 'reread_mib_s', 'anon_mib', 'cached_mib']);
  assert.ok(rows.at(-1)!.anon_mib >= 48 * 0.9, `anon ${rows.at(-1)!.anon_mib} MiB`);
  assert.ok(rows.at(-1)!.cached_mib >= 48, `cached ${rows.at(-1)!.cached_mib} MiB`);
  const clock = parseWorkloadClock(text);
  assert.ok(clock && clock.now_uptime_s > clock.start_uptime_s);
});

test('sysbench-memory: a 32 MiB block written, MiB/s every second', { timeout: 60_000 }, async () => {
  const { rows } = await exercise(
    workload('{ type: sysbench-memory, block_size_mib: 32, threads: 1, oper: write }'),
    'sysbench-memory',
  );
  checkRows(rows, 'sysbench-memory', ['mib_s']);
  assert.ok(rows.length >= 2);
  assert.ok(rows.every((r) => r.mib_s > 0));
});

test('sysbench-fileio: files prepared on /data, rndrw reports every second', { timeout: 90_000 }, async () => {
  const { rows } = await exercise(
    workload('{ type: sysbench-fileio, file_total_mib: 32, mode: rndrw, threads: 1 }'),
    'sysbench-fileio',
  );
  checkRows(rows, 'sysbench-fileio', ['read_mib_s', 'written_mib_s', 'fsyncs_s', 'latency_ms_p95']);
  assert.ok(rows.some((r) => r.read_mib_s > 0 && r.written_mib_s > 0));
  assert.match(
    await sh('ls /data/sysbench | head -n 3; du -sk /data/sysbench'),
    /test_file\.0[\s\S]*\d+\s+\/data\/sysbench/,
  );
  await sh('rm -rf /data/sysbench');
});

for (const direct of [true, false]) {
  test(`rewrite (direct: ${direct}): the file on /data rewritten every ` +
    `second${direct ? ', nothing left in the page cache' : ' through the page cache'}`, {
    timeout: 60_000,
  }, async () => {
    await sh('sync; echo 3 > /proc/sys/vm/drop_caches');
    const before = await cachedKb();
    const { rows } = await exercise(
      workload(`{ type: rewrite, file_mib: 16, rate_mib_s: 4, direct: ${direct} }`),
      `rewrite direct=${direct}`,
    );
    const grown = (await cachedKb()) - before;
    checkRows(rows, 'rewrite', ['written_mib', 'write_s', 'mib_s']);
    assert.ok(rows.every((r) => r.written_mib === 4));
    // one tick a second (a tick whose writes take longer starts the next at once); a row's t_s is when
    // its writes ended, so a tick started at t_s - write_s
    const startOf = (r: (typeof rows)[number]) => r.t_s - r.write_s;
    for (let i = 1; i < rows.length; i++)
      assert.ok(
        startOf(rows[i]) - startOf(rows[i - 1]) >= 0.9 || rows[i - 1].write_s >= 0.9,
        `ticks ${JSON.stringify(rows)}`,
      );
    assert.match(await sh('ls -l /data/rewrite/rewrite.bin'), /16777216/);
    // O_DIRECT (busybox dd oflag=direct) bypasses the page cache; buffered writes land in it
    if (direct) assert.ok(grown < 8 * 1024, `O_DIRECT: Cached grew by ${grown} kB`);
    else assert.ok(grown >= 15 * 1024, `buffered: Cached grew by only ${grown} kB`);
    await sh('rm -rf /data/rewrite');
  });
}
