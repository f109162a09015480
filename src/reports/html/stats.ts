/** Small, pure helpers shared by the report's data extraction. */
import { STRATEGY_NAMES } from '../../scenario/types.js';

export const MiB = 1024 * 1024;

/** Keeps at most `max` items, evenly spaced, always including the first and the last. */
export function thin<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max || max < 2) return [...items];
  const step = (items.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => items[Math.round(i * step)]);
}

const KNOWN_STRATEGIES: readonly string[] = STRATEGY_NAMES;

/** Strategies in reading order: the baseline (stock) first, then pof, then others by name. */
export function orderStrategies(names: Iterable<string>): string[] {
  const rank = (s: string) => {
    const i = KNOWN_STRATEGIES.indexOf(s);
    return i < 0 ? KNOWN_STRATEGIES.length : i;
  };
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Distinct values in first-seen order. */
export const distinct = <T>(xs: Iterable<T>): T[] => [...new Set(xs)];

export const round = (x: number, digits: number): number => Number(x.toFixed(digits));
