import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockIndex, FINGERPRINT_OFFSETS, pageFingerprint } from '../src/codec/blockindex.js';
import { hashPrefixOf, DUP_LIMIT, HOT_LIMIT } from '../src/codec/contentTable.js';
import { sha256, sha256Key } from '../src/codec/bytes.js';
import { prng, randomPage } from './helpers/synthStream.js';

type Key = readonly [fp: number, prefix: number];
const keyId = (k: Key) => `${k[0]}:${k[1]}`;

/** Checks every observable of the index against a plain map of block → key (no shadows expected). */
function checkModel(idx: BlockIndex, model: Map<number, Key>): void {
  assert.equal(idx.size, model.size, 'size');
  const byKey = new Map<string, Key>();
  const fps = new Set<number>();
  for (const k of model.values()) {
    byKey.set(keyId(k), k);
    fps.add(k[0]);
  }
  assert.equal(idx.shadows, 0, 'no content has more than DUP_LIMIT copies here');
  assert.equal(idx.distinct, byKey.size, 'distinct');
  assert.equal(idx.fingerprints, fps.size, 'fingerprints');
  for (const k of byKey.values()) {
    const b = idx.lookupKey(k[0], k[1]);
    assert.ok(b !== undefined, `key ${keyId(k)} is found`);
    assert.equal(keyId(model.get(b)!), keyId(k), `key ${keyId(k)} gives a block holding it`);
  }
  const listed = [...idx.blocks()].sort((a, b) => a - b);
  assert.deepEqual(
    listed,
    [...model.keys()].sort((a, b) => a - b),
    'blocks()',
  );
}

interface OpsMix {
  ops: number;
  blocks: number;
  fps: number;
  prefixes: number;
}

function randomOps(idx: BlockIndex, model: Map<number, Key>, r: () => number, o: OpsMix): void {
  const int = (n: number) => Math.floor(r() * n);
  for (let i = 0; i < o.ops; i++) {
    const b = int(o.blocks);
    const x = r();
    if (x < 0.6) {
      const k: Key = [(int(o.fps) * 0x9e3779b1) >>> 0, (int(o.prefixes) * 0x85ebca6b) >>> 0];
      idx.addKey(b, k[0], k[1]);
      model.set(b, k);
    } else if (x < 0.9) {
      assert.equal(idx.invalidate(b), model.delete(b));
    } else {
      const m = model.get(b);
      assert.equal(idx.has(b), m !== undefined);
      if (m) assert.equal(keyId(model.get(idx.lookupKey(m[0], m[1])!)!), keyId(m));
    }
    if (i % 5000 === 4999) checkModel(idx, model);
  }
  checkModel(idx, model);
}

test('block index = a plain map under random adds, re-adds, invalidations (hot fingerprints, duplicates)', () => {
  const idx = new BlockIndex();
  const model = new Map<number, Key>();
  const r = prng(2024);
  // 30 fingerprints over ~2000 live blocks: every fingerprint turns hot; 64 prefixes: duplicates
  randomOps(idx, model, r, { ops: 60_000, blocks: 3000, fps: 30, prefixes: 64 });
  assert.equal(idx.hotFingerprints, 30);
  // everything dropped: hot fingerprints turn cold again, the tables shrink
  for (const b of [...model.keys()]) {
    assert.equal(idx.invalidate(b), true);
    model.delete(b);
  }
  checkModel(idx, model);
  assert.equal(idx.hotFingerprints, 0);
  randomOps(idx, model, r, { ops: 20_000, blocks: 3000, fps: 3000, prefixes: 4 });
});

test('block index grows and shrinks through many segment rebuilds without losing an entry', () => {
  const idx = new BlockIndex();
  const model = new Map<number, Key>();
  const r = prng(77);
  for (let i = 0; i < 200_000; i++) {
    const b = (r() * 2 ** 32) >>> 0 || 1;
    if (b === 0xffffffff) continue;
    const k: Key = [(r() * 2 ** 32) >>> 0, (r() * 2 ** 32) >>> 0];
    idx.addKey(b, k[0], k[1]);
    model.set(b, k);
  }
  checkModel(idx, model);
  const bytesFull = idx.bytes;
  let n = 0;
  for (const b of [...model.keys()]) {
    if (n++ % 20 === 0) continue;
    idx.invalidate(b);
    model.delete(b);
  }
  checkModel(idx, model);
  assert.ok(idx.bytes < bytesFull / 5, `shrunk: ${idx.bytes} of ${bytesFull} bytes`);
});

test('block numbers: 0 to 2^32 - 2 are held; others are refused', () => {
  const idx = new BlockIndex();
  idx.addKey(0, 1, 2);
  idx.addKey(0xfffffffe, 3, 4);
  assert.equal(idx.lookupKey(1, 2), 0);
  assert.equal(idx.lookupKey(3, 4), 0xfffffffe);
  for (const bad of [0xffffffff, -1, 1.5, 2 ** 32]) assert.throws(() => idx.addKey(bad, 5, 6), RangeError);
  assert.equal(idx.size, 2);
});

test('identical blocks: dropping one keeps the others findable; beyond DUP_LIMIT copies are held, not found', () => {
  const idx = new BlockIndex();
  const page = randomPage(prng(5));
  const copies = DUP_LIMIT + 4;
  for (let b = 100; b < 100 + copies; b++) idx.addBlock(b, page);
  assert.equal(idx.size, copies);
  assert.equal(idx.distinct, 1);
  assert.equal(idx.shadows, copies - DUP_LIMIT);
  // two copies: dropping one leaves the other
  const pair = new BlockIndex();
  pair.addBlock(7, page);
  pair.addBlock(9, page);
  const first = pair.lookup(page)!.block;
  pair.invalidate(first);
  assert.equal(pair.lookup(page)?.block, first === 7 ? 9 : 7);
  // each block found is one of the copies, and dropping it leaves another, DUP_LIMIT times
  const seen = new Set<number>();
  for (let ref = idx.lookup(page); ref; ref = idx.lookup(page)) {
    assert.ok(ref.block >= 100 && ref.block < 100 + copies && !seen.has(ref.block));
    seen.add(ref.block);
    idx.invalidate(ref.block);
  }
  assert.equal(seen.size, DUP_LIMIT, 'the findable copies');
  assert.equal(idx.size, copies - DUP_LIMIT, 'the rest are still indexed');
  // a held copy re-added with its content becomes findable (fewer than DUP_LIMIT copies findable now)
  const held = [...idx.blocks()][0];
  idx.addBlock(held, page);
  assert.equal(idx.lookup(page)?.block, held);
  assert.equal(idx.shadows, copies - DUP_LIMIT - 1);
  // a copy whose content changes no longer answers for the old content
  idx.addBlock(held, randomPage(prng(6)));
  assert.equal(idx.lookup(page), undefined);
});

test('many blocks sharing one fingerprint (hot): all found by content, pages with it are hashed first', () => {
  const idx = new BlockIndex();
  const base = randomPage(prng(8));
  // same words at the eight sampled offsets, different at byte 100: one fingerprint, different contents
  const variant = (i: number) => {
    const p = Buffer.from(base);
    p.writeUInt32LE(i, 100);
    return p;
  };
  const n = HOT_LIMIT * 4;
  for (let i = 0; i < n; i++) idx.addBlock(1000 + i, variant(i));
  assert.equal(idx.fingerprints, 1);
  assert.equal(idx.distinct, n);
  for (let i = 0; i < n; i++) assert.equal(idx.lookup(variant(i))?.block, 1000 + i);
  const hashed = idx.hashed;
  assert.equal(idx.lookup(variant(n + 1)), undefined, 'same fingerprint, content not indexed');
  assert.equal(idx.hashed, hashed + 1);
  for (let i = 0; i < n - 2; i++) idx.invalidate(1000 + i);
  assert.equal(idx.lookup(variant(n - 1))?.block, 1000 + n - 1);
  assert.equal(idx.lookup(variant(0)), undefined);
  idx.invalidate(1000 + n - 1);
  idx.invalidate(1000 + n - 2);
  assert.equal(idx.fingerprints, 0);
  const before = idx.hashed;
  assert.equal(idx.lookup(variant(3)), undefined);
  assert.equal(idx.hashed, before, 'no indexed block has the fingerprint any more: not hashed');
});

test("lookup returns the SHA-256 of the page it was given: a key collision can only fail the target's verify", () => {
  const idx = new BlockIndex();
  const page = randomPage(prng(9));
  // block 42 claims the page's key (as a different content colliding in 64 bits would)
  idx.addKey(42, pageFingerprint(page), hashPrefixOf(sha256Key(page)));
  const ref = idx.lookup(page)!;
  assert.equal(ref.block, 42);
  assert.deepEqual(ref.hash, sha256(page), 'the full SHA-256 of the page, computed from the page');
  assert.equal(hashPrefixOf(sha256Key(page)), sha256(page).readUInt32LE(0));
});

test('pageFingerprint: the eight sampled words mixed as before (readUInt32LE loop), for any page', () => {
  const reference = (page: Buffer) => {
    let h = 0x811c9dc5;
    for (const o of FINGERPRINT_OFFSETS) {
      h = Math.imul(h ^ page.readUInt32LE(o), 0x9e3779b1);
      h ^= h >>> 15;
    }
    return h >>> 0;
  };
  const r = prng(10);
  for (let i = 0; i < 200; i++) {
    const page = randomPage(r);
    if (i % 2) for (const o of FINGERPRINT_OFFSETS) page.fill(0xff, o, o + 4);
    assert.equal(pageFingerprint(page), reference(page));
  }
  assert.equal(pageFingerprint(Buffer.alloc(4096)), reference(Buffer.alloc(4096)));
});
