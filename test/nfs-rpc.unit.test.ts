import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import {
  RecordParser,
  RpcConnection,
  RpcConnectionError,
  RpcError,
  RpcTimeoutError,
  XdrReader,
  XdrWriter,
  authSys,
} from '../src/nfs/index.js';

// ONC-RPC record marking and the pipelined connection, against a fake server on loopback.

function frame(body: Buffer, last = true): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(((last ? 0x8000_0000 : 0) + body.length) >>> 0);
  return Buffer.concat([h, body]);
}

test('record parser: several records per chunk, records split anywhere, multi-fragment records', () => {
  const got: Buffer[] = [];
  // a record is valid only during the callback (views of the chunk, or the parser's reused scratch)
  const p = new RecordParser((r) => got.push(Buffer.from(r)));
  const a = Buffer.from('first record');
  const b = Buffer.from('second, in two fragments');
  const c = Buffer.alloc(0);
  const stream = Buffer.concat([frame(a), frame(b.subarray(0, 7), false), frame(b.subarray(7)), frame(c)]);
  p.push(stream);
  assert.deepEqual(got.map(String), [String(a), String(b), '']);
  const views: Buffer[] = [];
  new RecordParser((r) => views.push(r)).push(stream);
  assert.equal(views[0].buffer, stream.buffer, 'a record inside one chunk is a view of it (no copy)');
  const scratch: Buffer[] = [];
  const split = new RecordParser((r) => scratch.push(r));
  for (const byte of Buffer.concat([frame(a), frame(Buffer.from('another'))])) split.push(Buffer.from([byte]));
  assert.equal(scratch[0].buffer, scratch[1].buffer, 'records spread over chunks are assembled in one reused buffer');
  got.length = 0;
  for (const byte of stream) p.push(Buffer.from([byte]));
  assert.deepEqual(got.map(String), [String(a), String(b), '']);
  assert.ok(p.idle);
  got.length = 0;
  for (let cut = 1; cut < stream.length; cut++) {
    p.push(stream.subarray(0, cut));
    p.push(stream.subarray(cut));
  }
  assert.equal(got.length, 3 * (stream.length - 1));
  assert.throws(() => new RecordParser(() => undefined, 100).push(frame(Buffer.alloc(101))), /more than 100 bytes/);
});

test('XDR round trip: uint64 beyond 32 bits, padded opaques, strings', () => {
  const w = new XdrWriter(8).u64(0x1_2345_6789).opaque(Buffer.from('abcde')).string('héllo').bool(true).u32(7);
  const r = new XdrReader(w.finish());
  assert.equal(r.u64(), 0x1_2345_6789);
  assert.equal(String(r.opaque()), 'abcde');
  assert.equal(r.string(), 'héllo');
  assert.equal(r.bool(), true);
  assert.equal(r.u32(), 7);
  assert.equal(r.remaining, 0);
  assert.throws(() => r.u32(), /truncated/);
  assert.throws(() => authSys({ uid: 0, gid: 0, gids: Array(17).fill(0) }), /at most 16 groups/);
});

interface Call {
  xid: number;
  proc: number;
  arg: number;
  sock: Socket;
}

/** A fake RPC server: hands each parsed call (xid, proc, first argument word) to `onCall`. */
async function fakeServer(onCall: (c: Call) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((sock) => {
    const p = new RecordParser((rec) => {
      const r = new XdrReader(rec);
      const xid = r.u32();
      r.skip(16);
      const proc = r.u32();
      r.u32();
      r.opaque();
      r.u32();
      r.opaque();
      onCall({ xid, proc, arg: r.remaining >= 4 ? r.u32() : -1, sock });
    });
    sock.on('data', (d) => p.push(d));
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

/** Accepted SUCCESS reply carrying one word; or, with `acceptStat`, a refusal. */
function reply(xid: number, value: number, acceptStat = 0): Buffer {
  const w = new XdrWriter(64).u32(xid).u32(1).u32(0).u32(0).u32(0).u32(acceptStat);
  if (acceptStat === 0) w.u32(value);
  if (acceptStat === 2) w.u32(3).u32(3);
  return frame(Buffer.from(w.finish()));
}

test('replies out of order and coalesced are matched by xid; at most maxInFlight calls are out', async () => {
  const held: Call[] = [];
  let peakHeld = 0;
  const { server, port } = await fakeServer((c) => {
    held.push(c);
    peakHeld = Math.max(peakHeld, held.length);
    if (held.length === 8) {
      const batch = held.splice(0).reverse();
      batch[0].sock.write(Buffer.concat(batch.map((h) => reply(h.xid, h.arg * 10))));
    }
  });
  const c = await RpcConnection.connect({ host: '127.0.0.1', port, maxInFlight: 8, label: 'T' });
  try {
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => c.call(1, 1, 1, (w) => w.u32(i), `call ${i}`).then((r) => r.u32())),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 64 }, (_, i) => i * 10),
    );
    assert.equal(peakHeld, 8);
    assert.equal(c.peakInFlight, 8);
  } finally {
    await c.close();
    server.close();
  }
});

test('maxInFlightBytes bounds the replies expected in flight; an oversized call still goes alone', async () => {
  let out = 0;
  let peak = 0;
  const { server, port } = await fakeServer((c) => {
    peak = Math.max(peak, ++out);
    setTimeout(() => {
      out--;
      c.sock.write(reply(c.xid, c.arg));
    }, 5);
  });
  const c = await RpcConnection.connect({ host: '127.0.0.1', port, maxInFlightBytes: 1000 });
  try {
    const small = Array.from({ length: 10 }, (_, i) =>
      c.call(1, 1, 1, (w) => w.u32(i), 'small', { replyBytes: 400 }).then((r) => r.u32()),
    );
    const big = c.call(1, 1, 1, (w) => w.u32(99), 'big', { replyBytes: 5000 }).then((r) => r.u32());
    assert.deepEqual(await Promise.all([...small, big]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99]);
    assert.equal(peak, 2);
    assert.equal(c.peakInFlight, 2);
  } finally {
    await c.close();
    server.close();
  }
});

test('timeouts, refused calls, and a dead connection failing every pending call', async () => {
  const { server, port } = await fakeServer((call) => {
    if (call.proc === 2) call.sock.write(reply(call.xid, 0, 2));
    if (call.proc === 3) call.sock.destroy();
  });
  const c = await RpcConnection.connect({ host: '127.0.0.1', port, label: 'NFS', callTimeoutMs: 150 });
  try {
    await assert.rejects(
      c.call(1, 3, 2, () => undefined, 'READ x'),
      (e: unknown) => e instanceof RpcError && e.code === 'PROG_MISMATCH' && /versions 3\.\.3/.test(e.message),
    );
    await assert.rejects(
      c.call(1, 3, 1, () => undefined, 'READ y'),
      RpcTimeoutError,
    );
    await assert.rejects(
      c.call(1, 3, 1, (w) => w.string('x'.repeat(300), 255), 'LOOKUP'),
      /exceeds its limit of 255/,
    );
    const pending = Array.from({ length: 5 }, () => c.call(1, 3, 1, () => undefined, 'READ z', { timeoutMs: 5000 }));
    setTimeout(() => void c.call(1, 3, 3, () => undefined, 'kill').catch(() => undefined), 50);
    for (const p of pending) {
      await assert.rejects(
        p,
        (e: unknown) => e instanceof RpcConnectionError && /is dead .*6 call\(s\) pending/.test(e.message),
      );
    }
    await assert.rejects(
      c.call(1, 3, 1, () => undefined, 'after'),
      RpcConnectionError,
    );
  } finally {
    await c.close();
    server.close();
  }
  await assert.rejects(
    RpcConnection.connect({ host: '127.0.0.1', port, label: 'NFS' }),
    /NFS: cannot connect to 127\.0\.0\.1/,
  );
});
