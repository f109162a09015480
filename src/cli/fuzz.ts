import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { table } from 'table';
import { fuzzTargetAgent, type FuzzSummary } from '../agent/fuzzTarget.js';
import { encodeStream } from '../agent/offline.js';
import { buildScanIndex } from '../codec/blockindex.js';
import { PassThrough, Readable } from 'node:stream';
import { UserError } from '../util/errors.js';

interface FuzzFlags {
  stream: string;
  nasImage: string;
  cases: string;
  handshakeCases: string;
  backchannelCases: string;
  seed: string;
  basePort: string;
}

function count(v: string, flag: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`${flag} must be an integer >= ${min}, got "${v}"`);
  return n;
}

/** The depth table: per path, how many cases got past the first frame header and past END. */
function depthTable(r: FuzzSummary): string {
  const rows = r.depth.map((d) => [
    d.path,
    String(d.cases),
    String(d.pastHeader),
    d.path === 'handshake' ? '–' : String(d.pastEnd),
    d.path === 'handshake' ? String(d.authenticated) : '–',
  ]);
  return table([['path', 'cases', 'past first header', 'past END', 'authenticated'], ...rows]);
}

/** `pofbench fuzz target` — the longer hostile-input run (the test suite runs a bounded one). */
export function registerFuzzCommand(program: Command): void {
  const fuzz = program.command('fuzz').description('hostile-input runs against the POF agents');
  fuzz
    .command('target')
    .description(
      'hostile peers against the real agents: an authenticated peer sends truncated/mutated real POF ' +
        'streams and random frames to a target agent; unauthenticated peers attack its handshake; a hostile target ' +
        "attacks the source agent's back-channel. Every case must be rejected cleanly; the depth table says how far " +
        'the cases got',
    )
    .requiredOption('--stream <FILE>', 'a captured QEMU stream (encoded to POF against --nas-image first)')
    .requiredOption('--nas-image <IMG>', 'the disk image the stream refers to')
    .option('--cases <n>', 'stream cases (a fresh target agent each)', '200')
    .option('--handshake-cases <n>', 'hostile handshakes against one target agent, then one migration through it', '64')
    .option('--backchannel-cases <n>', 'hostile targets against a source agent (synthetic image and stream)', '24')
    .option('--seed <n>', 'seed (cases are deterministic by seed)', '1')
    .option('--base-port <n>', 'loopback ports used from here (up to +500)', '47600')
    .action(async (o: FuzzFlags) => {
      const cases = count(o.cases, '--cases', 0);
      const handshakeCases = count(o.handshakeCases, '--handshake-cases', 0);
      const backchannelCases = count(o.backchannelCases, '--backchannel-cases', 0);
      if (cases + handshakeCases + backchannelCases === 0) throw new UserError('nothing to do: every case count is 0');
      const idx = await buildScanIndex(o.nasImage);
      const sink = new PassThrough();
      const parts: Buffer[] = [];
      sink.on('data', (d: Buffer) => parts.push(d));
      await encodeStream(Readable.from([readFileSync(o.stream)]), sink, idx.index, idx.imageBlocks);
      const r = await fuzzTargetAgent({
        pof: Buffer.concat(parts),
        image: o.nasImage,
        cases,
        handshakeCases,
        backchannelCases,
        seed: Number(o.seed),
        basePort: count(o.basePort, '--base-port', 1024),
        log: (l) => process.stderr.write(`fuzz: ${l}\n`),
      });
      console.log(table([['kind:outcome', 'cases'], ...Object.entries(r.byKind).map(([k, v]) => [k, String(v)])]));
      console.log(depthTable(r));
      const after = r.legitAfterHandshakes ? 'ok' : `FAILED (${r.legitError})`;
      const legit = handshakeCases ? `, a real migration after the handshakes: ${after}` : '';
      console.log(`seed ${r.seed}, ${r.cases.length} cases, RSS growth ${r.rssGrowthMb} MB${legit}`);
      const all = cases + handshakeCases + backchannelCases;
      const bad = r.cases.some((c) => c.outcome !== 'rejected') || r.cases.length < all;
      if (bad || (handshakeCases && !r.legitAfterHandshakes)) process.exitCode = 1;
    });
}
