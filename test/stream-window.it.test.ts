import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthImageAndStream } from '../src/codec/synth.js';
import { runAgentPair } from '../src/bench/agentPair.js';

/**
 * The stream window: a slow destination QEMU holds the source agent back, so at most one window of
 * QEMU's stream is between the source QEMU and the destination QEMU at any time (QEMU's bandwidth
 * estimate then is the pipeline's delivery rate, and the backlog at switchover one window).
 */
test('stream window: with a slow destination QEMU the source keeps at most one window undelivered, and the stream ' +
  'arrives exact', {
  timeout: 180_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pofb-window-'));
  try {
    // ~24 MiB of stream: a third references to the image, a third zero pages, a third unique pages
    const { image, stream } = synthImageAndStream(7, 4096, 18000);
    writeFileSync(join(dir, 'disk.raw'), image);
    writeFileSync(join(dir, 'stream.bin'), stream);
    const windowMib = 1;
    const r = await runAgentPair(dir, {
      stream: join(dir, 'stream.bin'),
      srcImage: join(dir, 'disk.raw'),
      dstImage: join(dir, 'disk.raw'),
      port: 27321,
      sourceArgs: ['--stream-window-mib', String(windowMib)],
      sinkBytesPerSec: 12 * 1024 * 1024,
    });
    assert.equal(r.source.code, 0, r.source.log);
    assert.equal(r.target.code, 0, r.target.log);
    assert.ok(r.received.equals(stream), "the destination got exactly the source QEMU's stream");
    const s = r.source.stats!;
    assert.equal(s.stream_window_bytes, windowMib << 20);
    assert.ok(Number(s.stream_window_waits) > 0, `the window held QEMU back (${s.stream_window_waits} waits)`);
    // one QEMU chunk (a socket read, <= 1 MiB) may land on top of a window that was not yet full
    assert.ok(
      Number(s.stream_window_peak_bytes) <= (windowMib << 20) + (1 << 20),
      `at most one window (+ one read) undelivered: peak ${s.stream_window_peak_bytes} bytes`,
    );
    assert.ok(Number(s.ref_pages) > 0, 'references went through the window too');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
