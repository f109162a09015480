/**
 * What the block index's open-addressing tables (`BlockTable`, `ContentTable`) share: hashing, and
 * the segment and load rules.
 *
 * Each table is split into `SEGMENTS` segments by the top bits of a key's 32-bit hash; a segment is
 * a plain linear-probing table in typed arrays that grows and shrinks on its own. Growing one
 * segment at a time keeps the copy made while rebuilding, and the pause it makes, to 1/256 of the
 * table, and every ArrayBuffer far below the runtime's limit (64 M blocks make segments of ~4 MB;
 * the largest possible index, 2^32 blocks, ~250 MB). A segment is rebuilt when its entries pass
 * `MAX_LOAD` of its capacity and is then sized to hold them at `REBUILT_LOAD`; so, while an index
 * grows, its slots are 80-90 % full (memory per entry = slot size / load). Capacities need not be
 * powers of two: a key's first slot is its hash scaled to the capacity ("fastrange"). Both tables
 * delete by shifting later entries back (no tombstones), and neither needs the other to rebuild a
 * segment.
 */

export const SEGMENT_BITS = 8;
export const SEGMENTS = 1 << SEGMENT_BITS;
/** Hash bits below the segment bits: where a key's probe starts in its segment. */
export const HOME_BITS = 32 - SEGMENT_BITS;
const HOME_MASK = 2 ** HOME_BITS - 1;

export const MIN_CAPACITY = 16;
/** A segment is rebuilt when its entries pass this share of its capacity... */
export const MAX_LOAD = 0.9;
/** ...to a capacity that holds them at this load... */
export const REBUILT_LOAD = 0.8;
/** ...and also when deletions take its entries below this share. */
export const MIN_LOAD = 0.6;

/** MurmurHash3's 32-bit finalizer: a bijection that spreads every input bit over the output. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Segment of a 32-bit hash. */
export function segmentOf(h: number): number {
  return h >>> HOME_BITS;
}

/** `scale` for `home` in a segment of this capacity. */
export function homeScale(capacity: number): number {
  return capacity / 2 ** HOME_BITS;
}

/** First slot of a 32-bit hash's probe in a segment (0 <= home < capacity). */
export function home(h: number, scale: number): number {
  return ((h & HOME_MASK) * scale) | 0;
}

/** Capacity a rebuilt segment gets for this many entries. */
export function capacityFor(entries: number): number {
  return Math.max(MIN_CAPACITY, Math.ceil(entries / REBUILT_LOAD));
}

/** Whether a segment should be rebuilt (grown or shrunk). */
export function needsRebuild(live: number, capacity: number): boolean {
  return live > MAX_LOAD * capacity || (capacity > MIN_CAPACITY && live < MIN_LOAD * capacity);
}
