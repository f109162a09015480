/**
 * `pofbench fuzz target` in small (issue 15): hostile streams, hostile handshakes and a hostile
 * target's back-channel against the real agents in process, on a synthetic image and stream (no
 * QEMU). Every case is rejected, none authenticates, and the run reports how deep the cases got.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzTargetAgent } from '../src/agent/fuzzTarget.js';
import { buildScanIndex } from '../src/codec/blockindex.js';
import { Encoder } from '../src/codec/encoder.js';
import { synthImageAndStream } from './helpers/synthStream.js';

const dir = mkdtempSync(join(tmpdir(), 'pofbench-fuzz-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('fuzz: streams, handshakes and the back-channel are all rejected, depth reported', {
  timeout: 120_000,
}, async () => {
  const { image, stream } = synthImageAndStream(11, 128, 384);
  const imagePath = join(dir, 'disk.img');
  writeFileSync(imagePath, image);
  const { index, imageBlocks } = await buildScanIndex(imagePath);
  const enc = new Encoder({ lookup: (p) => index.lookup(p), imageBlocks });
  const pof = Buffer.concat([...enc.push(stream), ...enc.end()]);
  assert.ok(enc.stats().refPages > 0);

  const r = await fuzzTargetAgent({
    pof,
    image: imagePath,
    cases: 8,
    handshakeCases: 24,
    backchannelCases: 12,
    seed: 5,
    basePort: 27420,
  });
  console.log(`fuzz: ${JSON.stringify(r.byKind)}`);
  console.log(`depth: ${JSON.stringify(r.depth)}, RSS growth ${r.rssGrowthMb} MB`);
  assert.equal(r.cases.length, 8 + 24 + 12, 'no case hung');
  for (const c of r.cases) assert.equal(c.outcome, 'rejected', `case ${c.index} (${c.kind}): ${c.error ?? ''}`);
  const depth = Object.fromEntries(r.depth.map((d) => [d.path, d]));
  assert.deepEqual(Object.keys(depth), ['stream', 'handshake', 'backchannel']);
  assert.equal(depth.handshake.authenticated, 0, 'no hostile peer got AUTH_OK');
  const hsPast = depth.handshake.pastHeader;
  assert.ok(hsPast > 0 && hsPast < 24, `some handshakes got past the AUTH header, not all: ${hsPast}`);
  assert.ok(depth.stream.pastHeader > 0, 'stream cases got past the first frame header');
  assert.ok(depth.stream.pastEnd > 0, 'some mutated streams were only caught at or after END');
  assert.ok(depth.backchannel.pastHeader > 0 && depth.backchannel.pastEnd > 0, 'back-channel cases got in deep');
  const hostile = r.cases.filter((c) => c.kind.startsWith('hs-'));
  assert.ok(
    hostile.every((c) => c.deliveredBytes === 0),
    'no byte reached QEMU',
  );
  assert.equal(r.legitAfterHandshakes, true, `an authenticated source migrated afterwards: ${r.legitError}`);
});
