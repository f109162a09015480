import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NasImage } from '../src/agent/nasImage.js';
import { TraceIndexer } from '../src/agent/indexer.js';

const line = (op: 'readv' | 'writev', block: number, blocks = 1) =>
  `blk_co_p${op} blk 0x55fe96006860 bs 0x55fe96006bb0 offset ${block * 4096} bytes ${blocks * 4096} flags 0x0\n`;

test(
  'trace indexer: reads are indexed from the image, writes drop blocks; caught up once the log is read ' + 'and hashed',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pofbench-indexer-'));
    try {
      const content = randomBytes(64 * 4096);
      writeFileSync(join(dir, 'img.raw'), content);
      const log = join(dir, 'trace.log');
      const image = await NasImage.open(join(dir, 'img.raw'));
      const ticks: boolean[] = [];
      const ix = new TraceIndexer(log, image, () => undefined, 60_000);
      ix.onTick = (i) => ticks.push(i.caughtUp);

      await ix.tick();
      assert.equal(ix.caughtUp, false, 'no trace log yet: not caught up');

      writeFileSync(log, line('readv', 0, 8) + line('readv', 20, 4));
      await ix.tick();
      assert.equal(ix.caughtUp, true);
      assert.equal(ix.index.size, 12);
      assert.equal(ix.nasReadBytes, 12 * 4096, 'each block read once');
      const ref = ix.index.lookup(content.subarray(21 * 4096, 22 * 4096));
      assert.equal(ref?.block, 21, 'a page equal to block 21 is found as block 21');

      // a write drops the block at once (re-hashed only after the delay, 60 s here)
      appendFileSync(log, `${line('writev', 21)}blk_co_preadv blk 0x55fe96006860 bs 0x55f`);
      await ix.tick();
      assert.equal(
        ix.index.lookup(content.subarray(21 * 4096, 22 * 4096)),
        undefined,
        'written block no longer referenced',
      );
      assert.equal(ix.index.size, 11);
      assert.equal(ix.caughtUp, true, 'a partial last line and blocks waiting to be re-hashed do not hold it back');
      assert.deepEqual(ticks, [false, true, true], 'onTick after every tick');
      await ix.stop();
      await image.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
