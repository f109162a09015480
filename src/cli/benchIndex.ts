import type { Command } from 'commander';
import { table } from 'table';
import { benchIndex } from '../bench/indexBench.js';
import { UserError } from '../util/errors.js';

function count(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`${name} must be ${min}..${max}, got "${value}"`);
  return n;
}

/** `pofbench bench index` — memory per block and lookup cost of the block index (src/bench/indexBench.ts). */
export function registerIndexBench(bench: Command): void {
  bench
    .command('index')
    .description('the block index: bytes per indexed block and build cost for N synthetic blocks, lookups per second')
    .option('--blocks <n>', 'synthetic blocks to index (4 KiB each: 20 M = 76 GiB of disk)', '20000000')
    .option('--pages <n>', 'real random pages for the lookups (indexed, and as many not indexed)', '512')
    .option('--rounds <n>', 'lookup rounds (median printed)', '3')
    .option('--json', 'print JSON')
    .action((o: { blocks: string; pages: string; rounds: string; json?: boolean }) => {
      const r = benchIndex({
        blocks: count('--blocks', o.blocks, 1, 2 ** 31),
        pages: count('--pages', o.pages, 1, 1 << 20),
        rounds: count('--rounds', o.rounds, 1, 50),
        log: (l) => process.stderr.write(`bench: ${l}\n`),
      });
      if (o.json) {
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      console.log(
        table([
          ['measurement', 'value'],
          [`memory, ${r.blocks} blocks (index arrays)`, `${r.bytesPerBlock.toFixed(2)} bytes/block`],
          ['memory (process.memoryUsage growth)', `${r.measuredBytesPerBlock.toFixed(2)} bytes/block`],
          ['build, random order (CPU)', `${(r.buildNsPerBlock / 1000).toFixed(2)} µs/block`],
          ['lookup, page not indexed (CPU)', `${(r.missLookupsPerSec / 1e6).toFixed(2)} M/s`],
          ['lookup, page indexed, with SHA-256 (CPU)', `${(r.hitLookupsPerSec / 1e3).toFixed(0)} k/s`],
        ]),
      );
    });
}
