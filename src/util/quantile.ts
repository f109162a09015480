/**
 * Quantiles of a sample, linear interpolation between order statistics (Hyndman & Fan type 7, the
 * default of R and NumPy): for sorted x[0..n-1] and probability p, h = (n-1)p and
 * Q(p) = x[floor(h)] + (h - floor(h)) (x[floor(h)+1] - x[floor(h)]). The median is Q(0.5).
 */

/** Refuses an empty sample or one with a non-finite value (`what` names the statistic in the error). */
export function checkSample(xs: ArrayLike<number>, what: string): void {
  if (xs.length === 0) throw new Error(`${what} of an empty sample`);
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) throw new Error(`${what}: sample contains a non-finite value (${xs[i]})`);
  }
}

/** Type 7 quantile of an already sorted (ascending) sample. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new Error('quantile of an empty sample');
  if (!(p >= 0 && p <= 1)) throw new Error(`quantile probability must be in [0, 1], got ${p}`);
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  // exactly on a value, or between equal ones: that value (Infinity - Infinity would make NaN of a bootstrap
  // interval whose resamples hit a zero baseline)
  if (h === lo || sorted[lo] === sorted[hi]) return sorted[lo];
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** The median (type 7 at 0.5: the middle value, or the mean of the middle two). */
export function median(xs: readonly number[]): number {
  checkSample(xs, 'median');
  return quantileSorted(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
}
