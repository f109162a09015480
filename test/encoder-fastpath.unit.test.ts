/**
 * The encoder's fast path (the parser hands PAGE/ZERO records with CONTINUE as positions, the
 * index is asked by position, literal runs grow as ranges) must produce exactly the bytes and stats
 * of the item path it replaces, however the input is chunked: both run here on the same streams.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Encoder, type EncoderStats } from '../src/codec/encoder.js';
import { BlockIndex } from '../src/codec/blockindex.js';
import { Decoder } from '../src/codec/decoder.js';
import { restore } from '../src/codec/resolve.js';
import { synthImageAndStream, prng, chunked, PAGE } from './helpers/synthStream.js';

type Path = 'item' | 'fast';

function encode(path: Path, chunks: Buffer[], index: BlockIndex | undefined, maxLiteral?: number) {
  const imageBlocks = 64;
  const enc =
    path === 'item'
      ? // the item path: a page lookup (or an onItem observer) keeps the parser's items
        new Encoder({
          lookup: index ? (p) => index.lookup(p) : undefined,
          onItem: () => undefined,
          imageBlocks,
          maxLiteral,
        })
      : new Encoder({ lookupAt: index ? (b, at) => index.lookupAt(b, at) : undefined, imageBlocks, maxLiteral });
  const out: Buffer[] = [];
  for (const c of chunks) out.push(Buffer.concat(enc.push(c)));
  out.push(Buffer.concat(enc.end()));
  return { pof: Buffer.concat(out), stats: enc.stats() as EncoderStats, parts: out };
}

function splits(stream: Buffer, seed: number): Record<string, Buffer[]> {
  const r = prng(seed);
  const record = 8 + PAGE;
  return {
    whole: [stream],
    'random 1..9000': chunked(stream, r),
    'random 1..64': chunked(stream, r, 64),
    'record-sized, not aligned': chunked(stream, () => (record - 1) / 9000, 9000),
    '64 KiB': Array.from({ length: Math.ceil(stream.length / 65536) }, (_, i) =>
      stream.subarray(i * 65536, (i + 1) * 65536),
    ),
  };
}

for (const seed of [1, 2, 3]) {
  test(`fast path = item path, byte for byte and in its stats (seed ${seed})`, async () => {
    const { image, stream } = synthImageAndStream(seed);
    const index = new BlockIndex();
    index.addBlocks(0, image);
    for (const [name, chunks] of Object.entries(splits(stream, seed))) {
      for (const maxLiteral of [undefined, 1000, 4104]) {
        for (const idx of [index, undefined]) {
          const a = encode('item', chunks, idx, maxLiteral);
          const b = encode('fast', chunks, idx, maxLiteral);
          const what = `${name}, maxLiteral ${maxLiteral ?? 'default'}, ${idx ? 'index' : 'no index'}`;
          assert.deepEqual(b.stats, a.stats, what);
          assert.ok(b.pof.equals(a.pof), `${what}: POF streams differ`);
          // output of each push is the same too (a live source sends it as it comes)
          assert.deepEqual(
            b.parts.map((p) => p.length),
            a.parts.map((p) => p.length),
            what,
          );
        }
      }
    }
    // and it decodes back to the QEMU stream
    const { pof, stats } = encode('fast', splits(stream, seed)['random 1..9000'], index);
    assert.ok(stats.refPages > 0 && stats.fullPages > 0 && stats.zeroPages > 0, JSON.stringify(stats));
    const got: Buffer[] = [];
    const read = async (b: number) => Buffer.from(image.subarray(b * PAGE, (b + 1) * PAGE));
    for await (const b of restore([pof], new Decoder({ imageBlocks: 64 }), read, { concurrency: 4 }))
      got.push(Buffer.from(b));
    assert.ok(Buffer.concat(got).equals(stream));
  });
}

test('lookupAt finds what lookup finds, at any offset of a larger buffer', () => {
  const { image } = synthImageAndStream(5);
  const index = new BlockIndex();
  index.addBlocks(0, image);
  const buf = Buffer.concat([Buffer.from('xyz'), image]);
  for (let b = 0; b < 64; b++) {
    const page = image.subarray(b * PAGE, (b + 1) * PAGE);
    const want = index.lookup(page);
    const got = index.lookupAt(buf, 3 + b * PAGE);
    assert.equal(got?.block, want?.block, `block ${b}`);
    if (want) assert.ok(got!.hash.equals(want.hash), `block ${b}: hash`);
  }
  assert.throws(() => index.lookup(image.subarray(0, 100)), /a page is 4096 bytes/);
});
