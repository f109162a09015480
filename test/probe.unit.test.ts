import { test } from 'node:test';
import assert from 'node:assert/strict';
import { largestGap, type ProbeReply } from '../src/metrics/probe.js';

const at = (...ts: number[]): ProbeReply[] => ts.map((t, i) => ({ t, seq: i, rttMs: 0.1 }));

test('largest gap inside the window, counting from the last reply before it', () => {
  const replies = at(0, 10, 20, 30, 250, 260, 270);
  assert.deepEqual(largestGap(replies, 25, 300), { gapMs: 220, startMs: 30 });
});

test('a window with steady replies has a small gap', () => {
  const replies = at(...Array.from({ length: 100 }, (_, i) => i * 10));
  assert.equal(largestGap(replies, 100, 900).gapMs, 10);
});

test('no reply after the window start: the gap runs to the end of the window', () => {
  assert.deepEqual(largestGap(at(0, 10), 15, 500), { gapMs: 490, startMs: 10 });
});

test('stops at the first reply at or after the window end', () => {
  assert.equal(largestGap(at(0, 100, 1000), 50, 100).gapMs, 100);
});
