/**
 * Pareto front over items with several numeric objectives.
 *
 * All objectives are minimised. `a` dominates `b` when `a` is no worse than
 * `b` on every objective and strictly better on at least one. Items whose
 * values are identical do not dominate each other (both stay on the front).
 * A non-finite value (NaN) makes an item incomparable on that objective: it
 * can neither dominate nor be dominated through it, so such items are only
 * compared where every objective is a number.
 */

/** All objectives are minimised. */
export interface ParetoResult<T> {
  front: T[];
  dominated: { item: T; by: T[] }[];
}

/** True when objective vector `a` dominates `b` (minimisation). */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) {
    throw new Error(`objective vectors differ in length (${a.length} vs ${b.length})`);
  }
  let strictlyBetter = false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (Number.isNaN(x) || Number.isNaN(y)) return false;
    if (x > y) return false;
    if (x < y) strictlyBetter = true;
  }
  return strictlyBetter;
}

/**
 * Splits `items` into the non-dominated front and the dominated ones, each
 * dominated item listing every item that dominates it. Input order is kept
 * in both lists.
 */
export function paretoFront<T>(items: T[], values: (item: T) => number[]): ParetoResult<T> {
  const vecs = items.map((it) => values(it));
  const front: T[] = [];
  const dominated: { item: T; by: T[] }[] = [];
  for (let i = 0; i < items.length; i++) {
    const by: T[] = [];
    for (let j = 0; j < items.length; j++) {
      if (i !== j && dominates(vecs[j], vecs[i])) by.push(items[j]);
    }
    if (by.length === 0) front.push(items[i]);
    else dominated.push({ item: items[i], by });
  }
  return { front, dominated };
}
