import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeRun } from '../src/faults/judge.js';
import type { RunRecord } from '../src/results/record.js';

const killAgent = { expect: 'fail' as const, reason: /^migration failed/ };
const injected = { did: 'killed the source agent', point: { sentBytes: 70 << 20, ramBytes: 256 << 20, ms: 3000 } };
const rec = (r: Partial<RunRecord>) =>
  ({ run_id: 'r', status: 'failed', src_vm_status_after: 'running', ...r }) as RunRecord;

test('a fault that must fail: the expected reason, source running, injected mid-stream → ok', () => {
  const v = judgeRun(killAgent, rec({ error: 'migration failed: Unable to write to socket' }), injected);
  assert.deepEqual(v.problems, []);
  assert.match(v.observed, /at 70 of 256 MiB RAM sent/);
});

test('any other failure is not the fault: a guest that never booted does not pass', () => {
  const v = judgeRun(killAgent, rec({ error: 'guest did not boot on src within 60 s' }), {
    error: 'the run never migrated',
  });
  assert.equal(v.ok, false);
  assert.ok(v.problems.some((p) => /not injected/.test(p)));
  assert.ok(v.problems.some((p) => /expected reason/.test(p)));
});

test('not injected (skipped), the run completes: NOT OK, saying both', () => {
  const v = judgeRun(killAgent, rec({ status: 'completed', ram_identical: true }), { error: 'skipped' });
  assert.equal(v.ok, false);
  assert.equal(v.problems.length, 2);
});

test('no run.json on disk is never ok; a source VM not running after a failure is not clean', () => {
  assert.equal(judgeRun(killAgent, undefined, injected).ok, false);
  const v = judgeRun(killAgent, rec({ error: 'migration failed: x', src_vm_status_after: 'gone' }), injected);
  assert.deepEqual(v.problems, ['source VM gone after the failure (expected running)']);
});
