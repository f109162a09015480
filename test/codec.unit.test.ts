import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Encoder } from '../src/codec/encoder.js';
import { Decoder } from '../src/codec/decoder.js';
import { QemuStreamParser, MAX_EARLY_SECTION } from '../src/codec/qemu.js';
import { restore } from '../src/codec/resolve.js';
import { BlockIndex, parseTraceLine, blocksOfRange, pageFingerprint } from '../src/codec/blockindex.js';
import { CodecError, RefMismatchError, UnsupportedStreamError } from '../src/codec/errors.js';
import { inspectStream } from '../src/codec/inspect.js';
import { REF_FRAME_SIZE } from '../src/codec/format.js';
import { synthStream, prng, randomPage, chunked, PAGE, type SynthPage } from './helpers/synthStream.js';

const IMAGE_BLOCKS = 32;
const rand0 = prng(7);
/** A "NAS image": 32 random blocks, block 5 all zero. */
const image = Buffer.concat(
  Array.from({ length: IMAGE_BLOCKS }, (_, i) => (i === 5 ? Buffer.alloc(PAGE) : randomPage(rand0))),
);
const blockOf = (n: number) => image.subarray(n * PAGE, (n + 1) * PAGE);

/** Pages: some equal to disk blocks, some unique, some zero, one page sent twice. */
function sampleStream(): Buffer {
  const r = prng(11);
  const p1: SynthPage[] = [
    { addr: 0, content: blockOf(3) },
    { addr: PAGE, content: randomPage(r) },
    { addr: 2 * PAGE, zero: true },
    { addr: 3 * PAGE, content: blockOf(17) },
    { addr: 4 * PAGE, content: blockOf(3) },
  ];
  const p2: SynthPage[] = [
    { addr: PAGE, content: blockOf(9) },
    { addr: 7 * PAGE, content: randomPage(r) },
  ];
  const p3: SynthPage[] = [
    { addr: 8 * PAGE, content: blockOf(31) },
    { addr: 9 * PAGE, zero: true },
  ];
  return synthStream({ sections: [p1, p2, p3] });
}

function fullIndex(): BlockIndex {
  const idx = new BlockIndex();
  idx.addBlocks(0, image);
  return idx;
}

function encode(stream: Buffer, index: BlockIndex | undefined, chunks?: Buffer[]): { pof: Buffer; enc: Encoder } {
  const enc = new Encoder({ lookup: index ? (p) => index.lookup(p) : undefined, imageBlocks: IMAGE_BLOCKS });
  const out: Buffer[] = [];
  for (const c of chunks ?? [stream]) out.push(...enc.push(c));
  out.push(...enc.end());
  return { pof: Buffer.concat(out), enc };
}

async function decode(
  pof: Buffer,
  chunks?: Buffer[],
  readBlock = async (b: number) => Buffer.from(blockOf(b)),
): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of restore(chunks ?? [pof], new Decoder({ imageBlocks: IMAGE_BLOCKS }), readBlock, {
    concurrency: 4,
  }))
    out.push(Buffer.from(b));
  return Buffer.concat(out);
}

test('encode replaces exactly the pages found on the disk; decode restores the stream byte for byte', async () => {
  const stream = sampleStream();
  const { pof, enc } = encode(stream, fullIndex());
  const s = enc.stats();
  assert.equal(s.refPages, 5, 'pages equal to blocks 3, 17, 3, 9, 31');
  assert.equal(s.fullPages, 2, 'two random pages');
  assert.equal(s.zeroPages, 2);
  assert.equal(s.bytesIn, stream.length);
  assert.equal(s.bytesOut, pof.length);
  assert.ok(
    pof.length < stream.length - 5 * (PAGE - REF_FRAME_SIZE) + 200,
    `POF ${pof.length} vs QEMU ${stream.length}`,
  );
  assert.deepEqual(await decode(pof), stream);
});

test('the output does not depend on how input is chunked, and decoding works for any chunking', async () => {
  const stream = sampleStream();
  const ref = encode(stream, fullIndex()).pof;
  for (const seed of [1, 2, 3]) {
    const r = prng(seed);
    const { pof } = encode(stream, fullIndex(), chunked(stream, r, seed === 1 ? 1 : 5000));
    assert.deepEqual(pof, ref, `seed ${seed}`);
    assert.deepEqual(await decode(pof, chunked(pof, r, seed === 1 ? 3 : 700)), stream);
  }
});

test('without an index every page travels in full (and still round-trips)', async () => {
  const stream = sampleStream();
  const { pof, enc } = encode(stream, undefined);
  assert.equal(enc.stats().refPages, 0);
  assert.deepEqual(await decode(pof), stream);
});

test('inspect counts sections, records and where device state starts', async () => {
  const r = await inspectStream([sampleStream()]);
  assert.equal(r.machine, 'pc-i440fx-7.2');
  assert.deepEqual(r.ramBlocks, [{ idstr: 'pc.ram', length: 64 * PAGE }]);
  assert.deepEqual(r.sections, { start: 1, part: 2, end: 1, footers: 4 });
  assert.equal(r.records.page.count, 7);
  assert.equal(r.records.zero.count, 2);
  assert.equal(r.records.eos.count, 4);
  assert.equal(r.distinctPages, 6);
  assert.equal(r.resentPages, 1, 'page at offset 4096 was sent twice');
  assert.ok(r.deviceStateOffset! > 0 && r.deviceStateBytes > 0);
  assert.equal(r.bytes, sampleStream().length);
});

test('every truncation of either stream is an error naming an offset, never a crash', async () => {
  const stream = sampleStream();
  const { pof } = encode(stream, fullIndex());
  for (let n = 0; n < pof.length; n += n < 200 ? 1 : 97) {
    await assert.rejects(
      decode(pof.subarray(0, n)),
      (e: unknown) => e instanceof CodecError && /offset \d+/.test(e.message),
      `POF cut at ${n}`,
    );
  }
  const deviceStart = (await inspectStream([stream])).deviceStateOffset!;
  for (let n = 0; n <= deviceStart; n += n < 300 ? 1 : 101) {
    assert.throws(
      () => {
        const p = new QemuStreamParser();
        p.push(stream.subarray(0, n));
        p.end();
      },
      CodecError,
      `QEMU cut at ${n}`,
    );
  }
});

test('a mutated POF stream never decodes to wrong bytes: every single-byte change is detected', async () => {
  const stream = sampleStream();
  const { pof } = encode(stream, fullIndex());
  const r = prng(99);
  let errors = 0;
  for (let i = 0; i < 400; i++) {
    const bad = Buffer.from(pof);
    const at = Math.floor(r() * bad.length);
    bad[at] ^= 1 + Math.floor(r() * 255);
    const reads: number[] = [];
    try {
      const out = await decode(bad, undefined, async (b) => {
        reads.push(b);
        return Buffer.from(blockOf(b));
      });
      assert.deepEqual(out, stream, `mutation at ${at} decoded to different bytes without an error`);
    } catch (e) {
      assert.ok(
        e instanceof CodecError || e instanceof RefMismatchError,
        `mutation at ${at}: unexpected ${(e as Error).stack}`,
      );
      errors++;
    }
    assert.ok(
      reads.every((b) => b >= 0 && b < IMAGE_BLOCKS),
      'no read outside the image',
    );
  }
  assert.equal(errors, 400, 'every mutation is an error');
});

test('a mutated QEMU stream gives a CodecError or parses, never another exception', () => {
  const stream = sampleStream();
  const r = prng(5);
  for (let i = 0; i < 500; i++) {
    const bad = Buffer.from(stream);
    const at = Math.floor(r() * 400) < 300 ? Math.floor(r() * 200) : Math.floor(r() * bad.length);
    bad[at] ^= 1 + Math.floor(r() * 255);
    try {
      const p = new QemuStreamParser();
      for (const c of chunked(bad, r, 3000)) p.push(c);
      p.end();
    } catch (e) {
      assert.ok(e instanceof CodecError, `mutation at ${at}: ${(e as Error).stack}`);
    }
  }
});

test('references beyond the image are refused before any read; a changed block is a mismatch naming it', async () => {
  const stream = sampleStream();
  const { pof } = encode(stream, fullIndex());
  const refAt = pof.indexOf(0x52, 24); // first REF frame
  const beyond = Buffer.from(pof);
  beyond.writeUInt32BE(0, refAt + 1);
  beyond.writeUInt32BE(IMAGE_BLOCKS, refAt + 5);
  let reads = 0;
  await assert.rejects(
    decode(beyond, undefined, async (b) => {
      reads++;
      return Buffer.from(blockOf(b));
    }),
    /beyond the image/,
  );
  assert.equal(reads, 0);
  const changed = async (b: number) => {
    const x = Buffer.from(blockOf(b));
    if (b === 17) x[100] ^= 1;
    return x;
  };
  await assert.rejects(
    decode(pof, undefined, changed),
    (e: unknown) => e instanceof RefMismatchError && e.block === 17,
  );
});

test('multifd/xbzrle/compression records are refused with a clear error naming the offset', () => {
  for (const [flag, name] of [
    [0x40, 'XBZRLE'],
    [0x100, 'COMPRESS_PAGE'],
    [0x200, 'MULTIFD_FLUSH'],
  ] as const) {
    const s = synthStream({ sections: [[{ addr: 0, content: blockOf(1) }]], extraFlags: flag });
    assert.throws(
      () => new QemuStreamParser().push(s),
      (e: unknown) => e instanceof UnsupportedStreamError && e.message.includes(name) && /offset \d+/.test(e.message),
    );
  }
});

test(
  'early-setup device sections (QEMU >= 8.0, e.g. virtio-mem) pass through; a lookalike footer inside does not ' +
    'end them',
  async () => {
    // the body holds "0x7E <id>" followed by bytes that are no section header: the parser must go on
    const body = Buffer.concat([Buffer.from([1, 2, 0x7e, 0, 0, 0, 38, 0x09, 0xff]), Buffer.alloc(300, 0x7e)]);
    const s = synthStream({
      sections: [[{ addr: 0, content: blockOf(1) }], [{ addr: PAGE, content: blockOf(2) }]],
      earlyDevice: { idstr: '0000:00:02.0/virtio-mem-device-early', sectionId: 38, body },
    });
    for (const step of [1, 7, 4096, s.length]) {
      const p = new QemuStreamParser();
      const items = [];
      for (let o = 0; o < s.length; o += step) items.push(...p.push(s.subarray(o, o + step)));
      p.end();
      const early = items.filter((i) => i.kind === 'early-device-state');
      assert.equal(early.length, 1, `one early section (chunks of ${step})`);
      assert.equal(early[0].raw.length, 1 + 4 + 1 + 36 + 8 + body.length + 5, 'header, body and footer');
      assert.ok(
        Buffer.concat(items.flatMap((i) => (i.kind === 'ram' && i.page ? [i.raw, i.page] : [i.raw]))).equals(s),
        'items concatenate to the stream',
      );
    }
    assert.deepEqual(await decode(encode(s, fullIndex()).pof), s, 'decode(encode(s)) == s with an early section');
    const report = await inspectStream([s]);
    assert.deepEqual(
      report.earlySections.map((e) => e.idstr),
      ['0000:00:02.0/virtio-mem-device-early'],
    );
    // no footer at all: refused naming the section and the offset, never an unbounded buffer
    const noFooter = synthStream({
      sections: [[{ addr: 0, content: blockOf(1) }]],
      earlyDevice: { idstr: 'x-early', sectionId: 9, body: Buffer.alloc(MAX_EARLY_SECTION + 16, 1) },
    });
    assert.throws(
      () => new QemuStreamParser().push(noFooter.subarray(0, noFooter.length - 200)),
      (e: unknown) =>
        e instanceof UnsupportedStreamError &&
        /early-setup device state \(FULL section "x-early"/.test(e.message) &&
        /offset \d+/.test(e.message),
    );
  },
);

test('the block index follows content: duplicates, invalidation, zero blocks', () => {
  const idx = new BlockIndex();
  idx.addBlocks(0, image);
  assert.equal(idx.size, IMAGE_BLOCKS - 1, 'the zero block is not indexed');
  assert.equal(idx.lookup(blockOf(9))?.block, 9);
  idx.addBlock(40, blockOf(9));
  assert.equal(idx.invalidate(9), true);
  assert.equal(idx.lookup(blockOf(9))?.block, 40, 'the other copy still serves the content');
  idx.invalidateRange(40 * PAGE + 100, 10);
  assert.equal(idx.lookup(blockOf(9)), undefined);
  idx.addBlock(3, Buffer.alloc(PAGE));
  assert.equal(idx.has(3), false, 'a block that became zero is dropped');
  assert.deepEqual([...blocksOfRange(4095, 2)], [0, 1]);
});

test(
  'the fingerprint prefilter: pages it cannot match cost no SHA-256, and a fingerprint match alone is never a ' +
    'reference',
  () => {
    const idx = new BlockIndex();
    idx.addBlocks(0, image);
    assert.equal(idx.fingerprints, IMAGE_BLOCKS - 1);
    const r = prng(99);
    for (let i = 0; i < 50; i++) assert.equal(idx.lookup(randomPage(r)), undefined);
    assert.equal(idx.hashed, 0, 'no page without an indexed fingerprint was hashed');
    // same words at every sampled offset as block 12, different elsewhere: a candidate, not a hit
    const lookalike = Buffer.from(blockOf(12));
    lookalike[100] ^= 0xff;
    assert.equal(pageFingerprint(lookalike), pageFingerprint(blockOf(12)));
    assert.equal(idx.lookup(lookalike), undefined);
    assert.equal(idx.hashed, 1);
    assert.equal(idx.lookup(blockOf(12))?.block, 12);
    assert.equal(idx.hashed, 2);
    // dropping the block drops its fingerprint; a block indexed twice counts once per block
    idx.addBlock(50, blockOf(12));
    idx.invalidate(12);
    assert.equal(idx.lookup(blockOf(12))?.block, 50);
    idx.invalidate(50);
    assert.equal(idx.fingerprints, IMAGE_BLOCKS - 2);
    const before = idx.hashed;
    assert.equal(idx.lookup(blockOf(12)), undefined);
    assert.equal(idx.hashed, before, 'the dropped content is filtered without hashing');
  },
);

test('QEMU 7.2 block trace lines parse (log backend, with and without timestamps)', () => {
  assert.deepEqual(
    parseTraceLine('blk_co_preadv blk 0x55fe96006860 bs 0x55fe96006bb0 offset 16384 bytes 4096 flags 0x8'),
    { op: 'read', offset: 16384, bytes: 4096, blk: '0x55fe96006860' },
  );
  assert.deepEqual(
    parseTraceLine('1234@1700000000.123456:blk_co_pwritev blk 0x1 bs 0x2 offset 0 bytes 1024 flags 0x0'),
    { op: 'write', offset: 0, bytes: 1024, blk: '0x1' },
  );
  assert.equal(parseTraceLine('qemu-system-x86_64: something else'), undefined);
});
