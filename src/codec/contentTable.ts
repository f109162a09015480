/**
 * Content → indexed blocks: the block index's search by page content, a segmented linear-probing
 * table (see `slots.ts`) of 7-byte slots: the block number (Uint32Array) and 24 bits of the entry's
 * 32-bit content hash (the top 8 pick the segment): bits 8-23 (Uint16Array) and an 8-bit tag from
 * bits 0-7 (Uint8Array, 1-255; 0 = empty). The slot an entry's probe starts from is those 24 bits
 * scaled to the capacity, so rebuilding a segment and shifting entries back after a deletion need
 * nothing else; and neighbours in a run differ in their tags, which probes compare first. The
 * entry's key (fingerprint, hash prefix) itself is in the `BlockTable` slot of its block, looked up
 * ("deref") only when tag and bits 8-23 match, i.e. for a real candidate.
 *
 * The content hash: normally the fingerprint alone ("cold"), so a page whose fingerprint no indexed
 * block has is turned away by scanning tags, before any SHA-256. A fingerprint that more than
 * HOT_LIMIT blocks share (e.g. mostly-zero blocks whose sampled words agree) becomes "hot": its
 * entries are placed by fingerprint and hash prefix, so they do not pile up in one run, and a page
 * with a hot fingerprint is hashed first. Up to DUP_LIMIT blocks with the same content are
 * findable; further copies are held by the block table only (`shadows`) and are not found until
 * indexed again.
 */
import { sha256Into } from './sha256.js';
import { PAGE_SIZE } from './bytes.js';
import { type BlockTable, FINGERPRINT, HASH_PREFIX } from './blockTable.js';
import { FpCounts } from './fpCounts.js';
import { SEGMENTS, MIN_CAPACITY, capacityFor, mix32, needsRebuild, segmentOf } from './slots.js';

export const HOT_LIMIT = 8;
export const DUP_LIMIT = 16;
const EMPTY = 0;
/** Tag values (1-255). */
const TAGS = 255;
/** Values of (bits 8-23, tag) a probe's first slot is scaled from. */
const SPAN = 65536 * TAGS;

class Segment {
  tags: Uint8Array;
  mids: Uint16Array;
  blocks: Uint32Array;
  scale: number;
  live = 0;
  constructor(public capacity: number) {
    this.tags = new Uint8Array(capacity);
    this.mids = new Uint16Array(capacity);
    this.blocks = new Uint32Array(capacity);
    this.scale = capacity / SPAN;
  }
}

/** First 4 bytes of a SHA-256 key string (latin1, as `sha256Key` returns it), little-endian. */
export function hashPrefixOf(key: string): number {
  return (key.charCodeAt(0) | (key.charCodeAt(1) << 8) | (key.charCodeAt(2) << 16) | (key.charCodeAt(3) << 24)) >>> 0;
}

const coldHash = (fp: number): number => mix32(fp);
const hotHash = (fp: number, prefix: number): number => mix32(fp ^ Math.imul(prefix, 0x9e3779b1));
/** Tag of a content hash: bits 0-7 scaled to 1-255. */
const tagOf = (h: number): number => 1 + (((h & 0xff) * TAGS) >>> 8);
/** Bits 8-23 of a content hash. */
const midOf = (h: number): number => (h >>> 8) & 0xffff;
/** First slot of a probe: bits 8-23 and the tag (~ bits 0-23 of the hash) scaled to the capacity. */
const homeOf = (s: Segment, tag: number, mid: number): number => ((mid * TAGS + tag - 1) * s.scale) | 0;

export class ContentTable {
  private readonly segments: Segment[] = Array.from({ length: SEGMENTS }, () => new Segment(MIN_CAPACITY));
  private readonly hot = new FpCounts();
  /** Cold fingerprints held (hot ones: `hot.size`). */
  private coldFingerprints = 0;
  private readonly moving = new Uint32Array(HOT_LIMIT);
  /** Distinct contents findable. */
  distinct = 0;
  /** Blocks held by the block table only (more than DUP_LIMIT copies of one content). */
  shadows = 0;
  /** Pages `lookup` hashed. */
  hashed = 0;
  /** The SHA-256 of the page `lookup` hashed last (overwritten by the next lookup that hashes). */
  readonly pageHash = Buffer.alloc(32);
  // results of scan(): entries other than the one looked for with the same fingerprint / key
  private sameFp = 0;
  private sameKey = 0;

  constructor(private readonly table: BlockTable) {}

  /** Distinct fingerprints held. */
  get fingerprints(): number {
    return this.coldFingerprints + this.hot.size;
  }

  /** Fingerprints more than HOT_LIMIT blocks have had (placed by fingerprint and hash prefix). */
  get hotFingerprints(): number {
    return this.hot.size;
  }

  get bytes(): number {
    let n = this.hot.bytes;
    for (const s of this.segments) n += s.tags.byteLength + s.mids.byteLength + s.blocks.byteLength;
    return n;
  }

  /**
   * The block holding content (fp, prefix), or -1. With the page at `buf[at ..]` and prefix -1, the
   * page is hashed (into `pageHash`) only when some indexed block has its fingerprint.
   */
  lookup(fp: number, buf: Buffer | undefined, at: number, prefix: number): number {
    if (this.hot.size > 0 && this.hot.find(fp) >= 0) {
      if (prefix < 0) prefix = this.hash(buf!, at);
      return this.search(hotHash(fp, prefix), fp, prefix, undefined, 0);
    }
    return this.search(coldHash(fp), fp, prefix, buf, at);
  }

  /** Makes a block findable by its content; the block table holds it with this key already. */
  add(block: number, fp: number, prefix: number): void {
    let slot = this.hot.size > 0 ? this.hot.find(fp) : -1;
    if (slot < 0) {
      this.scan(coldHash(fp), fp, prefix, -1);
      if (this.sameFp < HOT_LIMIT) {
        if (this.sameFp === 0) this.coldFingerprints++;
        if (this.sameKey === 0) this.distinct++;
        this.put(coldHash(fp), block);
        return;
      }
      this.makeHot(fp);
      slot = this.hot.find(fp);
    }
    const dups = this.putHot(block, fp, prefix);
    if (dups < 0) {
      this.shadows++;
      return;
    }
    this.hot.counts[slot]++;
    if (dups === 0) this.distinct++;
  }

  /** For a block held with this key already: if it is one of the `shadows`, adds it (again). */
  reAdd(block: number, fp: number, prefix: number): void {
    const slot = this.hot.size > 0 ? this.hot.find(fp) : -1;
    if (this.scan(slot < 0 ? coldHash(fp) : hotHash(fp, prefix), fp, prefix, block) >= 0) return;
    this.shadows--;
    this.add(block, fp, prefix);
  }

  /** Makes a block unfindable (before the block table drops it or changes its key). */
  remove(block: number, fp: number, prefix: number): boolean {
    const slot = this.hot.size > 0 ? this.hot.find(fp) : -1;
    const h = slot < 0 ? coldHash(fp) : hotHash(fp, prefix);
    const found = this.scan(h, fp, prefix, block);
    if (found < 0) {
      if (this.shadows > 0) this.shadows--;
      return false;
    }
    this.deleteAt(this.segments[segmentOf(h)], found);
    if (this.sameKey === 0) this.distinct--;
    if (slot >= 0) this.hot.decrement(slot);
    else if (this.sameFp === 0) this.coldFingerprints--;
    return true;
  }

  /** SHA-256 of the page at `buf[at .. at + 4096)` into `pageHash`; returns its first 4 bytes (LE). */
  private hash(buf: Buffer, at: number): number {
    this.hashed++;
    sha256Into(at === 0 && buf.length === PAGE_SIZE ? buf : buf.subarray(at, at + PAGE_SIZE), this.pageHash, 0);
    return this.pageHash.readUInt32LE(0);
  }

  /**
   * Scans the run of content hash h for the block with key (fp, prefix); with a page and prefix
   * -1, hashes the page at the first block with fingerprint fp (none: no SHA-256).
   */
  private search(h: number, fp: number, prefix: number, buf: Buffer | undefined, at: number): number {
    const s = this.segments[segmentOf(h)];
    const { tags, mids, blocks, capacity } = s;
    const tag = tagOf(h);
    const mid = midOf(h);
    for (let i = homeOf(s, tag, mid), t = tags[i]; t !== EMPTY; t = tags[i]) {
      if (t === tag && mids[i] === mid) {
        const b = blocks[i];
        const j = this.table.locate(b);
        const d = this.table.data;
        if (d[j + FINGERPRINT] === fp) {
          if (prefix < 0) prefix = this.hash(buf!, at);
          if (d[j + HASH_PREFIX] === prefix) return b;
        }
      }
      if (++i === capacity) i = 0;
    }
    return -1;
  }

  /**
   * Scans the whole run of content hash h, counting entries other than `block` with fingerprint
   * fp (`sameFp`) and with key (fp, prefix) (`sameKey`). Returns the slot holding `block`, or -1.
   */
  private scan(h: number, fp: number, prefix: number, block: number): number {
    const s = this.segments[segmentOf(h)];
    const { tags, mids, blocks, capacity } = s;
    const tag = tagOf(h);
    const mid = midOf(h);
    let found = -1;
    this.sameFp = this.sameKey = 0;
    for (let i = homeOf(s, tag, mid), t = tags[i]; t !== EMPTY; t = tags[i]) {
      if (t === tag && mids[i] === mid) {
        if (blocks[i] === block) found = i;
        else {
          const j = this.table.locate(blocks[i]);
          const d = this.table.data;
          if (d[j + FINGERPRINT] === fp) {
            this.sameFp++;
            if (d[j + HASH_PREFIX] === prefix) this.sameKey++;
          }
        }
      }
      if (++i === capacity) i = 0;
    }
    return found;
  }

  /** Places a block by its hot key. Returns how many copies of its content were there, or -1 if DUP_LIMIT. */
  private putHot(block: number, fp: number, prefix: number): number {
    const h = hotHash(fp, prefix);
    this.scan(h, fp, prefix, -1);
    if (this.sameKey >= DUP_LIMIT) return -1;
    const dups = this.sameKey;
    this.put(h, block);
    return dups;
  }

  /** Moves the cold entries of a fingerprint (HOT_LIMIT of them) to their hot places. */
  private makeHot(fp: number): void {
    const h = coldHash(fp);
    const s = this.segments[segmentOf(h)];
    const { tags, mids, blocks, capacity } = s;
    const tag = tagOf(h);
    const mid = midOf(h);
    let n = 0;
    for (let i = homeOf(s, tag, mid), t = tags[i]; t !== EMPTY; t = tags[i]) {
      if (t === tag && mids[i] === mid && this.keyOf(blocks[i], FINGERPRINT) === fp) {
        if (n === this.moving.length) throw new Error(`content table: over ${HOT_LIMIT} cold entries of a fingerprint`);
        this.moving[n++] = blocks[i];
      }
      if (++i === capacity) i = 0;
    }
    for (let k = 0; k < n; k++) this.deleteAt(s, this.scan(h, fp, 0, this.moving[k]));
    this.coldFingerprints--;
    this.hot.add(fp, n);
    for (let k = 0; k < n; k++) {
      const b = this.moving[k];
      if (this.putHot(b, fp, this.keyOf(b, HASH_PREFIX)) < 0) throw new Error('content table: moved entry refused');
    }
  }

  /** A word of a held block's key (FINGERPRINT or HASH_PREFIX) from the block table. */
  private keyOf(block: number, word: number): number {
    const j = this.table.locate(block);
    if (j < 0) throw new Error(`content table: block ${block} is not in the block table`);
    return this.table.data[j + word];
  }

  /** Adds an entry with content hash h at the end of its run. */
  private put(h: number, block: number): void {
    const s = this.segments[segmentOf(h)];
    place(s, tagOf(h), midOf(h), block);
    s.live++;
    if (needsRebuild(s.live, s.capacity)) rebuild(s);
  }

  /** Empties slot i; later entries of its run move back into the gap unless that passes their first slot. */
  private deleteAt(s: Segment, i: number): void {
    const { tags, mids, blocks, capacity } = s;
    let hole = i;
    for (let j = i + 1 === capacity ? 0 : i + 1; tags[j] !== EMPTY; j = j + 1 === capacity ? 0 : j + 1) {
      const k = homeOf(s, tags[j], mids[j]);
      if (hole <= j ? k <= hole || k > j : k <= hole && k > j) {
        tags[hole] = tags[j];
        mids[hole] = mids[j];
        blocks[hole] = blocks[j];
        hole = j;
      }
    }
    tags[hole] = EMPTY;
    s.live--;
    if (needsRebuild(s.live, s.capacity)) rebuild(s);
  }
}

/** Puts an entry in the first empty slot from its first slot on. */
function place(s: Segment, tag: number, mid: number, block: number): void {
  let i = homeOf(s, tag, mid);
  while (s.tags[i] !== EMPTY) if (++i === s.capacity) i = 0;
  s.tags[i] = tag;
  s.mids[i] = mid;
  s.blocks[i] = block;
}

/** Re-places a segment's entries in a capacity sized for them (`capacityFor`). */
function rebuild(s: Segment): void {
  const { tags, mids, blocks } = s;
  const capacity = capacityFor(s.live);
  const newTags = new Uint8Array(capacity);
  const newMids = new Uint16Array(capacity);
  const newBlocks = new Uint32Array(capacity);
  const scale = capacity / SPAN;
  for (let i = 0; i < tags.length; i++) {
    const t = tags[i];
    if (t === EMPTY) continue;
    let j = ((mids[i] * TAGS + t - 1) * scale) | 0;
    while (newTags[j] !== EMPTY) if (++j === capacity) j = 0;
    newTags[j] = t;
    newMids[j] = mids[i];
    newBlocks[j] = blocks[i];
  }
  s.tags = newTags;
  s.mids = newMids;
  s.blocks = newBlocks;
  s.capacity = capacity;
  s.scale = scale;
}
