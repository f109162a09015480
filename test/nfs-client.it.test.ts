import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidRunning, sleep } from '../src/util/exec.js';
import { startScratchNas, type ScratchNas } from '../src/testbed/local/scratchNas.js';
import { NfsClient, NfsError, RpcConnectionError, RpcTimeoutError, type NfsFile } from '../src/nfs/index.js';

// The NFSv3 client (src/nfs) against a real nfs-ganesha + rpcbind in a namespace of the test's own
// (pofnfs-clientit, reached over a veth from the root namespace).

const MiB = 1 << 20;
const SIZE = 8 * MiB;
const REL = 'runs/x/disk.raw';
let nas: ScratchNas | undefined;
let data: Buffer;
let client: NfsClient;
let file: NfsFile;

const namespaces = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith('pofnfs-clientit'));
/** Every thread of `pid` is in state `state` (T = stopped). */
const allThreads = (pid: number, state: string) =>
  readdirSync(`/proc/${pid}/task`).every((t) =>
    readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .startsWith(state),
  );
/** SIGSTOP, and wait until no thread of the process runs any more (kill() returns before that). */
async function stopProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  for (let i = 0; i < 100 && !allThreads(pid, 'T'); i++) await sleep(10);
  assert.ok(allThreads(pid, 'T'), `pid ${pid} stopped`);
}

before(
  async () => {
    nas = await startScratchNas({ name: 'clientit', slot: 0 });
    data = randomBytes(SIZE);
    await mkdir(join(nas.exportDir, 'runs', 'x'), { recursive: true });
    await writeFile(join(nas.exportDir, REL), data);
    client = await NfsClient.connect({ host: nas.server, exportPath: nas.exportPath, uid: 0, gid: 0, timeoutMs: 5000 });
    file = await client.open(REL);
  },
  { timeout: 60_000 },
);

after(
  async () => {
    await client?.close().catch(() => undefined);
    const pids = nas ? [nas.ganeshaPid, nas.rpcbindPid ?? 0].filter(Boolean) : [];
    await nas?.stop();
    assert.deepEqual(namespaces(), [], 'no pofnfs-clientit namespace left');
    for (const pid of pids) assert.equal(await pidRunning(pid), false, `pid ${pid} (ganesha/rpcbind) stopped`);
  },
  { timeout: 60_000 },
);

test('ports come from the portmapper; MOUNT from an unprivileged port is accepted; READ size is 256 KiB', () => {
  assert.equal(client.info.nfsPort, 2049);
  assert.ok(client.info.mountPort > 0 && client.info.mountPort !== 2049, `mount port ${client.info.mountPort}`);
  assert.ok((client.info.mountLocalPort ?? 0) >= 1024, `MNT sent from port ${client.info.mountLocalPort}`);
  assert.ok(client.info.fsinfo.rtmax >= 256 * 1024, `rtmax ${client.info.fsinfo.rtmax}`);
  assert.equal(client.info.maxRead, 256 * 1024);
  assert.ok(client.info.authFlavors.includes(1), 'AUTH_SYS offered');
  assert.equal(file.size, SIZE);
  assert.equal(file.path, '/export/runs/x/disk.raw');
});

test('reads at many offsets and lengths are byte-identical to the file, short only at EOF', async () => {
  const cases: [number, number][] = [
    [0, 4096],
    [7 * 4096, 4096],
    [1, 1],
    [12345, 54321],
    [0, 256 * 1024],
    [100, 256 * 1024],
    [4095, 8194],
    [3 * MiB + 17, MiB + 5],
    [0, SIZE],
    [SIZE - 4096, 4096],
    [SIZE - 100, 4096],
    [SIZE, 4096],
    [SIZE + 8192, 10],
    [5 * MiB, 0],
  ];
  for (const [offset, length] of cases) {
    const reads = client.stats.reads;
    const got = await file.read(offset, length);
    const want = data.subarray(Math.min(offset, SIZE), Math.min(offset + length, SIZE));
    assert.equal(got.length, want.length, `length of read ${offset}+${length}`);
    assert.ok(got.equals(want), `bytes of read ${offset}+${length}`);
    if (length > 0 && offset + length <= SIZE) {
      assert.equal(client.stats.reads - reads, Math.ceil(length / (256 * 1024)), `READ calls for ${offset}+${length}`);
    }
  }
});

test('readBlocks returns whole 4 KiB blocks and refuses blocks past the end', async () => {
  assert.ok((await file.readBlocks(5, 3)).equals(data.subarray(5 * 4096, 8 * 4096)));
  assert.ok((await file.readBlocks(SIZE / 4096 - 1)).equals(data.subarray(SIZE - 4096)));
  const into = Buffer.alloc(128 * 4096);
  const big = await file.readBlocks(100, 128, 4096, into);
  assert.equal(big.buffer, into.buffer, 'a multi-READ result is assembled into the buffer given');
  assert.ok(big.equals(data.subarray(100 * 4096, 228 * 4096)));
  await assert.rejects(file.readBlocks(SIZE / 4096 - 1, 2), /pass the end of the file \(got 4096 of 8192 bytes\)/);
});

test('200 reads in flight at once on one connection, pipelined, each byte-identical', async () => {
  const before = client.stats.reads;
  const offsets = Array.from({ length: 200 }, (_, i) => (i * 7919 * 4096 + (i % 3 === 0 ? 513 : 0)) % (SIZE - 4096));
  const got = await Promise.all(offsets.map((o) => file.read(o, 4096)));
  for (const [i, b] of got.entries()) {
    assert.ok(b.equals(data.subarray(offsets[i], offsets[i] + 4096)), `read ${i} @${offsets[i]}`);
  }
  assert.equal(client.stats.reads - before, 200);
  assert.ok(client.peakInFlight >= 100, `pipelined: ${client.peakInFlight} calls were out at once`);
  const big = await Promise.all(Array.from({ length: 32 }, (_, i) => file.read(i * 256 * 1024, 256 * 1024)));
  assert.ok(Buffer.concat(big).equals(data), '32 concurrent 256 KiB reads cover the file');
});

test('errors name the NFS status and the path', async () => {
  await assert.rejects(client.open('runs/missing/disk.raw'), (err: unknown) => {
    assert.ok(err instanceof NfsError);
    assert.equal(err.code, 'NFS3ERR_NOENT');
    assert.match(err.message, /^LOOKUP \/export\/runs\/missing: NFS3ERR_NOENT \(2\) from 198\.19\.250\.2:2049$/);
    return true;
  });
  await assert.rejects(client.open('runs/x/disk.raw/deeper'), /NFS3ERR_NOTDIR/);
  await assert.rejects(client.open('runs/x'), /\/export\/runs\/x on .* is a directory, not a file/);
  // ganesha answers MNT3ERR_ACCES (not NOENT) for an export it does not have
  await assert.rejects(
    NfsClient.connect({ host: nas!.server, exportPath: '/no-such-export' }),
    (err: unknown) => err instanceof NfsError && /^MNT3ERR_/.test(err.code) && err.message.includes('/no-such-export'),
  );
  // the AUTH_SYS credential is what the server checks: another uid may not read a 0600 root file
  await writeFile(join(nas!.exportDir, 'runs', 'secret.raw'), 'x', { mode: 0o600 });
  const other = await NfsClient.connect({ host: nas!.server, exportPath: '/export', uid: 12345, gid: 12345 });
  try {
    const f = await other.open('runs/secret.raw');
    await assert.rejects(f.read(0, 1), /^NfsError: READ \/export\/runs\/secret\.raw: NFS3ERR_ACCES \(13\)/);
  } finally {
    await other.close();
  }
});

test('explicit ports skip the portmapper; a privileged source port works too', async () => {
  const c = await NfsClient.connect({
    host: nas!.server,
    exportPath: '/export',
    nfsPort: 2049,
    mountPort: client.info.mountPort,
    portmapPort: 9,
    privilegedPort: true,
  });
  try {
    assert.ok((c.info.mountLocalPort ?? 0) < 1024, `MNT from port ${c.info.mountLocalPort}`);
    const f = await c.open(REL);
    assert.ok((await f.read(MiB, 300_000)).equals(data.subarray(MiB, MiB + 300_000)));
  } finally {
    await c.close({ umount: true });
  }
});

test('a server that stops answering times calls out; one that dies fails every pending call', async () => {
  const pid = nas!.ganeshaPid;
  const c = await NfsClient.connect({ host: nas!.server, exportPath: '/export', timeoutMs: 400 });
  const f = await c.open(REL);
  await stopProcess(pid);
  try {
    const t0 = Date.now();
    await assert.rejects(
      f.read(0, 4096),
      (err: unknown) =>
        err instanceof RpcTimeoutError &&
        /^NFS READ \/export\/runs\/x\/disk\.raw @0\+4096: no reply from .* within 400 ms$/.test(err.message),
    );
    assert.ok(Date.now() - t0 < 2000);
    const pending = Array.from({ length: 20 }, (_, i) =>
      file.read(i * 4096, 4096).then(
        () => 'ok',
        (e: Error) => e,
      ),
    );
    await sleep(200);
    process.kill(pid, 'SIGKILL');
    const results = await Promise.all(pending);
    for (const r of results) {
      assert.ok(r instanceof RpcConnectionError, `pending call failed with a connection error: ${String(r)}`);
      assert.match(r.message, /NFS connection to 198\.19\.250\.2:2049 is dead .*20 call\(s\) pending were failed/);
    }
    await assert.rejects(file.read(0, 1), RpcConnectionError, 'later calls fail at once');
  } finally {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* killed */
    }
    await c.close();
  }
});
