import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plannedImageLayout } from '../src/image/layout.js';
import { planDataset } from '../src/image/dataset.js';
import { checkScenarioWorkloads } from '../src/workload/check.js';
import type { Scenario } from '../src/scenario/types.js';
import { UserError } from '../src/util/errors.js';

/** The workload checks `pofbench run` makes before the image build, testbed and preflight. */

const MiB = 1024 * 1024;

test('the planned image layout has the dataset the build writes, and a data disk no bigger than its first try', () => {
  const l = plannedImageLayout(640);
  assert.equal(l.dataset.totalBytes, 640 * MiB);
  assert.equal(l.dataset.files.length, planDataset(640).length);
  assert.equal(l.dataset.files[0].path, '/data/dataset/f0001.bin');
  // dataset + max(64 MiB, 15 %) free + 3 % + 16 MiB, rounded up to MiB (buildDataDisk's first size)
  assert.equal(l.dataDiskBytes, Math.ceil((640 * MiB + 96 * MiB + Math.ceil(640 * MiB * 0.03) + 16 * MiB) / MiB) * MiB);
  assert.throws(() => plannedImageLayout(0), UserError);
});

const scenario = (over: Partial<Scenario> & { workload: Scenario['workload'] }): Scenario =>
  ({ name: 'big', file: '/s/big.yaml', guest: { memory_mib: 256, vcpus: 1, boot_timeout_s: 60 }, ...over }) as Scenario;

test('a 400 MiB dataset in a 256 MiB guest is refused naming the scenario file; what fits passes', () => {
  const layout = plannedImageLayout(640);
  const big = scenario({
    workload: { type: 'pagecache', dataset_mib: 400, warmup_s: 1, ready_timeout_s: 60, reread_interval_s: 1 },
  });
  assert.throws(
    () => checkScenarioWorkloads([big], layout),
    (e: unknown) =>
      e instanceof UserError &&
      e.message ===
        'scenario /s/big.yaml (big): workload.dataset_mib 400 does not fit in the page cache of a 256 MiB guest',
  );
  const swept = { ...big, config_id: 'dataset_mib=400' };
  assert.throws(() => checkScenarioWorkloads([swept], layout), /\(big, sweep config dataset_mib=400\)/);
  // larger than the dataset the image will hold (--dataset-mib 128)
  const fits = scenario({
    workload: { type: 'pagecache', dataset_mib: 200, warmup_s: 1, ready_timeout_s: 60, reread_interval_s: 1 },
    guest: { memory_mib: 1024, vcpus: 1, boot_timeout_s: 60 },
  });
  checkScenarioWorkloads([fits], layout);
  assert.throws(() => checkScenarioWorkloads([fits], plannedImageLayout(128)), /larger than the image's dataset/);
  // --verify-ram runs without a NIC: the web workload cannot
  const web = scenario({ workload: { type: 'web' } as unknown as Scenario['workload'] });
  assert.throws(() => checkScenarioWorkloads([web], layout, { verifyRam: true }), /--verify-ram runs guests without/);
});
