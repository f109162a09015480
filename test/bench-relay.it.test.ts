import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runNodeRelay, runPlainRelay } from '../src/bench/relay.js';

/** Children of this process still running (the relays must be gone after each run). */
function childPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

for (const [name, run, port] of [
  ['socat', runPlainRelay, 47810],
  ['Node', runNodeRelay, 47820],
] as const) {
  test(`bench relay (${name}): every byte through the agents' hops, its CPU counted, nothing left`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pofbench-relay-test-'));
    try {
      const stream = join(dir, 'stream.bin');
      const size = 48 * 1024 * 1024 + 123;
      writeFileSync(stream, randomBytes(size));
      const r = await run(dir, stream, port);
      assert.equal(r.bytes, size);
      assert.ok(r.elapsedMs > 0);
      assert.ok(r.cpuS > 0, `the relays' CPU while moving 48 MiB is counted (got ${r.cpuS})`);
      assert.deepEqual(childPids(), [], 'no relay process left');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
