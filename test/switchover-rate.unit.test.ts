import { test } from 'node:test';
import assert from 'node:assert/strict';
import { followedRate, SwitchoverRate } from '../src/qemu/switchoverRate.js';
import type { MigrateInfo } from '../src/qemu/qmp.js';

const MBIT = 1e6 / 8;

test('followedRate: the lower of the cap and the estimate, changes under 5 % kept back, no estimate leaves it', () => {
  const cap = 933 * MBIT;
  assert.equal(followedRate(cap, cap, 0), undefined, 'first period: no estimate yet');
  assert.equal(followedRate(cap, cap, 1500), undefined, 'references: the logical rate is above the cap');
  assert.equal(followedRate(cap, cap, 120), 120 * MBIT, 'zero pages: QEMU estimates low, so does stock');
  assert.equal(followedRate(cap, 120 * MBIT, 124), undefined, 'within 5 % of what is in effect');
  assert.equal(followedRate(cap, 120 * MBIT, 2000), cap, 'back up, never past the cap');
  assert.equal(followedRate(cap, cap, 1e-9), 1, 'never 0 (QEMU reads 0 as "use your estimate")');
});

test('SwitchoverRate: sets the rate while migrating (active), counts changes, keeps what the stop saw', async () => {
  const sent: unknown[] = [];
  const qmp = {
    execute: async <T>(command: string, args?: Record<string, unknown>): Promise<T> => {
      sent.push([command, args]);
      return {} as T;
    },
  };
  const cap = 933 * MBIT;
  const rate = new SwitchoverRate(qmp, cap);
  const sample = (status: string, mbps: number) => ({ status, ram: { mbps } }) as unknown as MigrateInfo;
  await rate.onSample(sample('setup', 0));
  await rate.onSample(sample('active', 0));
  await rate.onSample(sample('active', 950));
  await rate.onSample(sample('active', 250));
  await rate.onSample(sample('active', 940));
  await rate.onSample(sample('device', 10));
  await rate.onSample(sample('completed', 10));
  assert.deepEqual(sent, [
    ['migrate-set-parameters', { 'avail-switchover-bandwidth': 250 * MBIT }],
    ['migrate-set-parameters', { 'avail-switchover-bandwidth': cap }],
  ]);
  assert.equal(rate.updates, 2);
  assert.equal(rate.lowest, 250 * MBIT);
  assert.equal(rate.atLastActive, cap);
});
