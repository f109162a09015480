import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUpPairs, localDown } from '../../src/testbed/local/localTestbed.js';
import { buildImage, type GuestImage } from '../../src/image/build.js';
import type { TestbedSpec } from '../../src/testbed/spec.js';
import { pofbenchProcesses, pofbenchNamespaces, runLeftovers } from './leftovers.js';

/** What an integration test file gets from `useLocalTestbed` (set once its `before` hook ran). */
export interface LocalTestbedFixture {
  readonly testbed: TestbedSpec;
  /** Every host pair's testbed (pair 1 is `testbed`). */
  readonly testbeds: TestbedSpec[];
  readonly image: GuestImage;
  /** A fresh results directory for the file, removed afterwards. */
  readonly out: string;
}

/**
 * Registers the file's `before`/`after` hooks: builds (or reuses) the guest image, brings the local
 * testbed up (`pairs` host pairs; default: as many as are up), and afterwards checks what the runs left
 * (before the teardown), takes it down, removes `out` and asserts that nothing was left, and that no namespace
 * and no pofbench process (QEMU, agents, NAS views, sshd, ganesha, load generator) was left behind.
 */
export function useLocalTestbed(name: string, o: { verbose?: boolean; pairs?: number } = {}): LocalTestbedFixture {
  const fixture = { out: mkdtempSync(join(tmpdir(), `pofbench-${name}-`)) } as {
    testbed: TestbedSpec;
    testbeds: TestbedSpec[];
    image: GuestImage;
    out: string;
  };
  // what was left over before the file began (another session's) is not held against it
  let baseline = new Set<string>();
  const log = (prefix: string) => (o.verbose ? (line: string) => console.log(`${prefix}: ${line}`) : undefined);
  before(
    async () => {
      fixture.image = await buildImage({ log: log('image') });
      fixture.testbeds = await localUpPairs(log('testbed'), { pairs: o.pairs });
      fixture.testbed = fixture.testbeds[0];
      baseline = new Set(runLeftovers());
    },
    { timeout: 600_000 },
  );
  after(
    async () => {
      // what the file's runs left is looked at before the teardown (which would kill and remove it all)
      const leftBehind = runLeftovers().filter((l) => !baseline.has(l));
      await localDown();
      rmSync(fixture.out, { recursive: true, force: true });
      assert.deepEqual(leftBehind, [], 'no run left a process, link cap, RAM dump or NAS copy behind');
      assert.deepEqual(pofbenchNamespaces(), [], 'no namespace left');
      assert.deepEqual(
        pofbenchProcesses(),
        [],
        'no process left (QEMU, agents, NAS views, sshd, ganesha, load generator)',
      );
    },
    { timeout: 120_000 },
  );
  return fixture;
}
