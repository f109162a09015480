/**
 * Fingerprint → count: a small linear-probing table (power-of-two capacity, at most half full) for
 * the content table's "hot" fingerprints. A count of 0 marks an empty slot.
 */
import { mix32 } from './slots.js';

export class FpCounts {
  private keys = new Uint32Array(16);
  counts = new Uint32Array(16);
  private mask = 15;
  /** Fingerprints held. */
  size = 0;

  /** Slot of a fingerprint (its count is `counts[slot]`), or -1. */
  find(fp: number): number {
    const { keys, counts, mask } = this;
    for (let i = mix32(fp) & mask; ; i = (i + 1) & mask) {
      if (counts[i] === 0) return -1;
      if (keys[i] === fp) return i;
    }
  }

  /** Adds a fingerprint it does not hold, with a count >= 1. */
  add(fp: number, count: number): void {
    if (count < 1) throw new RangeError('FpCounts.add: count must be >= 1');
    if (2 * (this.size + 1) > this.keys.length) this.grow();
    let i = mix32(fp) & this.mask;
    while (this.counts[i] !== 0) i = (i + 1) & this.mask;
    this.keys[i] = fp;
    this.counts[i] = count;
    this.size++;
  }

  /** Lowers the count at a slot; drops the fingerprint at 0 (later entries of its run move back). */
  decrement(slot: number): void {
    if (--this.counts[slot] > 0) return;
    const { keys, counts, mask } = this;
    let hole = slot;
    for (let j = (slot + 1) & mask; counts[j] !== 0; j = (j + 1) & mask) {
      const k = mix32(keys[j]) & mask;
      if (hole <= j ? k <= hole || k > j : k <= hole && k > j) {
        keys[hole] = keys[j];
        counts[hole] = counts[j];
        hole = j;
      }
    }
    counts[hole] = 0;
    this.size--;
  }

  get bytes(): number {
    return this.keys.byteLength + this.counts.byteLength;
  }

  private grow(): void {
    const { keys, counts } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.counts = new Uint32Array(keys.length * 2);
    this.mask = keys.length * 2 - 1;
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (counts[i] !== 0) this.add(keys[i], counts[i]);
  }
}
