import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sessionSink } from '../src/sinks/sessionSink.js';
import type { InfluxSink } from '../src/sinks/influx.js';
import type { RunRecord } from '../src/results/record.js';
import { writeFileAtomic } from '../src/util/atomicFile.js';

/** A sink that records what it was asked to do (the real one is exercised by the influx rows of `pofbench faults`). */
function fakeSink() {
  const calls: string[] = [];
  const sink = {
    writeRun: async (r: RunRecord) => {
      calls.push(`send ${r.run_id}`);
      return 'sent' as const;
    },
    spoolRun: async (r: RunRecord) => {
      calls.push(`spool ${r.run_id}`);
    },
  } as unknown as InfluxSink;
  return { sink, calls };
}

const rec = (id: string, error?: string) =>
  ({ run_id: id, status: error ? 'failed' : 'completed', error }) as RunRecord;

test('a finished run is sent; one the interruption ended is spooled, not sent; none is handed over twice', async () => {
  const { sink, calls } = fakeSink();
  const s = sessionSink(sink, '/results/session');
  await s.onRecord(rec('a'), '/results/session/a');
  await s.onRecord(rec('b', 'runner interrupted by SIGHUP during the run; migration failed'), '/results/session/b');
  // the interruption: b was handed over already, c never reached onRecord (exit came first)
  await s.onInterrupted([rec('a'), rec('b', 'x'), rec('c', 'runner interrupted by SIGINT during the run')]);
  assert.deepEqual(calls, ['send a', 'spool b', 'spool c']);
});

test('writeFileAtomic: the content lands whole, no temporary file stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pofbench-atomic-'));
  try {
    const path = join(dir, 'run.json');
    await writeFileAtomic(path, '{"a":1}\n');
    await writeFileAtomic(path, '{"b":2}\n');
    assert.equal(readFileSync(path, 'utf8'), '{"b":2}\n');
    assert.deepEqual(readdirSync(dir), ['run.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
