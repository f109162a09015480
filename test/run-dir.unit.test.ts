/**
 * A run directory's series: rows are batched (one write per SERIES_FLUSH_MS) but none is lost —
 * they reach the file once the flush interval passed, and all of them on close, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDir, SERIES_FLUSH_MS } from '../src/results/runDir.js';

const rowsOf = async (dir: RunDir, name: string) =>
  (await readFile(join(dir.path, 'series', `${name}.jsonl`), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { i: number });

test('run dir series: batched writes reach the file after the flush interval and on close, in order', async () => {
  const out = await mkdtemp(join(tmpdir(), 'pofb-rundir-'));
  try {
    const dir = await RunDir.create(out, 'r1');
    for (let i = 0; i < 100; i++) dir.series('probe', { i });
    dir.series('qmp', { i: 0 });
    await new Promise((r) => setTimeout(r, SERIES_FLUSH_MS * 3));
    assert.deepEqual(
      (await rowsOf(dir, 'probe')).map((r) => r.i),
      [...Array(100).keys()],
      'flushed after the interval',
    );
    for (let i = 100; i < 150; i++) dir.series('probe', { i });
    await dir.close();
    assert.deepEqual(
      (await rowsOf(dir, 'probe')).map((r) => r.i),
      [...Array(150).keys()],
    );
    assert.deepEqual(await rowsOf(dir, 'qmp'), [{ i: 0 }]);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
