import { UserError } from '../util/errors.js';
import { mulberry32 } from '../util/prng.js';

/** A seed when none is given: from the clock (printed, so the order can be reproduced with --seed). */
export function defaultSeed(now: number = Date.now()): number {
  return (Math.floor(now) % 0x100000000) >>> 0;
}

/** Parses --seed: an integer 0 .. 2^32-1. */
export function parseSeed(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n > 0xffffffff) {
    throw new UserError(`--seed must be an integer from 0 to 4294967295, got "${text}"`);
  }
  return n;
}

/** The run order's PRNG (mulberry32). */
export const rng = mulberry32;

/** A Fisher–Yates shuffle of a copy of `items`, deterministic by `seed`. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const next = rng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Which runs of `ordered` are warm-up runs: the first `n` of each group in execution order,
 * counting `alreadyDone(group)` runs finished earlier (a resumed session) as the first ones.
 */
export function markWarmups<T>(
  ordered: readonly T[],
  group: (t: T) => string,
  n: number,
  alreadyDone: (group: string) => number = () => 0,
): boolean[] {
  const seen = new Map<string, number>();
  return ordered.map((t) => {
    const g = group(t);
    const k = seen.get(g) ?? alreadyDone(g);
    seen.set(g, k + 1);
    return k < n;
  });
}
