import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootstrapMedianCI,
  median,
  mulberry32,
  quantile,
  quantileSorted,
  relativeChange,
  summarize,
} from '../src/analysis/stats.js';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

test('median, quartiles (type 7), IQR, min, max of [3, 1, 2, 10]', () => {
  // sorted 1 2 3 10; h = 3p: p=.25 -> 1 + .75*(2-1) = 1.75; p=.5 -> 2 + .5*(3-2) = 2.5; p=.75 -> 3 + .25*(10-3) = 4.75
  assert.equal(median([3, 1, 2, 10]), 2.5);
  assert.deepEqual(summarize([3, 1, 2, 10]), { n: 4, median: 2.5, q1: 1.75, q3: 4.75, iqr: 3, min: 1, max: 10 });
});

test('odd n, single value and arbitrary probabilities', () => {
  // sorted 1 4 7; h = 2p: q1 = 1 + .5*3 = 2.5, q3 = 4 + .5*3 = 5.5
  assert.deepEqual(summarize([7, 1, 4]), { n: 3, median: 4, q1: 2.5, q3: 5.5, iqr: 3, min: 1, max: 7 });
  assert.deepEqual(summarize([5]), { n: 1, median: 5, q1: 5, q3: 5, iqr: 0, min: 5, max: 5 });
  assert.equal(quantile([50, 10, 40, 20, 30], 0.1), 14); // h = 0.4 -> 10 + .4*10
  assert.equal(quantile([50, 10, 40, 20, 30], 0), 10);
  assert.equal(quantile([50, 10, 40, 20, 30], 1), 50);
  assert.equal(quantileSorted([0, 100], 0.975), 97.5);
  assert.equal(median([1, 2, 3, 4, 100]), 3);
});

test('empty or non-finite samples are rejected', () => {
  assert.throws(() => median([]), /empty/);
  assert.throws(() => summarize([1, Number.NaN]), /non-finite/);
  assert.throws(() => quantile([1, 2], 1.5), /probability/);
});

test('mulberry32 matches the reference implementation', () => {
  // the widely used reference (Tommy Ettinger's mulberry32, as commonly written in JS)
  function reference(a: number) {
    return () => {
      a |= 0;
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  for (const seed of [0, 1, 42, 0xdeadbeef]) {
    const a = mulberry32(seed);
    const b = reference(seed);
    for (let i = 0; i < 20; i++) {
      const x = a();
      assert.equal(x, b());
      assert.ok(x >= 0 && x < 1);
    }
  }
});

test('bootstrap CI of the median is the percentile interval of resampled medians, reproducible by seed', () => {
  const xs = [3, 1, 2, 10, 7];
  // by hand: 3 resamples drawn from mulberry32(7), level 0.5 -> type 7 quantiles .25 and .75 of 3 medians
  const rand = mulberry32(7);
  const meds: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = Array.from({ length: xs.length }, () => xs[Math.floor(rand() * xs.length)]);
    meds.push(median(s));
  }
  meds.sort((a, b) => a - b);
  const expected: [number, number] = [(meds[0] + meds[1]) / 2, (meds[1] + meds[2]) / 2];
  assert.deepEqual(bootstrapMedianCI(xs, { resamples: 3, level: 0.5, seed: 7 }), expected);

  const ci = bootstrapMedianCI(xs, { seed: 123 });
  assert.deepEqual(bootstrapMedianCI(xs, { seed: 123 }), ci, 'same seed, same interval');
  assert.ok(ci[0] <= median(xs) && median(xs) <= ci[1]);
  assert.ok(ci[0] >= 1 && ci[1] <= 10, 'inside [min, max]');
  assert.deepEqual(bootstrapMedianCI([4, 4, 4]), [4, 4]);
  assert.deepEqual(bootstrapMedianCI([9]), [9, 9]);
  // a sample of two values: resampled medians are 1, 1.5 or 2 -> the 95 % interval is [1, 2]
  assert.deepEqual(bootstrapMedianCI([1, 2]), [1, 2]);
});

test('relative change: a clear drop is outside the noise', () => {
  const rc = relativeChange([100, 100, 100], [80, 80, 80]);
  close(rc.change!, -0.2);
  close(rc.ci![0], -0.2);
  close(rc.ci![1], -0.2);
  assert.equal(rc.within_noise, false);
  assert.equal(rc.note, undefined);

  const noisy = relativeChange([100, 102, 98, 101, 99], [50, 51, 49, 52, 48], { seed: 3 });
  assert.equal(noisy.change, -0.5);
  assert.ok(noisy.ci![0] <= -0.5 && -0.5 <= noisy.ci![1]);
  assert.ok(noisy.ci![1] < 0);
  assert.equal(noisy.within_noise, false);
  assert.deepEqual(relativeChange([100, 102, 98, 101, 99], [50, 51, 49, 52, 48], { seed: 3 }), noisy, 'reproducible');
});

test('relative change: an interval containing 0 is within the noise', () => {
  const rc = relativeChange([90, 100, 110], [95, 100, 105]);
  assert.equal(rc.change, 0);
  assert.ok(rc.ci![0] < 0 && rc.ci![1] > 0);
  assert.equal(rc.within_noise, true);
  assert.equal(rc.note, 'within noise');
});

test('relative change: fewer than 3 runs on a side is "n too small" even with a clear difference', () => {
  const rc = relativeChange([1, 2], [3, 4, 5]);
  close(rc.change!, 4 / 1.5 - 1);
  assert.equal(rc.within_noise, true);
  assert.equal(rc.note, 'n too small');
  assert.equal(rc.n_a, 2);
  assert.equal(rc.n_b, 3);
  assert.deepEqual(relativeChange([], [1, 2, 3]), {
    n_a: 0,
    n_b: 3,
    change: null,
    ci: null,
    within_noise: true,
    note: 'n too small',
  });
});

test('relative change against a zero baseline median is undefined', () => {
  const rc = relativeChange([0, 0, 0], [1, 2, 3]);
  assert.equal(rc.change, null);
  assert.equal(rc.ci, null);
  assert.equal(rc.note, 'baseline median is 0');
  const near = relativeChange([48, 50, 52], [600e6, 601e6, 602e6], { resamples: 100 });
  assert.equal(near.change, null, 'no percentage against a near-zero baseline');
  assert.equal(near.note, 'baseline near 0');
});

test('a bootstrap interval whose resamples hit a zero baseline ends at +Infinity, not NaN', () => {
  // the bootstrap statistics are sorted ratios; two +Infinity at the upper quantile used to interpolate to NaN
  assert.equal(quantileSorted([1, 2, Infinity, Infinity], 0.975), Infinity);
  assert.equal(quantileSorted([1, 5, Infinity], 0.5), 5, 'exactly on a value');
  assert.equal(quantileSorted([-Infinity, -Infinity, 3], 0.25), -Infinity);
  // stock's NFS server: 0.01 s median, some runs 0 (a third of the resampled medians are 0); pof ~0.84 s
  const r = relativeChange([0, 0.01, 0.01], [0.84, 0.8, 0.9]);
  assert.ok(r.ci !== null);
  assert.equal(r.ci[1], Infinity, `upper bound ${r.ci[1]}`);
  assert.ok(Number.isFinite(r.ci[0]) && r.ci[0] > 0, `lower bound ${r.ci[0]}`);
});
