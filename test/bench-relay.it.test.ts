import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { runNodeRelay, runPlainRelay } from '../src/bench/relay.js';
import { synthImageAndStream } from '../src/codec/synth.js';
import { projectRoot } from '../src/util/paths.js';
import { processes } from '../src/faults/leftovers.js';

/** Processes whose command line names `dir` (relays and agents get their socket paths under it). */
const processesMentioning = (dir: string): string[] =>
  processes(new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));

for (const [name, run, port] of [
  ['socat', runPlainRelay, 47810],
  ['Node', runNodeRelay, 47820],
] as const) {
  test(`bench relay (${name}): every byte through the agents' hops, its CPU counted, nothing left`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pofbench-relay-test-'));
    try {
      const stream = join(dir, 'stream.bin');
      const size = 48 * 1024 * 1024 + 123;
      writeFileSync(stream, randomBytes(size));
      const r = await run(dir, stream, port);
      assert.equal(r.bytes, size);
      assert.ok(r.elapsedMs > 0);
      assert.ok(r.cpuS > 0, `the relays' CPU while moving 48 MiB is counted (got ${r.cpuS})`);
      assert.deepEqual(processesMentioning(dir), [], 'no relay process left');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('bench codec --json: every row measured, the pair against the relay, the floor from the same run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pofbench-benchcodec-test-'));
  try {
    // ~24 MiB of stream: a third references to the image, a third zero pages, a third unique pages
    const { image, stream } = synthImageAndStream(7, 4096, 18000);
    writeFileSync(join(dir, 'disk.raw'), image);
    writeFileSync(join(dir, 'stream.bin'), stream);
    const args = ['bench', 'codec', '--stream', join(dir, 'stream.bin'), '--nas-image', join(dir, 'disk.raw')];
    const r = await execa(process.execPath, [join(projectRoot, 'bin', 'pofbench'), ...args, '--repeat', '1', '--json']);
    const out = JSON.parse(r.stdout) as {
      rows: { name: string; mbps: number; coreSPerGb?: number }[];
      agent_pair_vs_relay: { cpuRatio: number };
      data_path_floor: { totalCoreSPerGb: number; referencedFraction: number; sha256CoreSPerGb: number };
    };
    const names = out.rows.map((row) => row.name);
    for (const want of [
      'sha256',
      'crc32',
      'parse',
      'encode',
      'decode',
      'plain TCP relay',
      'Node relay',
      'live agent pair',
    ])
      assert.ok(
        names.some((n) => n.startsWith(want)),
        `a "${want}" row in ${names.join(', ')}`,
      );
    for (const row of out.rows) assert.ok(row.mbps > 0, `${row.name}: a measured rate`);
    for (const n of ['plain TCP relay', 'Node relay', 'live agent pair'])
      assert.ok((out.rows.find((row) => row.name.startsWith(n))?.coreSPerGb ?? 0) > 0, `${n}: its CPU per GB`);
    assert.ok(out.agent_pair_vs_relay.cpuRatio > 0);
    const f = out.data_path_floor;
    // the synthetic stream refers to the image with about a third of its pages
    assert.ok(f.referencedFraction > 0.2 && f.referencedFraction < 0.5, `referenced share ${f.referencedFraction}`);
    assert.ok(f.sha256CoreSPerGb > 0 && f.totalCoreSPerGb > f.sha256CoreSPerGb);
    assert.deepEqual(processesMentioning(dir), [], 'no relay or agent process left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
