import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retentionDecisions } from '../src/results/prune.js';
import type { SessionManifest, SessionSummary } from '../src/results/session.js';

/** Retention of sessions (`pofbench results prune`, the nightly's last step). */

const session = (day: number, status: SessionManifest['status'] = 'completed'): SessionSummary => ({
  dir: `/r/2026-12-${day}`,
  manifest: {
    session_id: `s${day}`,
    status,
    started_at: `2026-12-${String(day).padStart(2, '0')}T01:30:00Z`,
  } as SessionManifest,
  completed: 1,
  failed: 0,
  warmups: 0,
  unreadable: [],
});
const now = new Date('2026-12-20T12:00:00Z');
const removed = (d: ReturnType<typeof retentionDecisions>) =>
  d
    .filter((x) => x.remove)
    .map((x) => x.session_id)
    .sort();

test('keep the newest N; with a maximum age only older sessions go; running and unreadable ones stay', () => {
  const all = [session(1), session(5), session(10), session(15), session(19), session(3, 'running')];
  assert.deepEqual(removed(retentionDecisions(all, { keep: 2 }, now)), ['s1', 's10', 's5']);
  assert.ok(retentionDecisions(all, { keep: 2 }, now).some((d) => d.session_id === 's3' && d.why === 'still running'));
  // the last 7 days stay whatever N says; a session still "running" after 7 days is a dead runner's
  assert.deepEqual(removed(retentionDecisions(all, { keep: 1, maxAgeDays: 7 }, now)), ['s1', 's10', 's3', 's5']);
  assert.deepEqual(removed(retentionDecisions(all, { keep: 0, maxAgeDays: 30 }, now)), []);
  const odd: SessionSummary = {
    dir: '/r',
    problem: 'runs outside any session',
    completed: 3,
    failed: 0,
    warmups: 0,
    unreadable: [],
  };
  const d = retentionDecisions([...all, odd], { keep: 0 }, now).find((x) => x.dir === '/r');
  assert.equal(d?.remove, false, 'never the root or a directory without a readable manifest');
});
