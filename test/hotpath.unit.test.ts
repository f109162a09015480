import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { sha256Into, sha256Matches, sha256Native } from '../src/codec/sha256.js';
import { crc32, crc32Simd } from '../src/codec/crc32.js';

const ref = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

test(
  'the native SHA-256 and the SIMD CRC-32 are the ones in use on this machine kind (npm run build ' + 'builds them)',
  () => {
    assert.equal(sha256Native, process.env.POFBENCH_NO_NATIVE !== '1', 'build/Release/pofhot.node did not load');
    assert.equal(crc32Simd, true, '@node-rs/crc32 did not load');
  },
);

test('sha256Into / sha256Matches agree with node:crypto on pages and odd sizes', () => {
  for (const size of [0, 1, 55, 64, 4095, 4096, 4097, 65536]) {
    const data = randomBytes(size);
    const out = Buffer.alloc(40, 0xee);
    sha256Into(data, out, 5);
    assert.deepEqual(out.subarray(5, 37), ref(data), `size ${size}`);
    assert.equal(out[4], 0xee);
    assert.equal(out[37], 0xee);
    const h = Buffer.concat([Buffer.alloc(3), ref(data)]);
    assert.equal(sha256Matches(data, h, 3), true);
    h[3 + 31] ^= 1;
    assert.equal(sha256Matches(data, h, 3), false, 'one flipped bit in the hash');
  }
});

test('the native functions refuse bad arguments instead of reading out of bounds', () => {
  assert.throws(() => sha256Into(Buffer.alloc(10), Buffer.alloc(31), 0), /room|sha256Into/);
  assert.throws(() => sha256Into(Buffer.alloc(10), Buffer.alloc(40), 9), /room|sha256Into/);
  assert.throws(() => sha256Matches(Buffer.alloc(10), Buffer.alloc(32), 1), /hash|sha256Matches/);
  if (sha256Native) {
    assert.throws(() => (sha256Into as (...a: unknown[]) => void)('abc', Buffer.alloc(32), 0), /sha256Into/);
    assert.throws(() => (sha256Into as (...a: unknown[]) => void)(Buffer.alloc(1), Buffer.alloc(32), -1), /sha256Into/);
  }
});

test("crc32 chained over any split equals zlib's CRC-32 of the whole", () => {
  const data = randomBytes(300000);
  const whole = zlibCrc32(data) >>> 0;
  assert.equal(crc32(data), whole);
  for (const cuts of [[1], [8, 4096, 4104], [65536, 131072, 299999]]) {
    let c = 0;
    let from = 0;
    for (const to of [...cuts, data.length]) {
      c = crc32(data.subarray(from, to), c);
      from = to;
    }
    assert.equal(c, whole, `cuts ${cuts}`);
  }
  assert.equal(crc32(Buffer.alloc(0), 1234), 1234);
});
