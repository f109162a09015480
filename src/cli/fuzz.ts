import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { table } from 'table';
import { fuzzTargetAgent } from '../agent/fuzzTarget.js';
import { encodeStream } from '../agent/offline.js';
import { buildScanIndex } from '../codec/blockindex.js';
import { PassThrough, Readable } from 'node:stream';
import { UserError } from '../util/errors.js';

/** `pofbench fuzz target` — the longer hostile-input run (the test suite runs a bounded one). */
export function registerFuzzCommand(program: Command): void {
  const fuzz = program.command('fuzz').description('hostile-input runs against the POF agents');
  fuzz.command('target')
    .description('an authenticated peer sends truncated/mutated real POF streams and random frames to a real target agent; every case must be rejected cleanly')
    .requiredOption('--stream <FILE>', 'a captured QEMU stream (encoded to POF against --nas-image first)')
    .requiredOption('--nas-image <IMG>', 'the disk image the stream refers to')
    .option('--cases <n>', 'number of cases', '200')
    .option('--seed <n>', 'seed (cases are deterministic by seed)', '1')
    .option('--base-port <n>', 'loopback ports used from here', '47600')
    .action(async (o: { stream: string; nasImage: string; cases: string; seed: string; basePort: string }) => {
      const cases = Number(o.cases);
      if (!Number.isInteger(cases) || cases < 1) throw new UserError(`--cases must be a positive integer, got "${o.cases}"`);
      const idx = await buildScanIndex(o.nasImage);
      const sink = new PassThrough();
      const parts: Buffer[] = [];
      sink.on('data', (d: Buffer) => parts.push(d));
      await encodeStream(Readable.from([readFileSync(o.stream)]), sink, idx.index, idx.imageBlocks);
      const r = await fuzzTargetAgent({ pof: Buffer.concat(parts), image: o.nasImage, cases, seed: Number(o.seed), basePort: Number(o.basePort), log: (l) => process.stderr.write(`fuzz: ${l}\n`) });
      console.log(table([['kind:outcome', 'cases'], ...Object.entries(r.byKind).map(([k, v]) => [k, String(v)])]));
      console.log(`seed ${r.seed}, ${r.cases.length} cases, RSS growth ${r.rssGrowthMb} MB`);
      if (r.cases.some((c) => c.outcome !== 'rejected') || r.cases.length < cases) process.exitCode = 1;
    });
}
