import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { SlabWriter } from '../src/agent/slabWriter.js';
import { crc32 } from '../src/codec/crc32.js';

async function roundTrip(mode: 'append' | 'appendView') {
  const dir = mkdtempSync(join(tmpdir(), 'pofb-slab-'));
  const path = join(dir, 's.sock');
  const received: Buffer[] = [];
  let done!: () => void;
  const ended = new Promise<void>((r) => {
    done = r;
  });
  const server = createServer((s) => {
    s.on('data', (d: Buffer) => received.push(d));
    s.on('end', done);
  });
  await new Promise<void>((r) => server.listen(path, r));
  let sock: Socket | undefined;
  try {
    sock = connect(path);
    await new Promise<void>((r, j) => {
      sock!.once('connect', r);
      sock!.once('error', j);
    });
    let seen = 0;
    let written = 0;
    const w = new SlabWriter(sock, {
      onSlab: (b) => {
        seen = crc32(b, seen);
      },
      onWritten: (n) => {
        written += n;
      },
      slabBytes: 64 * 1024,
      maxPooled: 4,
    });
    const sent: Buffer[] = [];
    // sizes like the agents': 8-byte headers, 41-byte REFs, 4 KiB pages, and pieces larger than a slab
    const sizes = [8, 4096, 41, 5, 100000, 8, 4096, 1, 70000, 0, 65536, 3];
    for (let round = 0; round < 200; round++) {
      for (const n of sizes) {
        const b = randomBytes(n);
        sent.push(b);
        if (mode === 'append') w.append(b);
        else w.appendView(b);
      }
      if (mode === 'appendView') sock.uncork();
      if (!w.flush()) await new Promise((r) => sock!.once('drain', r));
      if (mode === 'appendView' && round % 2 === 0) sock.cork();
    }
    await new Promise<void>((r) => sock!.end(r));
    await ended;
    const all = Buffer.concat(sent);
    const got = Buffer.concat(received);
    assert.equal(got.length, all.length);
    assert.ok(got.equals(all), 'the bytes arrive unchanged and in order');
    assert.equal(seen, zlibCrc32(all) >>> 0, 'onSlab saw every byte once, in order');
    assert.equal(written, all.length, 'onWritten was told every written byte');
    assert.ok(
      mode === 'appendView' || w.slabsAllocated < 200,
      `slabs are reused (${w.slabsAllocated} allocated for ${Math.round(all.length / 65536)} slabs written)`,
    );
  } finally {
    sock?.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test(
  'SlabWriter: a real socket receives exactly the appended bytes, in order; slabs are reused; onSlab sees every ' +
    'byte, onWritten counts them',
  () => roundTrip('append'),
);

test(
  'SlabWriter.appendView: large pieces written uncopied, between slabs, corked or not — the same bytes in order, ' +
    'onSlab and onWritten see every byte once',
  () => roundTrip('appendView'),
);
