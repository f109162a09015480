import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localUpPairs, localDown } from '../../src/testbed/local/localTestbed.js';
import { buildImage, type GuestImage } from '../../src/image/build.js';
import type { TestbedSpec } from '../../src/testbed/spec.js';
import { pofbenchProcesses, pofbenchNamespaces } from './leftovers.js';

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
 * testbed up (`pairs` host pairs; default: as many as are up), and afterwards takes it down, removes
 * `out` and asserts that no namespace and no pofbench process (QEMU, agents, NAS views, sshd, ganesha,
 * load generator) was left behind.
 */
export function useLocalTestbed(name: string, o: { verbose?: boolean; pairs?: number } = {}): LocalTestbedFixture {
  const fixture = { out: mkdtempSync(join(tmpdir(), `pofbench-${name}-`)) } as {
    testbed: TestbedSpec;
    testbeds: TestbedSpec[];
    image: GuestImage;
    out: string;
  };
  const log = (prefix: string) => (o.verbose ? (line: string) => console.log(`${prefix}: ${line}`) : undefined);
  before(
    async () => {
      fixture.image = await buildImage({ log: log('image') });
      fixture.testbeds = await localUpPairs(log('testbed'), { pairs: o.pairs });
      fixture.testbed = fixture.testbeds[0];
    },
    { timeout: 600_000 },
  );
  after(
    async () => {
      await localDown();
      rmSync(fixture.out, { recursive: true, force: true });
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
