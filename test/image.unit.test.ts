import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import {
  DATASET_FILE_BYTES,
  parseManifest,
  planDataset,
  validateDatasetParams,
  writeDataset,
} from '../src/image/dataset.js';
import { guestKernelCmdline } from '../src/image/build.js';
import { seededUuid, wantedFreeBytes } from '../src/image/disk.js';
import { completeTree, writeCpioGz } from '../src/image/initramfs.js';
import { resolveModules, compareVersions } from '../src/image/host.js';
import { GuestControl } from '../src/guest/control.js';
import { encodeExec, encodePing, GuestLineParser, parseGuestLine, type GuestMessage } from '../src/guest/protocol.js';
import { UserError } from '../src/util/errors.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const tmpDirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'pofbench-image-unit-'));
  tmpDirs.push(d);
  return d;
}
after(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const n of (await readdir(dir)).sort()) out.set(n, await readFile(join(dir, n)));
  return out;
}

describe('dataset', () => {
  test('plan: 4 MiB files, remainder last, every 10th file (index 3, 13, ...) text', () => {
    const p = planDataset(41);
    assert.equal(p.length, 11);
    assert.deepEqual(
      p.slice(0, 10).map((e) => e.bytes),
      Array(10).fill(DATASET_FILE_BYTES),
    );
    assert.equal(p[10].bytes, 1 * MiB);
    assert.deepEqual(
      p.filter((e) => e.kind === 'text').map((e) => e.name),
      ['f0004.txt'],
    );
    assert.equal(p[0].name, 'f0001.bin');
    assert.equal(planDataset(640).length, 160);
    assert.equal(planDataset(640).filter((e) => e.kind === 'text').length, 16);
    assert.equal(
      planDataset(640).reduce((a, e) => a + e.bytes, 0),
      640 * MiB,
    );
  });

  test('invalid size or seed is a UserError', () => {
    assert.throws(() => validateDatasetParams(0, 'x'), UserError);
    assert.throws(() => validateDatasetParams(1.5, 'x'), UserError);
    assert.throws(() => validateDatasetParams(8, ''), UserError);
    assert.throws(() => validateDatasetParams(8, 'a\nb'), UserError);
  });

  test('same seed gives the same bytes, another seed different bytes; MANIFEST is correct', async () => {
    const [a, b, c] = [await tmp(), await tmp(), await tmp()];
    const ra = await writeDataset(a, { datasetMib: 18, seed: 'alpha' });
    const rb = await writeDataset(b, { datasetMib: 18, seed: 'alpha' });
    const rc = await writeDataset(c, { datasetMib: 18, seed: 'beta' });
    const [fa, fb, fc] = [await filesOf(a), await filesOf(b), await filesOf(c)];
    assert.deepEqual([...fa.keys()], ['MANIFEST', 'f0001.bin', 'f0002.bin', 'f0003.bin', 'f0004.txt', 'f0005.bin']);
    for (const [name, buf] of fa)
      assert.ok(buf.equals(fb.get(name)!), `${name} differs between two builds with the same seed`);
    for (const [name, buf] of fa)
      if (name !== 'MANIFEST') assert.ok(!buf.equals(fc.get(name)!), `${name} is the same for two seeds`);
    assert.equal(ra.manifest, rb.manifest);
    assert.notEqual(ra.manifest, rc.manifest);

    // MANIFEST: one `name bytes sha256` per file, matching the files on disk
    const manifest = parseManifest(await readFile(join(a, 'MANIFEST'), 'utf8'));
    assert.equal(manifest.length, 5);
    let total = 0;
    for (const e of manifest) {
      const buf = fa.get(e.name)!;
      assert.equal(e.bytes, buf.length);
      assert.equal(e.sha256, sha256(buf));
      total += e.bytes;
    }
    assert.equal(total, 18 * MiB);
    assert.equal(ra.totalBytes, 18 * MiB);
    assert.equal((await stat(join(a, 'f0005.bin'))).size, 2 * MiB);
  });

  test('content: random files incompressible, text files compress, no repeated or constant 4 KiB block', async () => {
    const d = await tmp();
    await writeDataset(d, { datasetMib: 16, seed: 'pofbench' });
    const files = await filesOf(d);
    const bin = files.get('f0001.bin')!;
    const txt = files.get('f0004.txt')!;
    assert.ok(gzipSync(bin, { level: 6 }).length > bin.length * 0.99, 'random file compresses');
    const ratio = gzipSync(txt, { level: 6 }).length / txt.length;
    assert.ok(ratio < 0.6, `text file compresses only to ${ratio.toFixed(2)}`);
    assert.match(txt.subarray(0, 200).toString('latin1'), /^0000001 [0-9a-f]{4} [a-z]/);
    const seen = new Set<string>();
    for (const [name, buf] of files) {
      if (name === 'MANIFEST') continue;
      for (let off = 0; off < buf.length; off += 4096) {
        const block = buf.subarray(off, off + 4096);
        const h = sha256(block);
        assert.ok(!seen.has(h), `${name} block at ${off} repeats an earlier block`);
        seen.add(h);
        assert.ok(!block.equals(Buffer.alloc(4096, block[0])), `${name} block at ${off} is constant`);
      }
    }
    assert.equal(seen.size, (16 * MiB) / 4096);
  });
});

describe('image helpers', () => {
  test('kernel command line', () => {
    assert.equal(guestKernelCmdline({}).split(' ')[0], 'console=ttyS0');
    assert.ok(!guestKernelCmdline({}).includes('pof.ip='));
    const c = guestKernelCmdline({ ip: '198.18.3.100/24', extra: ' foo=1 ' });
    assert.ok(c.includes(' pof.ip=198.18.3.100/24'));
    assert.ok(c.endsWith(' foo=1'));
    assert.throws(() => guestKernelCmdline({ ip: '198.18.3.100' }), UserError);
    assert.throws(() => guestKernelCmdline({ ip: '198.18.3.300/24' }), UserError);
    assert.throws(() => guestKernelCmdline({ ip: '198.18.3.1/33' }), UserError);
  });

  test('seeded UUIDs are stable, distinct and well formed', () => {
    assert.equal(seededUuid('a'), seededUuid('a'));
    assert.notEqual(seededUuid('a'), seededUuid('b'));
    assert.match(seededUuid('a'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('free space: at least 64 MiB, else 15 %', () => {
    assert.equal(wantedFreeBytes(32 * MiB), 64 * MiB);
    assert.equal(wantedFreeBytes(640 * MiB), 96 * MiB);
  });

  test('kernel versions sort numerically', () => {
    assert.deepEqual(['6.1.0-9-cloud-amd64', '6.1.0-56-cloud-amd64', '6.1.0-10-cloud-amd64'].sort(compareVersions), [
      '6.1.0-9-cloud-amd64',
      '6.1.0-10-cloud-amd64',
      '6.1.0-56-cloud-amd64',
    ]);
  });

  test('modules resolve via modules.dep, skip built-ins, and the order must satisfy dependencies', async () => {
    const d = await tmp();
    await writeFile(
      join(d, 'modules.dep'),
      [
        'kernel/drivers/virtio/virtio_ring.ko:',
        'kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko',
        'kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
        '',
      ].join('\n'),
    );
    await writeFile(join(d, 'modules.builtin'), 'kernel/net/core/failover.ko\n');
    assert.deepEqual(await resolveModules(d, ['virtio_ring', 'virtio', 'failover', 'virtio_blk']), [
      'kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/virtio/virtio.ko',
      'kernel/drivers/block/virtio_blk.ko',
    ]);
    await assert.rejects(resolveModules(d, ['virtio', 'virtio_ring']), /needs virtio_ring/);
    await assert.rejects(resolveModules(d, ['nosuch']), UserError);
  });

  test('cpio newc archive lists with GNU cpio; parents precede children', async () => {
    const d = await tmp();
    await writeFile(join(d, 'src.bin'), Buffer.alloc(5, 7));
    const entries = completeTree([
      { type: 'file', path: '/usr/bin/prog', mode: 0o755, source: join(d, 'src.bin') },
      { type: 'symlink', path: 'bin/sh', target: '/bin/busybox' },
      { type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
      { type: 'data', path: 'etc/x', data: 'hello\n' },
    ]);
    const paths = entries.map((e) => e.path);
    for (const [i, p] of paths.entries()) {
      const parent = p.split('/').slice(0, -1).join('/');
      if (parent) assert.ok(paths.indexOf(parent) >= 0 && paths.indexOf(parent) < i, `${parent} before ${p}`);
    }
    await writeCpioGz(entries, join(d, 'a.cpio.gz'));
    const listing = await execa('sh', ['-c', `gzip -dc ${join(d, 'a.cpio.gz')} | cpio -itv --quiet`]);
    const lines = listing.stdout.split('\n');
    assert.ok(
      lines.some((l) => /^-rwxr-xr-x .* 5 .* usr\/bin\/prog$/.test(l)),
      listing.stdout,
    );
    assert.ok(
      lines.some((l) => /^lrwxrwxrwx .* bin\/sh -> \/bin\/busybox$/.test(l)),
      listing.stdout,
    );
    assert.ok(
      lines.some((l) => /^crw------- .* 5,\s+1 .* dev\/console$/.test(l)),
      listing.stdout,
    );
    assert.ok(
      lines.some((l) => /^drwxr-xr-x .* usr$/.test(l)),
      listing.stdout,
    );
    const x = await execa('sh', [
      '-c',
      `cd ${d} && mkdir out && cd out && gzip -dc ../a.cpio.gz | cpio -id --quiet etc/x usr/bin/prog && cat etc/x`,
    ]);
    assert.equal(x.stdout, 'hello');
    assert.ok((await readFile(join(d, 'out/usr/bin/prog'))).equals(Buffer.alloc(5, 7)));
  });
});

describe('guest control protocol', () => {
  test('encoding', () => {
    assert.equal(encodePing(), '\nping\n');
    const line = encodeExec('a_1-B', 'echo hi\n');
    assert.equal(line, `\na_1-B ${Buffer.from('echo hi\n').toString('base64')}\n`);
    assert.throws(() => encodeExec('bad id', 'x'));
    assert.throws(() => encodeExec('', 'x'));
  });

  test('parsing lines', () => {
    assert.deepEqual(parseGuestLine('@@READY'), { kind: 'ready' });
    assert.deepEqual(parseGuestLine('ping\r@@READY\r'), { kind: 'ready' });
    const out = Buffer.from('multi\nline\0output @@RESULT x 1 AAAA\n');
    const r = parseGuestLine(`[   12.3] noise @@RESULT c-7 3 ${out.toString('base64')}\r`);
    assert.equal(r.kind, 'result');
    if (r.kind === 'result') {
      assert.equal(r.id, 'c-7');
      assert.equal(r.rc, 3);
      assert.ok(r.output.equals(out));
    }
    const empty = parseGuestLine('@@RESULT c-8 0 ');
    assert.deepEqual(empty.kind === 'result' && [empty.rc, empty.output.length], [0, 0]);
    assert.equal(parseGuestLine('@@RESULT c-9 0 QUJD').kind, 'result');
    assert.equal(parseGuestLine('@@RESULT c-9 0 QUJ').kind, 'garbage'); // truncated base64
    assert.equal(parseGuestLine('@@RESULT c-9 256 QUJD').kind, 'garbage');
    assert.equal(parseGuestLine('@@RESULT c 9 0 QUJD').kind, 'garbage');
    assert.equal(parseGuestLine('@@READY then more').kind, 'garbage');
    assert.equal(parseGuestLine('ping').kind, 'garbage');
  });

  test('line splitting across chunks, empty lines skipped, oversize lines dropped', () => {
    const msgs: GuestMessage[] = [];
    const p = new GuestLineParser((m) => msgs.push(m), 64);
    const data = Buffer.from(`junk\n\n\r\n@@REA${''}DY\n${'x'.repeat(100)}\n@@RESULT a 0 QUJD\n`);
    for (const b of data) p.push(Buffer.from([b]));
    assert.deepEqual(
      msgs.map((m) => m.kind),
      ['garbage', 'ready', 'garbage', 'result'],
    );
    assert.match((msgs[2] as { line: string }).line, /longer than 64 bytes/);
  });
});

/**
 * A fake guest agent on the other end of a PassThrough pair. `respond` decides what it writes for
 * each command (default: behave like the real agent, running nothing: output = the script text).
 */
interface FakeAgent {
  host: Duplex;
  commands: { id: string; script: string }[];
  write(s: string): void;
  pings: number;
  inFlight: number;
  maxInFlight: number;
}

function fakeAgent(
  opts: { answerPingsAfter?: number; respond?: (cmd: { id: string; script: string }, agent: FakeAgent) => void } = {},
): FakeAgent {
  const toGuest = new PassThrough();
  const toHost = new PassThrough();
  const host = Duplex.from({ readable: toHost, writable: toGuest });
  const agent: FakeAgent = {
    host,
    commands: [],
    pings: 0,
    inFlight: 0,
    maxInFlight: 0,
    write: (s: string) => void toHost.write(s),
  };
  let buf = '';
  toGuest.on('data', (chunk: Buffer) => {
    buf += chunk.toString('latin1');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === 'ping') {
        agent.pings++;
        if (agent.pings > (opts.answerPingsAfter ?? 0)) agent.write('@@READY\n');
        continue;
      }
      const m = /^([A-Za-z0-9_-]+) ([A-Za-z0-9+/=]*)$/.exec(line);
      if (!m) continue;
      const cmd = { id: m[1], script: Buffer.from(m[2], 'base64').toString('utf8') };
      agent.commands.push(cmd);
      agent.inFlight++;
      agent.maxInFlight = Math.max(agent.maxInFlight, agent.inFlight);
      if (opts.respond) opts.respond(cmd, agent);
      else {
        agent.inFlight--;
        agent.write(`@@RESULT ${cmd.id} 0 ${Buffer.from(cmd.script).toString('base64')}\n`);
      }
    }
  });
  return agent;
}

const result = (id: string, rc: number, out: string | Buffer): string =>
  `@@RESULT ${id} ${rc} ${Buffer.from(out).toString('base64')}\n`;

describe('GuestControl over a fake agent', () => {
  test('waitReady pings until the agent answers', async () => {
    const a = fakeAgent({ answerPingsAfter: 3 });
    const g = new GuestControl(a.host, { pingIntervalMs: 10 });
    await g.waitReady(2000);
    assert.equal(a.pings, 4);
    g.close();
  });

  test('waitReady times out when nobody answers', async () => {
    const a = fakeAgent({ answerPingsAfter: Infinity });
    const g = new GuestControl(a.host, { pingIntervalMs: 10 });
    const t = Date.now();
    await assert.rejects(g.waitReady(150), /did not answer within 150 ms/);
    assert.ok(Date.now() - t >= 140);
    g.close();
  });

  test('exec returns rc and output; scripts with any bytes survive the trip', async () => {
    const a = fakeAgent();
    const g = new GuestControl(a.host);
    const script = "printf '%s\\n' \"$x\" 'quotes \" and \\' and ünïcödé' @@RESULT\n\techo done\n";
    assert.deepEqual(await g.exec(script), { rc: 0, output: script });
    assert.equal(a.commands[0].script, script);
    g.close();
  });

  test('garbage lines and byte-by-byte delivery are tolerated', async () => {
    const garbage: string[] = [];
    const a = fakeAgent({
      respond: (cmd, ag) => {
        ag.inFlight--;
        const text =
          `[    3.1] virtio_net: ` +
          `noise\nping\r\n@@RESULT\n\x00\xff@@RES\n${result(cmd.id, 7, 'out\nput')}more noise`;
        let i = 0;
        const tick = (): void => {
          if (i < text.length) {
            ag.write(text[i++]);
            setImmediate(tick);
          }
        };
        tick();
      },
    });
    const g = new GuestControl(a.host, { onGarbage: (l) => garbage.push(l) });
    assert.deepEqual(await g.exec('x'), { rc: 7, output: 'out\nput' });
    assert.ok(garbage.length >= 4, JSON.stringify(garbage));
    g.close();
  });

  test('large outputs (100 KB, 5 MB) arrive intact', async () => {
    const big = Buffer.alloc(5 * MiB);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const a = fakeAgent({
      respond: (cmd, ag) => {
        ag.inFlight--;
        const n = Number(cmd.script);
        const line = result(cmd.id, 0, big.subarray(0, n));
        for (let o = 0; o < line.length; o += 4093) ag.write(line.slice(o, o + 4093));
      },
    });
    const g = new GuestControl(a.host);
    for (const n of [100_000, 5 * MiB]) {
      const r = await g.execRaw(String(n));
      assert.equal(r.rc, 0);
      assert.ok(r.output.equals(big.subarray(0, n)), `output of ${n} bytes differs`);
    }
    g.close();
  });

  test('a result for another id is ignored; the right one resolves', async () => {
    const garbage: string[] = [];
    const a = fakeAgent({
      respond: (cmd, ag) => {
        ag.inFlight--;
        ag.write(result('someone-else-1', 0, 'not yours'));
        ag.write(result(cmd.id, 2, 'yours'));
      },
    });
    const g = new GuestControl(a.host, { onGarbage: (l) => garbage.push(l) });
    assert.deepEqual(await g.exec('x'), { rc: 2, output: 'yours' });
    assert.ok(garbage.some((l) => l.includes('someone-else-1')));
    g.close();
  });

  test('timeout: the call rejects, its late result is ignored, the next call works', async () => {
    const garbage: string[] = [];
    let first: { id: string } | undefined;
    const a = fakeAgent({
      respond: (cmd, ag) => {
        ag.inFlight--;
        if (cmd.script === 'slow') {
          first = cmd;
          return; // answered late, below
        }
        if (first) ag.write(result(first.id, 0, 'late'));
        ag.write(result(cmd.id, 0, `ok ${cmd.script}`));
      },
    });
    const g = new GuestControl(a.host, { onGarbage: (l) => garbage.push(l) });
    await assert.rejects(g.exec('slow', { timeoutMs: 50 }), /timed out after 50 ms/);
    assert.deepEqual(await g.exec('fast'), { rc: 0, output: 'ok fast' });
    assert.ok(
      garbage.some((l) => l.includes(first!.id)),
      'late result reported as stale',
    );
    g.close();
  });

  test('many calls, concurrent callers: one command in flight at a time, in order', async () => {
    const a = fakeAgent({
      respond: (cmd, ag) => {
        setTimeout(() => {
          ag.inFlight--;
          ag.write(result(cmd.id, 0, cmd.script));
        }, 1);
      },
    });
    const g = new GuestControl(a.host);
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => g.exec(`echo ${i}`)));
    assert.deepEqual(
      rs.map((r) => r.output),
      Array.from({ length: 200 }, (_, i) => `echo ${i}`),
    );
    assert.equal(a.maxInFlight, 1);
    assert.deepEqual(
      a.commands.map((c) => c.script),
      rs.map((r) => r.output),
    );
    assert.equal(new Set(a.commands.map((c) => c.id)).size, 200);
    g.close();
  });

  test('close() and a closed stream reject pending and later calls', async () => {
    const a = fakeAgent({ respond: () => undefined });
    const g = new GuestControl(a.host);
    const p = g.exec('never');
    await new Promise((r) => setTimeout(r, 10));
    g.close();
    await assert.rejects(p, /closed/);
    await assert.rejects(g.exec('after'), /closed/);
    await assert.rejects(g.waitReady(100), /closed/);

    const b = fakeAgent({ respond: () => undefined });
    const g2 = new GuestControl(b.host);
    const p2 = g2.exec('never');
    const w2 = g2.waitReady(5000);
    b.host.destroy();
    const [r2, rw2] = await Promise.allSettled([p2, w2]);
    assert.match(r2.status === 'rejected' ? String(r2.reason) : 'fulfilled', /guest control channel (closed|failed)/);
    assert.match(rw2.status === 'rejected' ? String(rw2.reason) : 'fulfilled', /guest control channel (closed|failed)/);
  });
});
