import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { warmUpPipeline } from '../src/agent/pipelineWarmup.js';

const warmupDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('pofbench-warmup-'));
/** Open sockets, servers and files of this process (timers left out: the test runner keeps its own). */
const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'Immediate');

test('pipeline warm-up: one synthetic migration through the live source and target classes, nothing left', async () => {
  const dirsBefore = warmupDirs();
  const handlesBefore = handles();
  // the source agent's live limits: a small retention window and stream window make QEMU wait on both
  const ms = await warmUpPipeline({
    stream: { retentionLimit: 512, windowBytes: 1 << 20 },
    pump: { concurrency: 4, maxReadBlocks: 8, maxBufferedBytes: 2 << 20 },
  });
  assert.ok(ms > 0 && ms < 60_000, `took ${ms} ms`);
  // every byte came out (it throws otherwise), and its sockets, servers and temporary image are gone
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(warmupDirs(), dirsBefore);
  const added = handles();
  for (const h of handlesBefore) if (added.includes(h)) added.splice(added.indexOf(h), 1);
  assert.deepEqual(added, [], 'no socket, server or file handle of its own left open');
  // a second one in the same process works as well (the agents run one, but nothing is single-use)
  assert.ok((await warmUpPipeline()) > 0);
});
