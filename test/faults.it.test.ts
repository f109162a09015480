import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUp, localDown } from '../src/testbed/local/localTestbed.js';
import { buildImage, type GuestImage } from '../src/image/build.js';
import type { TestbedSpec } from '../src/testbed/spec.js';
import { runFaultSuite } from '../src/faults/suite.js';
import { pofbenchProcesses, pofbenchNamespaces } from './helpers/leftovers.js';

let testbed: TestbedSpec;
let image: GuestImage;
const out = mkdtempSync(join(tmpdir(), 'pofbench-faults-'));

before(async () => {
  image = await buildImage({});
  testbed = await localUp();
}, { timeout: 600_000 });

after(async () => {
  await localDown();
  rmSync(out, { recursive: true, force: true });
  assert.deepEqual(pofbenchNamespaces(), [], 'no namespace left');
  assert.deepEqual(pofbenchProcesses(), [], 'no process left');
}, { timeout: 120_000 });

test('fault suite: every fault fails cleanly (source VM running) or completes with byte-identical RAM; nothing left running; no record lost', { timeout: 1_500_000 }, async () => {
  const rows = await runFaultSuite({ testbed, bringUp: () => localUp(), image, outDir: out, log: (l) => console.log(l) });
  for (const r of rows) console.log(`${r.ok ? 'ok    ' : 'NOT OK'} ${r.fault} (${r.strategy}): expected ${r.expected}; ${r.observed}; source VM after: ${r.src_vm_after}; leftovers: ${r.leftovers.length}${r.detail ? ` [${r.detail}]` : ''}`);
  assert.equal(rows.length, 12, 'all faults ran: 9 fault × strategy rows, InfluxDB down, runner SIGINT, runner SIGKILL');
  for (const r of rows) assert.ok(r.ok, `${r.fault} (${r.strategy}): ${r.observed} ${r.detail ?? ''} leftovers=${r.leftovers.join('; ')}`);
});
