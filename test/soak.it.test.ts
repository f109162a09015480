import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUp, localDown } from '../src/testbed/local/localTestbed.js';
import { buildImage, type GuestImage } from '../src/image/build.js';
import { connectHosts } from '../src/runner/session.js';
import type { TestbedHosts } from '../src/testbed/hosts.js';
import type { TestbedSpec } from '../src/testbed/spec.js';
import { runSoak } from '../src/soak/pingPong.js';
import { pofbenchProcesses, pofbenchNamespaces, runLeftovers } from './helpers/leftovers.js';

let testbed: TestbedSpec;
let image: GuestImage;
let hosts: TestbedHosts;
const out = mkdtempSync(join(tmpdir(), 'pofbench-soak-'));

before(
  async () => {
    image = await buildImage({});
    testbed = await localUp();
    hosts = await connectHosts(testbed);
  },
  { timeout: 600_000 },
);

after(
  async () => {
    for (const h of Object.values(hosts ?? {})) h.close();
    await localDown();
    rmSync(out, { recursive: true, force: true });
    assert.deepEqual(pofbenchNamespaces(), [], 'no namespace left');
    assert.deepEqual(pofbenchProcesses(), [], 'no process left');
  },
  { timeout: 120_000 },
);

for (const [strategy, count] of [
  ['stock', 6],
  ['pof', 4],
] as const) {
  test(`ping-pong soak (${strategy}, ${count} hops): every hop completes, the guest answers each time, nothing ` +
    `accumulates`, {
    timeout: 600_000,
  }, async () => {
    const { hops, summary } = await runSoak({
      testbed,
      hosts,
      image,
      strategy,
      count,
      memoryMib: 192,
      linkCapMbit: 0,
      outDir: out,
    });
    console.log(JSON.stringify(summary));
    assert.equal(
      summary.success_rate,
      1,
      hops
        .filter((h) => h.status !== 'completed')
        .map((h) => `hop ${h.hop}: ${h.error}`)
        .join('; '),
    );
    assert.equal(hops.length, count);
    assert.deepEqual(
      hops.map((h) => h.from),
      Array.from({ length: count }, (_, k) => (k % 2 ? 'dst' : 'src')),
      'the guest went back and forth',
    );
    assert.ok(hops.every((h) => h.guest_answers));
    assert.deepEqual(runLeftovers(), [], 'no QEMU, agent or NAS view left after the soak');
  });
}
