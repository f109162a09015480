import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, copyFileSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { MIN_QEMU, qemuAtLeast } from '../src/qemu/version.js';
import { buildImage, firstDatasetFiles, type GuestImage } from '../src/image/build.js';
import { captureStream, type Captured } from '../src/qemu/capture.js';
import { runAgentPair } from '../src/bench/agentPair.js';
import { inspectStream } from '../src/codec/inspect.js';
import { Encoder } from '../src/codec/encoder.js';
import { Decoder } from '../src/codec/decoder.js';
import { QemuStreamParser } from '../src/codec/qemu.js';
import { restore } from '../src/codec/resolve.js';
import { buildScanIndex, buildTraceIndex, type BlockIndex } from '../src/codec/blockindex.js';
import { CodecError, RefMismatchError } from '../src/codec/errors.js';
import { pofbenchCommand } from '../src/util/paths.js';
import { prng, chunked } from './helpers/synthStream.js';
import { pofbenchProcesses } from './helpers/leftovers.js';
import { fuzzTargetAgent } from '../src/agent/fuzzTarget.js';

const MiB = 1024 * 1024;
/** The QEMU these streams come from (scripts/setup.sh installs 10.x). */
const QEMU_VERSION =
  /version (\S+)/.exec(execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
let image: GuestImage;
const cap: Record<'idle' | 'pagecache' | 'anon' | 'virtioMem', Captured | undefined> = {
  idle: undefined,
  pagecache: undefined,
  anon: undefined,
  virtioMem: undefined,
};
const PAGECACHE_MIB = 96;

before(
  async () => {
    image = await buildImage({ log: (l) => console.log(`image: ${l}`) });
    const files = firstDatasetFiles(image, PAGECACHE_MIB).files.map((f) => f.path.split('/').pop()!);
    cap.idle = await captureStream(image, { memoryMib: 160 });
    cap.pagecache = await captureStream(image, {
      memoryMib: 256,
      script: `cd /data/dataset && cat ${files.join(' ')} > /dev/null && echo read`,
    });
    cap.anon = await captureStream(image, {
      memoryMib: 256,
      script:
        'stress-ng --vm 1 --vm-bytes 64m --vm-keep --timeout 0 > /dev/null 2>&1 < /dev/null & sleep 4; echo started',
    });
    // less guest RAM runs out during boot
    cap.virtioMem = await captureStream(image, { memoryMib: 256, virtioMemMib: 256 });
  },
  { timeout: 600_000 },
);

after(() => {
  for (const c of Object.values(cap)) c?.cleanup();
  assert.deepEqual(
    pofbenchProcesses().filter((p) => / agent /.test(p)),
    [],
    'no agent left',
  );
});

function encodeAll(stream: Buffer, index: BlockIndex, imageBlocks: number) {
  const enc = new Encoder({ lookup: (p) => index.lookup(p), imageBlocks });
  const out: Buffer[] = [];
  for (const c of chunked(stream, prng(1), 256 * 1024)) out.push(...enc.push(c));
  out.push(...enc.end());
  return { pof: Buffer.concat(out), stats: enc.stats() };
}

async function decodeAll(
  pof: Buffer,
  disk: Buffer,
  imageBlocks: number,
  tamper?: (b: number, d: Buffer) => Buffer,
): Promise<Buffer> {
  const out: Buffer[] = [];
  const read = async (b: number) => {
    assert.ok(b >= 0 && b < imageBlocks, `read of block ${b} inside the image`);
    const d = Buffer.from(disk.subarray(b * 4096, (b + 1) * 4096));
    return tamper ? tamper(b, d) : d;
  };
  for await (const b of restore(chunked(pof, prng(2), 100_000), new Decoder({ imageBlocks }), read, { concurrency: 8 }))
    out.push(Buffer.from(b));
  return Buffer.concat(out);
}

for (const kind of ['idle', 'pagecache', 'anon'] as const) {
  test(`${kind} guest: a real stream of the testbed's QEMU (${QEMU_VERSION}) inspects and round-trips byte for byte ` +
    `(scan and trace index)`, {
    timeout: 300_000,
  }, async () => {
    const c = cap[kind]!;
    assert.ok(
      qemuAtLeast(QEMU_VERSION, MIN_QEMU),
      `the testbed QEMU ${QEMU_VERSION} is one pofbench supports (>= ${MIN_QEMU.join('.')})`,
    );
    const stream = readFileSync(c.stream);
    const disk = readFileSync(c.disk);
    const report = await inspectStream([stream]);
    assert.equal(report.ramBlocks.find((b) => b.idstr === 'pc.ram')?.length, (kind === 'idle' ? 160 : 256) * MiB);
    assert.ok(report.records.page.count > 1000 && report.deviceStateOffset! > 0, `pages ${report.records.page.count}`);
    const scan = await buildScanIndex(c.disk);
    const s = encodeAll(stream, scan.index, scan.imageBlocks);
    assert.deepEqual(await decodeAll(s.pof, disk, scan.imageBlocks), stream, 'scan: decode(encode(s)) == s');
    const trace = await buildTraceIndex(c.disk, readFileSync(c.trace, 'latin1'));
    const t = encodeAll(stream, trace.index, trace.imageBlocks);
    assert.deepEqual(await decodeAll(t.pof, disk, trace.imageBlocks), stream, 'trace: decode(encode(s)) == s');
    console.log(
      `${kind}: ${(stream.length / MiB).toFixed(1)} MiB stream, ${report.records.page.count} pages, ` +
        `${report.records.zero.count} zero; ` +
        `scan: ${s.stats.refPages} by ref → ${(s.pof.length / MiB).toFixed(1)} MiB; trace (${trace.indexBlocks} ` +
        `blocks from ${trace.traceEvents} events): ${t.stats.refPages} by ref → ` +
        `${(t.pof.length / MiB).toFixed(1)} MiB`,
    );
    assert.ok(t.stats.refPages <= s.stats.refPages, 'the trace index is a subset of the scan oracle');
    if (kind === 'pagecache') {
      const datasetPages = (PAGECACHE_MIB * MiB) / 4096;
      assert.ok(
        s.stats.refPages >= datasetPages * 0.9,
        `scan finds the cached dataset: ${s.stats.refPages} refs for ${datasetPages} dataset pages`,
      );
      assert.ok(
        t.stats.refPages >= s.stats.refPages * 0.9,
        `trace finds nearly what scan finds: ${t.stats.refPages} vs ${s.stats.refPages}`,
      );
      assert.ok(t.pof.length < stream.length * 0.7, 'POF stream is much smaller than the QEMU stream');
    }
    if (kind === 'anon')
      assert.ok(
        report.records.page.count - s.stats.refPages >= (64 * MiB) / 4096,
        'stress-ng pages are unique: sent in full',
      );
  });
}

test("a guest with virtio-mem: QEMU's early-setup device section passes through, the stream round-trips byte " +
  'for byte', {
  timeout: 300_000,
}, async () => {
  const c = cap.virtioMem!;
  const stream = readFileSync(c.stream);
  const report = await inspectStream([stream]);
  assert.ok(
    report.earlySections.some((e) => /virtio-mem-device-early$/.test(e.idstr)),
    `early sections: ${JSON.stringify(report.earlySections)}`,
  );
  assert.ok(
    report.ramBlocks.some((b) => /vmem0$/.test(b.idstr)),
    'the virtio-mem RAM block is declared',
  );
  const disk = readFileSync(c.disk);
  const scan = await buildScanIndex(c.disk);
  const s = encodeAll(stream, scan.index, scan.imageBlocks);
  assert.deepEqual(await decodeAll(s.pof, disk, scan.imageBlocks), stream, 'decode(encode(s)) == s');
  const live = await runAgentPair(c.dir, {
    stream: c.stream,
    srcImage: c.disk,
    dstImage: c.disk,
    port: 27314,
    index: ['--index', 'scan'],
  });
  assert.equal(live.source.code, 0, live.source.log);
  assert.equal(live.target.code, 0, live.target.log);
  assert.ok(live.received.equals(stream), 'the live agents hand on exactly the stream');
  console.log(
    `virtio-mem: ${(stream.length / MiB).toFixed(1)} MiB stream, early sections ` +
      `${report.earlySections.map((e) => `${e.idstr} (${e.bytes} B)`).join(', ')}`,
  );
});

test('real streams: truncated or mutated input is an error, never a crash or a read outside the image', {
  timeout: 300_000,
}, async () => {
  const c = cap.pagecache!;
  const stream = readFileSync(c.stream);
  const disk = readFileSync(c.disk);
  const scan = await buildScanIndex(c.disk);
  const { pof } = encodeAll(stream, scan.index, scan.imageBlocks);
  const r = prng(42);
  for (let i = 0; i < 8; i++) {
    const cut = Math.floor(r() * pof.length);
    await assert.rejects(decodeAll(pof.subarray(0, cut), disk, scan.imageBlocks), CodecError, `POF cut at ${cut}`);
  }
  for (let i = 0; i < 8; i++) {
    const bad = Buffer.from(pof);
    const at = Math.floor(r() * bad.length);
    bad[at] ^= 0x5a;
    await assert.rejects(
      decodeAll(bad, disk, scan.imageBlocks),
      (e: unknown) => e instanceof CodecError || e instanceof RefMismatchError,
      `POF mutated at ${at}`,
    );
  }
  const deviceStart = (await inspectStream([stream])).deviceStateOffset!;
  for (let i = 0; i < 60; i++) {
    const bad = Buffer.from(stream.subarray(0, deviceStart + 64));
    const at = Math.floor(r() * deviceStart);
    bad[at] ^= 0xff;
    try {
      const p = new QemuStreamParser();
      p.push(bad.subarray(0, i % 2 ? bad.length : Math.floor(r() * bad.length)));
      p.end();
    } catch (e) {
      assert.ok(e instanceof CodecError, `QEMU stream mutated at ${at}: ${(e as Error).stack}`);
    }
  }
});

test('pofbench stream encode | decode on a real stream: byte-identical, with stats', { timeout: 300_000 }, async () => {
  const c = cap.pagecache!;
  const [node, main] = pofbenchCommand();
  const pof = join(c.dir, 'cli.pof');
  const back = join(c.dir, 'cli.back');
  const enc = await execa(node, [
    main,
    'stream',
    'encode',
    '--nas-image',
    c.disk,
    '--index',
    `trace:${c.trace}`,
    '--in',
    c.stream,
    '--out',
    pof,
    '--stats-json',
    join(c.dir, 'enc.json'),
  ]);
  assert.match(enc.stderr, /pages in full, \d+ by reference/);
  const dec = await execa(node, [
    main,
    'stream',
    'decode',
    '--nas-image',
    c.disk,
    '--in',
    pof,
    '--out',
    back,
    '--stats-json',
    join(c.dir, 'dec.json'),
  ]);
  assert.equal(dec.exitCode, 0);
  assert.ok(readFileSync(back).equals(readFileSync(c.stream)), 'decoded stream equals the captured one');
  // the documented pipe form: encode < qemu.stream | decode > back
  const q = (x: string) => `'${x}'`;
  await execa('sh', [
    '-c',
    `${q(node)} ${q(main)} stream encode --nas-image ${q(c.disk)} --index scan < ${q(c.stream)} | ${q(node)} ` +
      `${q(main)} stream decode --nas-image ${q(c.disk)} > ${q(back)}`,
  ]);
  assert.ok(readFileSync(back).equals(readFileSync(c.stream)), 'piped encode | decode equals the captured stream');
  const es = JSON.parse(readFileSync(join(c.dir, 'enc.json'), 'utf8'));
  const ds = JSON.parse(readFileSync(join(c.dir, 'dec.json'), 'utf8'));
  assert.equal(es.bytes_in, readFileSync(c.stream).length);
  assert.equal(ds.ref_pages, es.ref_pages);
  assert.equal(ds.nas_read_bytes, es.ref_pages * 4096);
  const insp = await execa(node, [main, 'stream', 'inspect', '--json', c.stream]);
  assert.equal(JSON.parse(insp.stdout).bytes, es.bytes_in);
  const bad = await execa(node, [main, 'stream', 'inspect', c.disk], { reject: false });
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /bad magic .*byte offset 0/);
});

test('live agents on loopback deliver the exact stream; changed NAS blocks come from the source', {
  timeout: 300_000,
}, async () => {
  const c = cap.pagecache!;
  const stream = readFileSync(c.stream);
  const ok = await runAgentPair(c.dir, {
    stream: c.stream,
    srcImage: c.disk,
    dstImage: c.disk,
    port: 27311,
    index: ['--trace-log', c.trace],
  });
  assert.equal(ok.source.code, 0, ok.source.log);
  assert.equal(ok.target.code, 0, ok.target.log);
  assert.ok(ok.received.equals(stream), `destination got ${ok.received.length} bytes, expected ${stream.length}`);
  const refs = Number(ok.source.stats!.ref_pages);
  assert.ok(refs > 10000, `pages by reference: ${refs}`);
  assert.equal(ok.target.stats!.ref_pages, refs);
  const nasRead = Number(ok.target.stats!.nas_read_bytes);
  assert.equal(
    nasRead,
    refs * 4096,
    `the target reads each referenced block once and nothing else: ${nasRead} bytes for ${refs} refs`,
  );
  assert.equal(ok.target.stats!.verify_mismatches, 0);
  assert.equal(
    ok.source.stats!.stream_identical,
    true,
    'the source agent compared its input with what the target handed on (length, CRC-32)',
  );
  console.log(
    `agents: ${stream.length} bytes in ${ok.elapsedMs} ms, ${refs} refs, link ${ok.source.stats!.bytes_out} bytes`,
  );

  // the target's NAS view differs in 64 blocks the source referenced: it must still deliver the right bytes
  const changed = join(c.dir, 'changed.raw');
  copyFileSync(c.disk, changed);
  const scan = await buildScanIndex(c.disk);
  const fd = openSync(changed, 'r+');
  let n = 0;
  const page = Buffer.alloc(4096);
  for (const b of [...scan.index.blocks()]
    .sort((x, y) => x - y)
    .filter((_, i) => i % 97 === 0)
    .slice(0, 64)) {
    readSync(fd, page, 0, 4096, b * 4096);
    page[0] ^= 0xff;
    writeSync(fd, page, 0, 4096, b * 4096);
    n++;
  }
  closeSync(fd);
  const fb = await runAgentPair(c.dir, {
    stream: c.stream,
    srcImage: c.disk,
    dstImage: changed,
    port: 27312,
    index: ['--index', 'scan'],
  });
  assert.equal(fb.target.code, 0, fb.target.log);
  assert.ok(fb.received.equals(stream), 'byte-exact despite changed blocks');
  assert.ok(
    Number(fb.target.stats!.verify_mismatches) > 0 &&
      fb.target.stats!.verify_mismatches === fb.target.stats!.fallback_pages,
    `mismatches ${fb.target.stats!.verify_mismatches}, fallbacks ${fb.target.stats!.fallback_pages} (of ${n} ` +
      `changed blocks)`,
  );
});

test('a source agent with the wrong secret is refused before any byte reaches QEMU', { timeout: 120_000 }, async () => {
  const c = cap.idle!;
  writeFileSync(join(c.dir, 'x'), '');
  const r = await runAgentPair(c.dir, {
    stream: c.stream,
    srcImage: c.disk,
    dstImage: c.disk,
    port: 27313,
    srcSecret: 'b'.repeat(40),
    targetArgs: [],
  });
  assert.notEqual(r.source.code, 0);
  assert.equal(r.received.length, 0, 'nothing reached the destination QEMU');
  assert.match(r.source.log, /refused|authentication/);
});

test('fuzz: the real target agent rejects truncated/mutated real streams and random frames cleanly (seeded)', {
  timeout: 300_000,
}, async () => {
  const c = cap.idle!;
  const scan = await buildScanIndex(c.disk);
  const { pof } = encodeAll(readFileSync(c.stream), scan.index, scan.imageBlocks);
  const r = await fuzzTargetAgent({ pof, image: c.disk, cases: 24, seed: 7, basePort: 27700 });
  console.log(`fuzz: ${JSON.stringify(r.byKind)}, RSS growth ${r.rssGrowthMb} MB`);
  assert.equal(r.cases.length, 24, 'no case hung');
  for (const k of r.cases) assert.equal(k.outcome, 'rejected', `case ${k.index} (${k.kind}): ${k.outcome}`);
  assert.ok(
    r.cases
      .filter((k) => k.kind === 'oversized-frame' || k.kind === 'random-frames')
      .every((k) => k.deliveredBytes === 0 || k.kind === 'random-frames'),
    'an oversized frame is refused before anything reaches QEMU',
  );
  assert.ok(r.rssGrowthMb < 400, `memory stays bounded: RSS grew ${r.rssGrowthMb} MB`);
});
