/**
 * Block number → the key of its indexed content: a segmented linear-probing table (see
 * `slots.ts`) of 12-byte slots in one Uint32Array per segment: [block, hash prefix, fingerprint].
 * Deletion shifts later entries back (no tombstones). No per-entry JS objects.
 */
import {
  SEGMENTS,
  MIN_CAPACITY,
  MAX_LOAD,
  capacityFor,
  home,
  homeScale,
  mix32,
  needsRebuild,
  segmentOf,
} from './slots.js';

/** Marks an empty slot; also the one block number the index cannot hold. */
export const NO_BLOCK = 0xffffffff;
/** Uint32 words per slot. */
export const STRIDE = 3;
/** Offsets in a slot. */
export const HASH_PREFIX = 1;
export const FINGERPRINT = 2;

class Segment {
  slots: Uint32Array;
  scale: number;
  live = 0;
  constructor(public capacity: number) {
    this.slots = new Uint32Array(capacity * STRIDE).fill(NO_BLOCK);
    this.scale = homeScale(capacity);
  }
}

export class BlockTable {
  private readonly segments: Segment[] = Array.from({ length: SEGMENTS }, () => new Segment(MIN_CAPACITY));
  /** Blocks held. */
  size = 0;
  /** The slots `locate` last found a block in: its hash prefix at +HASH_PREFIX, fingerprint at +FINGERPRINT. */
  data: Uint32Array = this.segments[0].slots;

  /** Index in `data` of the block's slot, or -1. */
  locate(block: number): number {
    return this.locateHashed(block, mix32(block));
  }

  /** `locate` with the block's hash, `mix32(block)`. */
  private locateHashed(block: number, h: number): number {
    const s = this.segments[segmentOf(h)];
    const slots = s.slots;
    const end = s.capacity * STRIDE;
    let j = home(h, s.scale) * STRIDE;
    for (;;) {
      const b = slots[j];
      if (b === block) {
        this.data = slots;
        return j;
      }
      if (b === NO_BLOCK) return -1;
      j += STRIDE;
      if (j === end) j = 0;
    }
  }

  /** Adds a block the table does not hold (check with `locate`). */
  insert(block: number, hashPrefix: number, fingerprint: number): void {
    const h = mix32(block);
    const s = this.segments[segmentOf(h)];
    place(s, home(h, s.scale) * STRIDE, block, hashPrefix, fingerprint);
    s.live++;
    this.size++;
    if (s.live > MAX_LOAD * s.capacity) rebuild(s);
  }

  /** Drops a block; later entries of its run move back into the gap. */
  remove(block: number): boolean {
    const h = mix32(block);
    const s = this.segments[segmentOf(h)];
    const slots = s.slots;
    const end = s.capacity * STRIDE;
    let j = home(h, s.scale) * STRIDE;
    for (let b = slots[j]; b !== block; b = slots[j]) {
      if (b === NO_BLOCK) return false;
      j += STRIDE;
      if (j === end) j = 0;
    }
    let hole = j;
    for (;;) {
      j += STRIDE;
      if (j === end) j = 0;
      const b = slots[j];
      if (b === NO_BLOCK) break;
      const k = home(mix32(b), s.scale) * STRIDE;
      // the entry at j may fill the hole unless its home lies (cyclically) in (hole, j]
      if (hole <= j ? k <= hole || k > j : k <= hole && k > j) {
        slots.copyWithin(hole, j, j + STRIDE);
        hole = j;
      }
    }
    slots[hole] = NO_BLOCK;
    s.live--;
    this.size--;
    if (needsRebuild(s.live, s.capacity)) rebuild(s);
    return true;
  }

  /** Blocks held, in no particular order (do not change the table while iterating). */
  *blocks(): Generator<number> {
    for (const s of this.segments) {
      const slots = s.slots;
      for (let j = 0; j < slots.length; j += STRIDE) if (slots[j] !== NO_BLOCK) yield slots[j];
    }
  }

  /** Bytes of typed arrays held. */
  get bytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.slots.byteLength;
    return n;
  }
}

/** Puts an entry in the first free slot from index j on. */
function place(s: Segment, j: number, block: number, hashPrefix: number, fingerprint: number): void {
  const slots = s.slots;
  const end = s.capacity * STRIDE;
  while (slots[j] !== NO_BLOCK) {
    j += STRIDE;
    if (j === end) j = 0;
  }
  slots[j] = block;
  slots[j + HASH_PREFIX] = hashPrefix;
  slots[j + FINGERPRINT] = fingerprint;
}

function rebuild(s: Segment): void {
  const old = s.slots;
  const capacity = capacityFor(s.live);
  const slots = new Uint32Array(capacity * STRIDE).fill(NO_BLOCK);
  const scale = homeScale(capacity);
  const end = capacity * STRIDE;
  for (let i = 0; i < old.length; i += STRIDE) {
    const b = old[i];
    if (b === NO_BLOCK) continue;
    let j = home(mix32(b), scale) * STRIDE;
    while (slots[j] !== NO_BLOCK) {
      j += STRIDE;
      if (j === end) j = 0;
    }
    slots[j] = b;
    slots[j + HASH_PREFIX] = old[i + HASH_PREFIX];
    slots[j + FINGERPRINT] = old[i + FINGERPRINT];
  }
  s.slots = slots;
  s.capacity = capacity;
  s.scale = scale;
}
