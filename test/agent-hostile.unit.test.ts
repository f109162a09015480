/**
 * The target agent under attack (issue 15): a real target agent (a child process on 127.0.0.1, no
 * QEMU) flooded with unauthenticated connections keeps at most a few pending, closes the rest at
 * once, gives each a short deadline and buffers almost nothing before authentication; a real source
 * agent (in process) still migrates a synthetic stream through it afterwards.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameType, encodeFrame } from '../src/agent/channel.js';
import { runSourceAgent } from '../src/agent/source.js';
import { pofbenchCommand } from '../src/util/paths.js';
import { synthImageAndStream } from './helpers/synthStream.js';

const PORT = 27391;
const dir = mkdtempSync(join(tmpdir(), 'pofbench-agent-hostile-'));
let target: ChildProcess | undefined;
const handles: { close(): unknown }[] = [];
const sockets: Socket[] = [];
after(() => {
  if (target?.pid && target.exitCode === null) process.kill(target.pid, 'SIGKILL');
  for (const h of handles) h.close();
  for (const s of sockets) s.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One raw connection: when it connected, what it received, when it closed (ms since t0). */
interface Probe {
  sock: Socket;
  received: number;
  closedMs?: number;
}

function probe(t0: number, send?: Buffer): Probe {
  const p: Probe = { sock: connect({ host: '127.0.0.1', port: PORT }), received: 0 };
  sockets.push(p.sock);
  p.sock.on('data', (d: Buffer) => {
    p.received += d.length;
  });
  p.sock.on('error', () => undefined);
  p.sock.on('close', () => {
    p.closedMs = performance.now() - t0;
  });
  if (send) p.sock.on('connect', () => p.sock.write(send));
  return p;
}

async function untilClosed(probes: Probe[], ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (probes.some((p) => p.closedMs === undefined) && performance.now() < end) await sleep(50);
}

async function startTarget(image: string, qemuSock: string): Promise<{ log: () => string }> {
  let log = '';
  const [node, main] = pofbenchCommand();
  const args = [
    'agent',
    'target',
    '--listen',
    `tcp:127.0.0.1:${PORT}`,
    '--qemu',
    `unix:${qemuSock}`,
    '--nas-image',
    image,
    '--secret-file',
    join(dir, 'secret'),
    '--label',
    'flood',
    '--stats-json',
    join(dir, 'target.json'),
  ];
  target = spawn(node, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  target.stdout!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  target.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  for (let i = 0; i < 100 && !/listening on/.test(log); i++) await sleep(100);
  assert.match(log, /listening on/, `the target agent started: ${log}`);
  return { log: () => log };
}

test('target agent: a flood of unauthenticated connections is bounded, and an authenticated pair works after', {
  timeout: 60_000,
}, async () => {
  const { image, stream } = synthImageAndStream(3);
  writeFileSync(join(dir, 'disk.img'), image);
  writeFileSync(join(dir, 'secret'), 'a-secret-of-forty-characters-0123456789');
  const received: Buffer[] = [];
  const qemuSock = join(dir, 'dst-qemu.sock');
  const sink = createServer((s) => s.on('data', (d: Buffer) => received.push(d)));
  await new Promise<void>((r) => sink.listen(qemuSock, r));
  handles.push(sink);
  const agent = await startTarget(join(dir, 'disk.img'), qemuSock);

  // 1. 100 silent connections at once: at most 4 pending (they get HELLO), the rest closed at once
  let t0 = performance.now();
  const flood = Array.from({ length: 100 }, () => probe(t0));
  await untilClosed(flood, 8000);
  const helloed = flood.filter((p) => p.received > 0);
  const early = flood.filter((p) => p.closedMs !== undefined && p.closedMs < 1000);
  assert.ok(helloed.length <= 4, `${helloed.length} connections were kept pending`);
  assert.ok(early.length >= 96, `only ${early.length} of 100 were closed within 1 s`);
  const last = Math.max(...flood.map((p) => p.closedMs ?? Infinity));
  console.log(`flood: ${helloed.length} held, ${early.length} closed within 1 s, last at ${Math.round(last)} ms`);
  assert.ok(last < 4500, `the pending ones were closed at their handshake deadline (last at ${Math.round(last)} ms)`);

  // 2. nothing large is buffered before authentication: a big frame header or excess bytes end it at once
  t0 = performance.now();
  const bigHeader = Buffer.alloc(5 + 16384);
  bigHeader[0] = FrameType.PAGE;
  bigHeader.writeUInt32BE(1 << 20, 1);
  const authThenJunk = Buffer.concat([Buffer.from([FrameType.AUTH, 0, 0, 0, 64]), Buffer.alloc(4096, 7)]);
  const wrongSecret = encodeFrame(FrameType.AUTH, Buffer.alloc(64, 1));
  const junk = [bigHeader, authThenJunk, wrongSecret].map((b) => probe(t0, b));
  await untilClosed(junk, 5000);
  for (const [i, p] of junk.entries()) {
    assert.ok((p.closedMs ?? Infinity) < 1000, `junk ${i} closed at ${p.closedMs} ms`);
  }

  // 3. a real source agent authenticates and migrates a stream through the same target, even though
  // four silent connections hold every slot when it first tries (it tries again until they time out)
  const squatters = Array.from({ length: 4 }, () => probe(performance.now()));
  await sleep(200);
  assert.equal(squatters.filter((p) => p.closedMs === undefined).length, 4, 'the squatters hold the slots');
  const srcLog: string[] = [];
  const srcSock = join(dir, 'src-agent.sock');
  const source = runSourceAgent({
    listen: { kind: 'unix', path: srcSock },
    target: { kind: 'tcp', host: '127.0.0.1', port: PORT },
    nasImage: join(dir, 'disk.img'),
    secretFile: join(dir, 'secret'),
    label: 'flood',
    index: { mode: 'scan' },
    retentionPages: 256,
    log: (l) => srcLog.push(l),
  });
  source.catch(() => undefined);
  for (let i = 0; i < 100; i++) {
    const q = connect(srcSock);
    sockets.push(q);
    const ok = await new Promise<boolean>((r) => {
      q.once('connect', () => r(true));
      q.once('error', () => r(false));
    });
    if (ok) {
      q.end(stream);
      break;
    }
    await sleep(50);
  }
  const stats = await source;
  assert.ok(
    srcLog.some((l) => /closed the connection before its HELLO .*trying again/.test(l)),
    srcLog.join('\n'),
  );
  assert.equal(stats.stream_identical, true);
  assert.ok(stats.ref_pages > 0, 'pages went by reference');
  for (let i = 0; i < 50 && target!.exitCode === null; i++) await sleep(100);
  sink.close();
  assert.ok(Buffer.concat(received).equals(stream), 'the destination got the exact stream');
  const tstats = JSON.parse(readFileSync(join(dir, 'target.json'), 'utf8'));
  assert.equal(tstats.status, 'completed', agent.log());
  assert.ok(tstats.refused_peers >= 107, `refused_peers ${tstats.refused_peers}`);
});
