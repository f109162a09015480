import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clockProblem } from '../src/testbed/preflight.js';

test('clock check: only an offset beyond the limit even at the near end of the round trip fails', () => {
  assert.equal(clockProblem({ offsetMs: 12, rttMs: 4 }, 500), undefined);
  // a loaded controller: 853 ms measured, but the host read its clock somewhere in a 1717 ms round trip
  assert.equal(clockProblem({ offsetMs: 853, rttMs: 1717 }, 500), undefined);
  assert.equal(clockProblem({ offsetMs: -600, rttMs: 300 }, 500), undefined);
  const off = clockProblem({ offsetMs: -1200, rttMs: 300 }, 500);
  assert.equal(
    off,
    "clock is -1200 ms (± 150) off the controller's (limit 500 ms; round trip 300 ms) — run chrony/NTP on every machine",
  );
  assert.match(clockProblem({ offsetMs: 501, rttMs: 0 }, 500) ?? '', /^clock is 501 ms \(± 0\) off/);
});
