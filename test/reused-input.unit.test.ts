import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ByteQueue } from '../src/codec/bytes.js';
import { FrameReader, FrameType, encodeFrame } from '../src/agent/channel.js';
import { readIntoReusedBuffer } from '../src/util/reusedInput.js';
import { ReadGatherer } from '../src/agent/readGatherer.js';
import type { TargetStats } from '../src/agent/protocol.js';

test('ByteQueue.detach: the bytes not consumed survive the caller overwriting the chunks it pushed', () => {
  const q = new ByteQueue();
  const a = Buffer.from('0123456789');
  const b = Buffer.from('abcdef');
  q.push(a);
  q.push(b);
  q.skip(7);
  q.detach();
  a.fill(0);
  b.fill(0);
  assert.equal(q.length, 9);
  assert.equal(q.take(9).toString(), '789abcdef');
  q.detach();
  assert.equal(q.length, 0);
});

test('FrameReader.detach: a frame a reused chunk cut comes out whole after the chunk is overwritten', () => {
  const r = new FrameReader();
  const page = randomBytes(4104);
  const wire = Buffer.concat([encodeFrame(FrameType.PAGE, page), encodeFrame(FrameType.END)]);
  const reused = Buffer.alloc(3000);
  const frames = [];
  for (let at = 0; at < wire.length; at += reused.length) {
    const n = wire.copy(reused, 0, at, at + reused.length);
    frames.push(...r.push(reused.subarray(0, n)));
    r.detach();
    reused.fill(0xee);
  }
  assert.deepEqual(
    frames.map((f) => f.type),
    [FrameType.PAGE, FrameType.END],
  );
  assert.ok(frames[0].payload.equals(page), 'the PAGE payload is the bytes sent, not the overwritten chunk');
});

/** A unix server whose first connection is handed to `onConn`; a client connected to it. */
async function socketPair(
  pauseOnConnect: boolean,
  onConn: (s: Socket) => void,
): Promise<{ client: Socket; server: Server; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pofb-reused-'));
  const path = join(dir, 's.sock');
  const server = createServer({ pauseOnConnect }, onConn);
  await new Promise<void>((r) => server.listen(path, r));
  const client = connect(path);
  await new Promise<void>((r, j) => {
    client.once('connect', r);
    client.once('error', j);
  });
  return { client, server, dir };
}

async function send(client: Socket, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; at += 100_003) {
    if (!client.write(data.subarray(at, at + 100_003))) await new Promise((r) => client.once('drain', r));
  }
  await new Promise<void>((r) => client.end(r));
}

test('readIntoReusedBuffer: one reused buffer; a paused consumer keeps its view until it resumes', async () => {
  const data = randomBytes(6 << 20);
  const got: Buffer[] = [];
  const buffers = new Set<ArrayBufferLike>();
  let done!: () => void;
  const ended = new Promise<void>((r) => {
    done = r;
  });
  let reused = false;
  let pauses = 0;
  const { client, server, dir } = await socketPair(true, (accepted) => {
    const input = readIntoReusedBuffer(accepted, (chunk) => {
      buffers.add(chunk.buffer);
      const copy = Buffer.from(chunk);
      // every fourth read: hold the view over a timer, paused, then check nothing overwrote it
      if (got.length % 4 === 0) {
        pauses++;
        input.socket.pause();
        setTimeout(() => {
          assert.ok(chunk.equals(copy), 'a paused read buffer is not overwritten');
          input.socket.resume();
        }, 2);
      }
      got.push(copy);
    });
    reused = input.reused;
    input.socket.on('end', done);
  });
  try {
    await send(client, data);
    await ended;
    assert.ok(reused, "this Node's accepted sockets take a reused buffer");
    assert.ok(Buffer.concat(got).equals(data), 'the bytes arrive unchanged and in order');
    assert.equal(buffers.size, 1, `${got.length} reads, all into one buffer`);
    assert.ok(pauses > 1);
  } finally {
    client.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readIntoReusedBuffer: bytes read before the handover come first, then the rest in order', async () => {
  const first = randomBytes(20_000);
  const rest = randomBytes(3 << 20);
  const got: Buffer[] = [];
  let done!: () => void;
  const ended = new Promise<void>((r) => {
    done = r;
  });
  let arrived!: (s: Socket) => void;
  const acceptedP = new Promise<Socket>((r) => {
    arrived = r;
  });
  const { client, server, dir } = await socketPair(false, (s) => {
    s.pause();
    arrived(s);
  });
  try {
    client.write(first);
    const accepted = await acceptedP;
    // let Node read the first bytes into its own buffer while paused
    for (let i = 0; i < 100 && accepted.readableLength < first.length; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(accepted.readableLength, first.length, 'the accepted socket holds bytes before the handover');
    const input = readIntoReusedBuffer(accepted, (chunk) => got.push(Buffer.from(chunk)));
    input.socket.on('end', done);
    await send(client, rest);
    await ended;
    assert.ok(Buffer.concat(got).equals(Buffer.concat([first, rest])));
  } finally {
    client.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ReadGatherer: reads gather in reused slabs, batches are views, a released slab is read again', async () => {
  const data = randomBytes(12 << 20);
  const got: Buffer[] = [];
  const retired: Buffer[] = [];
  let done!: () => void;
  const ended = new Promise<void>((r) => {
    done = r;
  });
  const stats = { socket_reads: 0, batches: 0 } as TargetStats;
  const slabsSeen = new Set<ArrayBufferLike>();
  const { client, server, dir } = await socketPair(true, (accepted) => {
    const g: ReadGatherer = new ReadGatherer(
      accepted,
      stats,
      (chunks) => {
        for (const c of chunks) {
          slabsSeen.add(c.buffer);
          got.push(Buffer.from(c));
        }
      },
      (e) => assert.fail(e),
      // the consumer here copies every batch at once: a retired slab is free right away
      (slab) => {
        retired.push(slab);
        g.release(slab);
      },
    );
    g.socket.on('end', () => setImmediate(done));
  });
  try {
    await send(client, data);
    await ended;
    assert.ok(Buffer.concat(got).equals(data), 'the batches are the bytes sent, in order');
    assert.ok(retired.length >= 10, `${retired.length} slabs retired for 12 MiB`);
    assert.ok(slabsSeen.size <= 2, `released slabs are read into again (${slabsSeen.size} slabs for 12 MiB)`);
    assert.ok(stats.batches <= stats.socket_reads);
  } finally {
    client.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
