// Builds a small guest image in a private POFBENCH_HOME, boots it under QEMU (TCG, no NIC) and
// drives it over the ttyS1 control channel. Needs qemu-system-x86 and the image build packages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, guestKernelCmdline, imageManifestPath, loadImage, type GuestImage } from '../src/image/build.js';
import { GuestControl } from '../src/guest/control.js';
import { datasetFileChunks, parseManifest, planDataset } from '../src/image/dataset.js';

// a private, small image home (imagesDir() reads the variable on every call)
const home = await mkdtemp(join(tmpdir(), 'pofbench-guest-boot-'));
process.env.POFBENCH_HOME = home;

const DATASET_MIB = 32;
const run = join(home, 'run');
let image: GuestImage;
let buildMs = 0;
let qemu: ChildProcess | undefined;
let qemuStderr = '';
let sock: Socket | undefined;
let ctl: GuestControl | undefined;
let bootMs = 0;
const garbage: string[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(
  async () => {
    const t0 = Date.now();
    image = await buildImage({ datasetMib: DATASET_MIB, log: (l) => console.log(`# image: ${l}`) });
    buildMs = Date.now() - t0;

    await mkdir(run);
    const disk = join(run, 'data.raw');
    await copyFile(image.dataDisk, disk); // the guest writes to its disk: never boot the cached one
    const ctlPath = join(run, 'ctl.sock');
    const args = [
      '-accel',
      'tcg',
      '-m',
      '256',
      '-smp',
      '1',
      '-nic',
      'none',
      '-display',
      'none',
      '-no-reboot',
      '-kernel',
      image.kernel,
      '-initrd',
      image.initrd,
      '-append',
      guestKernelCmdline({}),
      '-serial',
      `file:${join(run, 'console.log')}`,
      '-chardev',
      `socket,id=ctl,path=${ctlPath},server=on,wait=off`,
      '-serial',
      'chardev:ctl',
      '-drive',
      `file=${disk},if=virtio,format=raw`,
      '-qmp',
      `unix:${join(run, 'qmp.sock')},server=on,wait=off`,
    ];
    const tBoot = Date.now();
    qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    qemu.stderr!.on('data', (b: Buffer) => {
      qemuStderr += b.toString();
    });
    qemu.on('error', (err) => {
      qemuStderr += `spawn error: ${err.message}`;
    });

    for (let i = 0; ; i++) {
      if (qemu.exitCode !== null || qemu.signalCode !== null || qemuStderr.includes('spawn error')) {
        throw new Error(`qemu exited at start: ${qemuStderr.trim()}`);
      }
      try {
        await access(ctlPath);
        break;
      } catch {
        if (i > 500) throw new Error(`qemu did not create ${ctlPath} within 10 s`);
        await sleep(20);
      }
    }
    sock = connect(ctlPath);
    await new Promise<void>((resolve, reject) => {
      sock!.once('connect', resolve);
      sock!.once('error', reject);
    });
    ctl = new GuestControl(sock, { onGarbage: (l) => garbage.push(l) });
    await ctl.waitReady(90_000);
    bootMs = Date.now() - tBoot;
  },
  { timeout: 180_000 },
);

after(async () => {
  ctl?.close();
  const pid = qemu?.pid;
  if (pid && qemu!.exitCode === null && qemu!.signalCode === null) {
    const exited = new Promise<void>((r) => qemu!.once('exit', () => r()));
    process.kill(pid, 'SIGTERM');
    const gone = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
    if (!gone) {
      process.kill(pid, 'SIGKILL');
      await exited;
    }
  }
  await rm(home, { recursive: true, force: true });
});

const sh = async (script: string, timeoutMs = 60_000): Promise<{ rc: number; output: string }> =>
  ctl!.exec(script, { timeoutMs });

test('image: built into POFBENCH_HOME, complete, cached and reused', async (t) => {
  t.diagnostic(`build of the ${DATASET_MIB} MiB image: ${buildMs} ms`);
  assert.ok(image.dir.startsWith(join(home, 'images')));
  assert.ok(buildMs < 60_000, `build took ${buildMs} ms`);
  assert.equal(image.dataDiskBytes % 4096, 0);
  assert.equal((await stat(image.dataDisk)).size, image.dataDiskBytes);
  assert.equal(image.dataset.totalBytes, DATASET_MIB * 1024 * 1024);
  assert.equal(image.dataset.files.length, 8);
  assert.equal(image.dataset.files[0].path, '/data/dataset/f0001.bin');
  assert.equal(image.dataset.seed, 'pofbench');
  assert.match(image.kernelVersion, /-cloud-amd64$/);
  for (const p of ['busybox-static', 'stress-ng', 'sysbench', 'e2fsprogs', 'libc6'])
    assert.ok(image.packages[p], `package ${p} recorded`);
  const manifest = JSON.parse(await readFile(join(image.dir, 'image.json'), 'utf8')) as { id: string };
  assert.equal(manifest.id, image.id);
  const loaded = await loadImage({ datasetMib: DATASET_MIB });
  assert.equal(loaded?.id, image.id);
  assert.equal(loaded?.builtAt, image.builtAt);
  const t0 = Date.now();
  const again = await buildImage({ datasetMib: DATASET_MIB });
  assert.equal(again.builtAt, image.builtAt, 'second build reuses the cached image');
  t.diagnostic(`cached build: ${Date.now() - t0} ms`);
  assert.equal(await loadImage({ datasetMib: DATASET_MIB, seed: 'other' }), undefined);
});

test('guest boots and the agent answers', (t) => {
  t.diagnostic(`boot to READY: ${bootMs} ms`);
  assert.ok(bootMs > 0);
});

test('uname -r is the image kernel', async () => {
  assert.deepEqual(await sh('uname -r'), { rc: 0, output: `${image.kernelVersion}\n` });
});

test('exit codes and stderr come back', async () => {
  assert.deepEqual(await sh('echo out; echo err >&2; exit 3'), { rc: 3, output: 'out\nerr\n' });
  assert.deepEqual(await sh(''), { rc: 0, output: '' });
});

test('/data holds the dataset: MANIFEST and file hashes match the host', async () => {
  const hostManifest = await readFile(imageManifestPath(image), 'utf8');
  const r = await sh('cat /data/dataset/MANIFEST');
  assert.equal(r.rc, 0);
  assert.equal(r.output, hostManifest);
  const entries = parseManifest(hostManifest);
  for (const name of ['f0002.bin', 'f0004.txt']) {
    const e = entries.find((x) => x.name === name)!;
    const g = await sh(`sha256sum /data/dataset/${name}`);
    assert.equal(g.rc, 0);
    assert.equal(g.output.split(/\s+/)[0], e.sha256, `sha256 of ${name} in the guest`);
  }
  assert.equal((await sh('grep " /data ext4 rw" /proc/mounts >/dev/null && touch /data/w && rm /data/w')).rc, 0);
});

test('stress-ng and sysbench run', async () => {
  const s = await sh('stress-ng --version');
  assert.equal(s.rc, 0, s.output);
  assert.match(s.output, /stress-ng/);
  const b = await sh('sysbench --version');
  assert.equal(b.rc, 0, b.output);
  assert.match(b.output, /sysbench/);
  const m = await sh('sysbench memory --memory-block-size=1M --memory-total-size=16M run');
  assert.equal(m.rc, 0, m.output);
});

test('a background job does not hang the agent and PID 1 survives it', async () => {
  const t0 = Date.now();
  const r = await sh('(sleep 1; echo hi) >/tmp/x 2>&1 & echo started');
  assert.deepEqual(r, { rc: 0, output: 'started\n' });
  assert.ok(Date.now() - t0 < 900, `exec with a background job took ${Date.now() - t0} ms`);
  const unredirected = await sh('sleep 3 & echo also');
  assert.deepEqual(unredirected, { rc: 0, output: 'also\n' });
  await sleep(1500);
  assert.deepEqual(await sh('cat /tmp/x; cat /proc/1/comm'), { rc: 0, output: 'hi\ninit\n' });
  // init reaps the orphaned background job: no zombies left
  const z = await sh(`sleep 2; cat /proc/[0-9]*/stat 2>/dev/null | awk '$3 == "Z"' | wc -l`);
  assert.equal(z.output.trim(), '0');
});

test('large output (100 KB, binary) and a large script (100 KB) survive the serial line', async (t) => {
  const plan = planDataset(DATASET_MIB);
  const first = datasetFileChunks('pofbench', 0, plan[0]).next().value as Buffer;
  let t0 = Date.now();
  const r = await ctl!.execRaw('head -c 100000 /data/dataset/f0001.bin');
  t.diagnostic(`100 KB output: ${Date.now() - t0} ms`);
  assert.equal(r.rc, 0);
  assert.ok(r.output.equals(first.subarray(0, 100_000)));
  const text = Array.from(
    { length: 2700 },
    (_, i) => `line ${i} ${'abcdefghijklmnopqrstuvwxyz'.slice(i % 26)} '"$\`\\ @@RESULT`,
  ).join('\n');
  t0 = Date.now();
  const s = await sh(`cat <<'POF_EOF' | sha256sum\n${text}\nPOF_EOF\n`);
  t.diagnostic(`${(text.length / 1024).toFixed(0)} KB script: ${Date.now() - t0} ms`);
  assert.equal(s.output.split(/\s+/)[0], createHash('sha256').update(`${text}\n`).digest('hex'));
});

test('garbage written to the guest is skipped', async () => {
  sock!.write('this is not a command\n\0\x01\x02 junk\nbad!id AAAA\nid-ok not*base64\n@@READY\n');
  assert.deepEqual(await sh('echo still here'), { rc: 0, output: 'still here\n' });
});

test('50 sequential exec calls all succeed', async (t) => {
  const t0 = Date.now();
  for (let i = 0; i < 50; i++) {
    const r = await sh(`echo ${i}`);
    assert.deepEqual(r, { rc: 0, output: `${i}\n` });
  }
  t.diagnostic(`exec round trip: ${((Date.now() - t0) / 50).toFixed(1)} ms average over 50`);
  t.diagnostic(`non-protocol lines from the guest during the run: ${garbage.length}`);
});
