/**
 * The host sampler (`pofbench host sample`, the real CLI in a child process): with --flush-ms it
 * holds its rows and writes them in bursts (the first row at once: the runner waits for its pid),
 * and when its stdin closes it writes every held row before it exits — no row is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'pofbench');

interface Burst {
  at: number;
  rows: { t: number; pid: number; nic: Record<string, [number, number]>; cpu: Record<string, number> }[];
}

function startSampler(flushMs: number) {
  const child = spawn(process.execPath, [
    bin,
    'host',
    'sample',
    '--nic',
    'lo',
    '--pid',
    String(process.pid),
    '--interval-ms',
    '20',
    '--flush-ms',
    String(flushMs),
  ]);
  const bursts: Burst[] = [];
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    if (lines.length) bursts.push({ at: Date.now(), rows: lines.map((l) => JSON.parse(l)) });
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, bursts, exited };
}

test('host sampler: rows held between flushes, the first at once, all written when stdin closes', async () => {
  const s = startSampler(400);
  await new Promise((r) => setTimeout(r, 1500));
  const beforeStop = s.bursts.length;
  s.child.stdin.end();
  assert.equal(await s.exited, 0);
  const rows = s.bursts.flatMap((b) => b.rows);
  assert.equal(s.bursts[0].rows.length, 1, 'the first row leaves alone (it reports the pid)');
  assert.equal(rows[0].pid, s.child.pid);
  // 1.5 s at 20 ms is ~75 rows; at 400 ms per flush they came in a handful of bursts, not one per row
  assert.ok(rows.length >= 30, `rows: ${rows.length}`);
  assert.ok(beforeStop >= 2 && beforeStop <= 6, `bursts before stop: ${beforeStop}`);
  assert.ok(s.bursts.at(-1)!.rows.length >= 1, 'held rows written at stdin close');
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i].t >= rows[i - 1].t, 'rows in time order');
  assert.ok(rows.every((r) => Array.isArray(r.nic.lo) && typeof r.cpu[String(process.pid)] === 'number'));
});

test('host sampler: --flush-ms 0 writes every row as it is taken; a bad value is refused by name', async () => {
  const s = startSampler(0);
  await new Promise((r) => setTimeout(r, 500));
  s.child.stdin.end();
  assert.equal(await s.exited, 0);
  const rows = s.bursts.flatMap((b) => b.rows);
  assert.ok(s.bursts.length >= rows.length / 2, `${rows.length} rows in ${s.bursts.length} writes`);

  const bad = spawn(process.execPath, [bin, 'host', 'sample', '--nic', 'lo', '--flush-ms', 'soon']);
  let err = '';
  bad.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((r) => bad.on('exit', (c) => r(c)));
  assert.notEqual(code, 0);
  assert.match(err, /--flush-ms must be a number ≥ 0, got "soon"/);
});
