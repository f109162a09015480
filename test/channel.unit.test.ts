import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader, FrameType, encodeFrame, u64 } from '../src/agent/channel.js';
import { prng } from './helpers/synthStream.js';

/** A channel byte stream: DATA frames of assorted sizes between control frames. */
function sampleChannel(): { wire: Buffer; data: Buffer; control: { type: number; payload: Buffer }[] } {
  const r = prng(5);
  const parts: Buffer[] = [];
  const data: Buffer[] = [];
  const control: { type: number; payload: Buffer }[] = [];
  for (let i = 0; i < 60; i++) {
    const n = [0, 1, 7, 4096, 65536, 200_000][Math.floor(r() * 6)];
    const payload = Buffer.alloc(n, i);
    parts.push(encodeFrame(FrameType.DATA, payload));
    data.push(payload);
    if (i % 7 === 3) {
      const c = { type: FrameType.PAGE, payload: Buffer.concat([u64(i), Buffer.alloc(4096, 255 - i)]) };
      parts.push(encodeFrame(c.type, c.payload));
      control.push(c);
    }
  }
  const end = { type: FrameType.END, payload: Buffer.alloc(0) };
  parts.push(encodeFrame(end.type, end.payload));
  control.push(end);
  return { wire: Buffer.concat(parts), data: Buffer.concat(data), control };
}

test('frame reader: DATA is handed on in pieces as it arrives, other frames whole, for any chunking', () => {
  const { wire, data, control } = sampleChannel();
  for (const seed of [1, 2, 3]) {
    const r = prng(seed);
    const reader = new FrameReader();
    const gotData: Buffer[] = [];
    const gotControl: { type: number; payload: Buffer }[] = [];
    for (let at = 0; at < wire.length; ) {
      const n = Math.min(wire.length - at, 1 + Math.floor(r() * (seed === 1 ? 9 : 70_000)));
      for (const f of reader.push(wire.subarray(at, at + n))) {
        if (f.type === FrameType.DATA) gotData.push(f.payload);
        else gotControl.push({ type: f.type, payload: Buffer.from(f.payload) });
      }
      at += n;
    }
    assert.ok(Buffer.concat(gotData).equals(data), `seed ${seed}: DATA bytes in order`);
    assert.deepEqual(gotControl, control, `seed ${seed}: control frames whole and in order`);
    assert.equal(reader.pendingBytes, 0);
    assert.equal(reader.offset, wire.length);
  }
});

test('frame reader: a DATA frame does not wait to be complete, and bad headers name their offset', () => {
  const reader = new FrameReader();
  const frame = encodeFrame(FrameType.DATA, Buffer.alloc(100_000, 1));
  const first = reader.push(frame.subarray(0, 5 + 1000));
  assert.equal(first.length, 1);
  assert.equal(first[0].payload.length, 1000, 'the first 1000 payload bytes are out before the rest arrives');
  assert.equal(
    reader.push(frame.subarray(5 + 1000)).reduce((n, f) => n + f.payload.length, 0),
    99_000,
  );
  assert.throws(() => reader.push(Buffer.from([0x99, 0, 0, 0, 0])), /unknown frame type 0x99 at byte 100005/);
  const big = Buffer.alloc(5);
  big[0] = FrameType.DATA;
  big.writeUInt32BE(64 * 1024 * 1024, 1);
  assert.throws(() => new FrameReader().push(big), /frame length 67108864 at byte 0 exceeds/);
});

test('stream window: 64 ms of the link rate, at least 8 MiB, 8 MiB when the rate is unknown', async () => {
  const { streamWindowMib } = await import('../src/strategy/pof.js');
  assert.equal(streamWindowMib(undefined), 8);
  assert.equal(streamWindowMib(100), 8);
  assert.equal(streamWindowMib(1000), 8);
  assert.equal(streamWindowMib(10000), 77);
  // QEMU's switchover rate: the link's less the window's share of the downtime limit, at least half of it
  const { switchoverBandwidth } = await import('../src/strategy/pof.js');
  const link = 125_000_000;
  const backlogMs = ((8 << 20) / link) * 1000; // 67 ms of a 300 ms limit
  assert.equal(switchoverBandwidth(1000, 300), Math.round(link * (1 - backlogMs / 300)));
  assert.equal(switchoverBandwidth(1000, 50), link / 2, 'a window longer than the limit: half the link');
  assert.equal(switchoverBandwidth(300, 300), 300e6 / 16, '8 MiB at 300 Mbit/s is 224 ms: half the link');
});
