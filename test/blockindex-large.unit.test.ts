import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BlockIndex } from '../src/codec/blockindex.js';
import { mix32 } from '../src/codec/slots.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The inverse of `mix32`. */
function unmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7ed1b41d);
  x ^= (x >>> 13) ^ (x >>> 26);
  x = Math.imul(x, 0xa5cb9243);
  x ^= x >>> 16;
  return x >>> 0;
}

/** More blocks than a V8 Map holds (16,777,216 entries): 65 GiB of 4 KiB blocks. */
const N = 17_000_000;
const PER_SEGMENT = Math.ceil(N / 256);

/** A bijection on 24 bits. */
function mix24(x: number): number {
  x = Math.imul(x, 0x9e3779b1) & 0xffffff;
  x ^= x >>> 12;
  x = Math.imul(x, 0x85ebca6b) & 0xffffff;
  return x ^ (x >>> 11);
}

/*
 * Synthetic keys (fingerprint, hash prefix) and block numbers, a function of i. They come in the
 * tables' segment order (the top 8 bits of the block's and of the fingerprint's hash grow with i;
 * the other 24 are scrambled), so the inserts fill one 256th of each table after the other, in
 * cache. In random order each insert waits on ~3 cache and TLB misses (~0.5 µs each on the shared
 * 2-core VM this runs on), and the test took over a minute; the tables end up the same (linear probing's
 * occupied slots do not depend on the order). `pofbench bench index` measures random order.
 */
const hashAt = (i: number, salt: number) =>
  ((Math.floor(i / PER_SEGMENT) << 24) | mix24((i % PER_SEGMENT) ^ salt)) >>> 0;
const blockAt = (i: number) => unmix32(hashAt(i, 0));
const fpAt = (i: number) => unmix32(hashAt(i, 0x5bd1e9));
const prefixAt = (i: number) => mix32(i + 0x12345);

test(`an index of ${N / 1e6} M blocks (past the V8 Map limit) at <= 24 bytes per block, right at the end`, () => {
  gc();
  const m0 = process.memoryUsage();
  const idx = new BlockIndex();
  for (let i = 0; i < N; i++) idx.addKey(blockAt(i), fpAt(i), prefixAt(i));
  gc();
  const m1 = process.memoryUsage();
  assert.equal(idx.size, N);
  assert.equal(idx.fingerprints, N);
  const measured = (m1.arrayBuffers - m0.arrayBuffers + m1.heapUsed - m0.heapUsed) / N;
  const held = idx.bytes / N;
  console.log(`${N} blocks: ${held.toFixed(2)} bytes/block in the tables, ${measured.toFixed(2)} by memoryUsage()`);
  assert.ok(held <= 24, `${held} bytes/block in the tables`);
  assert.ok(measured <= 24, `${measured} bytes/block measured`);

  for (let i = 0; i < N; i += 97) assert.equal(idx.lookupKey(fpAt(i), prefixAt(i)), blockAt(i), `entry ${i}`);
  assert.equal(idx.lookupKey(fpAt(5), prefixAt(6)), undefined, 'fingerprint of one entry, prefix of another');
  // drop every 4th of the first 1 M, give every 8th a new key (the old key must not find it)
  let dropped = 0;
  for (let i = 0; i < 1_000_000; i += 4) if (idx.invalidate(blockAt(i))) dropped++;
  for (let i = 2; i < 1_000_000; i += 8) idx.addKey(blockAt(i), fpAt(i) ^ 1, prefixAt(i));
  assert.equal(dropped, 250_000);
  assert.equal(idx.size, N - dropped);
  for (let i = 0; i < 1_000_000; i += 1) {
    const want = i % 4 === 0 ? undefined : i % 8 === 2 ? undefined : blockAt(i);
    assert.equal(idx.lookupKey(fpAt(i), prefixAt(i)), want, `entry ${i}`);
    if (i % 8 === 2) assert.equal(idx.lookupKey(fpAt(i) ^ 1, prefixAt(i)), blockAt(i), `re-keyed entry ${i}`);
    assert.equal(idx.has(blockAt(i)), i % 4 !== 0);
  }
  assert.equal(idx.lookupKey(fpAt(N - 1), prefixAt(N - 1)), blockAt(N - 1));
});
