/**
 * Graceful degradation: the NAS stops answering the target agent for good once the migration has
 * begun (killed, or hung). The real agents keep going — every referenced page then comes from the
 * source's retention window and the source sends the rest in full — and the destination gets exactly
 * the source's stream. Real ganesha (a scratch NAS in its own namespace), real agents, the target
 * reading with its own NFS client; no QEMU (the byte-exact stream is what the destination QEMU loads).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScratchNas, type ScratchNas } from '../src/testbed/local/scratchNas.js';
import { runAgentPair } from '../src/bench/agentPair.js';
import { synthStream, randomPage, type SynthPage } from '../src/codec/synth.js';
import { mulberry32 } from '../src/util/prng.js';
import { pidRunning } from '../src/util/exec.js';

const PAGE = 4096;
const DISK_BLOCKS = 8192; // 32 MiB image
let nas: ScratchNas;
let dir: string;
let disk: Buffer;

before(
  async () => {
    nas = await startScratchNas({ name: 'nasdown', slot: 2 });
    dir = mkdtempSync(join(tmpdir(), 'pofbench-nasdown-'));
    const r = mulberry32(5);
    disk = Buffer.concat(Array.from({ length: DISK_BLOCKS }, () => randomPage(r)));
    await mkdir(join(nas.exportDir, 'runs'), { recursive: true });
    await writeFile(join(nas.exportDir, 'runs', 'disk.raw'), disk);
    writeFileSync(join(dir, 'disk.raw'), disk);
  },
  { timeout: 60_000 },
);

after(async () => {
  await nas?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A stream of 16 sections, each 512 pages: 7 in 8 are disk blocks (go by reference), the rest random. */
function stream(): Buffer {
  const r = mulberry32(9);
  const sections: SynthPage[][] = [];
  for (let s = 0; s < 16; s++) {
    const pages: SynthPage[] = [];
    for (let i = 0; i < 512; i++) {
      const addr = (s * 512 + i) * PAGE;
      const b = (s * 512 + i) % DISK_BLOCKS;
      pages.push({ addr, content: i % 8 === 7 ? randomPage(r) : disk.subarray(b * PAGE, (b + 1) * PAGE) });
    }
    sections.push(pages);
  }
  return synthStream({ sections, blockBytes: 16 * 512 * PAGE });
}

for (const how of ['killed', 'hung'] as const) {
  test(`the NAS ${how} for good after the migration began: the agents finish from the source, byte for byte`, {
    timeout: 120_000,
  }, async () => {
    const s = stream();
    const file = join(dir, `${how}.stream`);
    writeFileSync(file, s);
    const ganesha = nas.ganeshaPid;
    const r = await runAgentPair(dir, {
      stream: file,
      srcImage: join(dir, 'disk.raw'),
      dstImage: `nfs://${nas.server}/export/runs/disk.raw`,
      port: 27520 + (how === 'killed' ? 0 : 1),
      targetArgs: ['--nas-timeout-ms', '500'],
      sourceArgs: ['--retention-pages', '256'],
      // the target has opened the image over NFS; now the NAS goes away
      beforeStream: async () => {
        process.kill(ganesha, how === 'killed' ? 'SIGKILL' : 'SIGSTOP');
      },
    });
    assert.equal(r.target.code, 0, r.target.log);
    assert.equal(r.source.code, 0, r.source.log);
    assert.ok(r.received.equals(s), `the destination got the exact stream (${r.received.length} of ${s.length} bytes)`);
    const unavailable = Number(r.target.stats!.nas_unavailable_pages);
    assert.ok(unavailable > 0, `referenced pages fetched from the source: ${unavailable}`);
    assert.equal(r.target.stats!.nas_read_bytes, 0, 'nothing came from the dead NAS');
    assert.match(
      String(r.target.stats!.nas_error),
      how === 'killed' ? /dead|closed|ECONNRESET|connection/i : /within 500 ms|longer than 500 ms/i,
    );
    assert.equal(
      typeof r.source.stats!.nas_down_after_ms,
      'number',
      'the source was told and sent pages in full from then on',
    );
    const full = Number(r.source.stats!.full_pages);
    const refs = Number(r.source.stats!.ref_pages);
    assert.ok(full > 16 * 64, `pages in full: ${full} (more than the 1 in 8 random ones), refs ${refs}`);
    assert.equal(refs, unavailable, 'every ref sent before the source knew was served from its window');
    console.log(
      `NAS ${how}: ${refs} refs served from the source's window, ${full} pages in full; source learnt after ` +
        `${r.source.stats!.nas_down_after_ms} ms`,
    );
    // the scratch NAS comes back for the next case
    if (how === 'hung') process.kill(ganesha, 'SIGCONT');
    if (how === 'killed') {
      assert.equal(await pidRunning(ganesha), false);
      await nas.stop();
      nas = await startScratchNas({ name: 'nasdown', slot: 2 });
      await mkdir(join(nas.exportDir, 'runs'), { recursive: true });
      await writeFile(join(nas.exportDir, 'runs', 'disk.raw'), disk);
    }
  });
}
