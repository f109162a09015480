/**
 * Descriptive statistics for small samples of repeated runs, and seeded bootstrap intervals.
 *
 * Quantiles use linear interpolation between order statistics (Hyndman & Fan type 7, the default
 * of R and NumPy): for sorted x[0..n-1] and probability p, h = (n-1)p and
 * Q(p) = x[floor(h)] + (h - floor(h)) (x[floor(h)+1] - x[floor(h)]).
 *
 * Bootstrap intervals are percentile intervals: resample with replacement `resamples` times from a
 * mulberry32 PRNG seeded with `seed`, take the statistic of each resample, and report the type 7
 * quantiles (1-level)/2 and (1+level)/2 of those. Same input + same seed = same interval.
 */
import { mulberry32 } from '../util/prng.js';
import { checkSample, median, quantileSorted } from '../util/quantile.js';

export interface BootstrapOptions {
  /** Number of bootstrap resamples (default 2000). */
  resamples?: number;
  /** Confidence level in (0, 1) (default 0.95). */
  level?: number;
  /** PRNG seed (default 1). */
  seed?: number;
}

export const DEFAULT_RESAMPLES = 2000;
export const DEFAULT_LEVEL = 0.95;
export const DEFAULT_SEED = 1;
/** Fewer runs than this in either group and a change is never called significant. */
export const MIN_RUNS_FOR_CHANGE = 3;

export interface Summary {
  n: number;
  median: number;
  q1: number;
  q3: number;
  /** q3 - q1 */
  iqr: number;
  min: number;
  max: number;
}

export interface RelativeChange {
  /** median(B) / median(A) - 1; null when median(A) is 0. */
  change: number | null;
  /** Bootstrap percentile interval of the change; null when it cannot be computed. */
  ci: [number, number] | null;
  /** True when the interval contains 0, or when either group is too small to tell. */
  within_noise: boolean;
  /** Why the change is (or is not) within the noise, e.g. "n too small". */
  note?: string;
  n_a: number;
  n_b: number;
}

export { mulberry32, median, quantileSorted };

const ascending = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

/** Type 7 quantile of `xs`. */
export function quantile(xs: readonly number[], p: number): number {
  checkSample(xs, 'quantile');
  return quantileSorted(ascending(xs), p);
}

/**
 * Outliers by the median absolute deviation: values further than 3 scaled MADs (1.4826 x MAD, the
 * normal-consistent scale) from the median. None when the MAD is 0 or there are fewer than 3 values.
 */
export function madOutliers(xs: readonly number[]): number[] {
  if (xs.length < 3) return [];
  const m = median(xs);
  const mad = median(xs.map((x) => Math.abs(x - m)));
  if (mad === 0) return [];
  return xs.filter((x) => Math.abs(x - m) > 3 * 1.4826 * mad);
}

/** Fewer runs than this per group: the spread and the changes are flagged as not trustworthy. */
export const MIN_RUNS_TRUSTED = 5;

/** n, median, quartiles (type 7), IQR, min and max. */
export function summarize(xs: readonly number[]): Summary {
  checkSample(xs, 'summary');
  const s = ascending(xs);
  const q1 = quantileSorted(s, 0.25);
  const q3 = quantileSorted(s, 0.75);
  return { n: s.length, median: quantileSorted(s, 0.5), q1, q3, iqr: q3 - q1, min: s[0], max: s[s.length - 1] };
}

function options(o: BootstrapOptions | undefined): Required<BootstrapOptions> {
  const resamples = o?.resamples ?? DEFAULT_RESAMPLES;
  const level = o?.level ?? DEFAULT_LEVEL;
  const seed = o?.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new Error(`resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new Error(`level must be in (0, 1), got ${level}`);
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  return { resamples, level, seed };
}

/** Median of one resample (with replacement) of `xs`, drawn from `rand`; `buf` is scratch of xs.length. */
function resampledMedian(xs: readonly number[], rand: () => number, buf: Float64Array): number {
  const n = xs.length;
  for (let i = 0; i < n; i++) buf[i] = xs[Math.floor(rand() * n)];
  buf.sort();
  return quantileSorted(buf, 0.5);
}

function percentileInterval(stats: Float64Array, level: number): [number, number] {
  stats.sort();
  return [quantileSorted(stats, (1 - level) / 2), quantileSorted(stats, (1 + level) / 2)];
}

/** Bootstrap percentile interval of the median of `xs`, reproducible by seed. */
export function bootstrapMedianCI(xs: readonly number[], o?: BootstrapOptions): [number, number] {
  checkSample(xs, 'bootstrap');
  const { resamples, level, seed } = options(o);
  const rand = mulberry32(seed);
  const buf = new Float64Array(xs.length);
  const meds = new Float64Array(resamples);
  for (let i = 0; i < resamples; i++) meds[i] = resampledMedian(xs, rand, buf);
  return percentileInterval(meds, level);
}

/** b / a - 1, with 0/0 = 0 (no change) and x/0 = ±Infinity. */
function ratioChange(a: number, b: number): number {
  if (a === 0) return b === 0 ? 0 : b > 0 ? Infinity : -Infinity;
  return b / a - 1;
}

/** A baseline median under 1/1000 of the other group's is "near 0": no percentage is given. */
const NEAR_ZERO_RATIO = 1000;

/**
 * Relative change of group B against group A: median(B) / median(A) - 1, with a bootstrap
 * percentile interval (A and B resampled independently, in that order, from one seeded PRNG).
 * `within_noise` is true when the interval contains 0, or when either group has fewer than
 * MIN_RUNS_FOR_CHANGE values (note "n too small").
 */
export function relativeChange(a: readonly number[], b: readonly number[], o?: BootstrapOptions): RelativeChange {
  const base = { n_a: a.length, n_b: b.length };
  if (a.length === 0 || b.length === 0) {
    return { ...base, change: null, ci: null, within_noise: true, note: 'n too small' };
  }
  checkSample(a, 'relative change');
  checkSample(b, 'relative change');
  const { resamples, level, seed } = options(o);
  const medA = median(a);
  if (medA === 0) return { ...base, change: null, ci: null, within_noise: true, note: 'baseline median is 0' };
  // a percentage against a near-zero baseline (e.g. stock's storage-link bytes) says nothing
  if (Math.abs(medA) * NEAR_ZERO_RATIO < Math.abs(median(b)))
    return { ...base, change: null, ci: null, within_noise: false, note: 'baseline near 0' };
  const change = median(b) / medA - 1;
  const rand = mulberry32(seed);
  const bufA = new Float64Array(a.length);
  const bufB = new Float64Array(b.length);
  const changes = new Float64Array(resamples);
  for (let i = 0; i < resamples; i++) {
    const ma = resampledMedian(a, rand, bufA);
    const mb = resampledMedian(b, rand, bufB);
    changes[i] = ratioChange(ma, mb);
  }
  const ci = percentileInterval(changes, level);
  if (a.length < MIN_RUNS_FOR_CHANGE || b.length < MIN_RUNS_FOR_CHANGE) {
    return { ...base, change, ci, within_noise: true, note: 'n too small' };
  }
  const containsZero = ci[0] <= 0 && ci[1] >= 0;
  return { ...base, change, ci, within_noise: containsZero, ...(containsZero ? { note: 'within noise' } : {}) };
}
