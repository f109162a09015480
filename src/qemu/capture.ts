import { execa } from 'execa';
import { connect } from 'node:net';
import { mkdtempSync, copyFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient } from './qmp.js';
import { qemuArgv } from './commandLine.js';
import { assertCompleted, configureMigration, sampleUntilEnded, startMigration } from './migration.js';
import { GuestControl } from '../guest/control.js';
import { guestKernelCmdline, type GuestImage } from '../image/build.js';
import { sleep } from '../util/exec.js';

async function connectUnix(path: string) {
  for (let i = 0; ; i++) {
    try {
      return await new Promise<import('node:net').Socket>((resolve, reject) => {
        const s = connect(path);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch (err) {
      if (i > 100) throw err;
      await sleep(50);
    }
  }
}

export interface Captured {
  dir: string;
  stream: string;
  disk: string;
  trace: string;
  cleanup(): void;
}

export interface CaptureOptions {
  memoryMib?: number;
  /** run in the guest before the migration */
  script?: string;
  settleMs?: number;
  /** a virtio-mem device of this size (none plugged): QEMU then saves an early-setup device section */
  virtioMemMib?: number;
}

/**
 * Boots the project's guest locally (no testbed, no NIC, data disk = a private copy of the image's
 * disk), runs `script` in it, then migrates to a file (`exec:cat > FILE`) and returns the paths.
 * QEMU is always killed by PID, even on failure.
 */
export async function captureStream(image: GuestImage, opts: CaptureOptions = {}): Promise<Captured> {
  const dir = mkdtempSync(join(tmpdir(), 'pofbench-capture-'));
  const disk = join(dir, 'data.raw');
  copyFileSync(image.dataDisk, disk);
  const trace = join(dir, 'blk-trace.log');
  const stream = join(dir, 'qemu.stream');
  const [bin, ...args] = qemuArgv(
    {
      id: 'capture',
      accel: 'tcg',
      memoryMib: opts.memoryMib ?? 256,
      virtioMemMib: opts.virtioMemMib,
      vcpus: 1,
      kernel: image.kernel,
      initrd: image.initrd,
      append: guestKernelCmdline({}),
      localDisk: disk,
      traceLog: trace,
    },
    dir,
    { daemonize: false },
  );
  const qemu = execa(bin, args, { reject: false, stdio: 'ignore', cleanup: true });
  const kill = () => {
    if (qemu.pid)
      try {
        process.kill(qemu.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
  };
  try {
    const qmp = await QmpClient.open(await connectUnix(join(dir, 'qmp.sock')), 'capture');
    const ctl = new GuestControl(await connectUnix(join(dir, 'ctl.sock')));
    await ctl.waitReady(60000);
    if (opts.script) {
      const r = await ctl.exec(opts.script, { timeoutMs: 300000 });
      if (r.rc !== 0) throw new Error(`guest script failed (${r.rc}): ${r.output}`);
    }
    await sleep(opts.settleMs ?? 500);
    if (process.env.CAPTURE_DEBUG)
      console.log('trace before migrate:', readFileSync(trace, 'utf8').split('\n').length, 'lines');
    ctl.close();
    await configureMigration(qmp, undefined, {
      capabilities: [],
      sharedParameters: {},
      sourceParameters: { 'max-bandwidth': 4 * 1024 * 1024 * 1024 },
    });
    await startMigration(qmp, `exec:cat > ${stream}`);
    assertCompleted((await sampleUntilEnded(qmp)).info, 'capture migration');
    await qmp.execute('quit').catch(() => undefined);
    qmp.close();
    await Promise.race([qemu, sleep(5000)]);
    return { dir, stream, disk, trace, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    // a guest that died (e.g. out of memory at boot) only shows as a closed channel: say why
    let consoleTail = '';
    try {
      consoleTail = readFileSync(join(dir, 'console.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
    } catch {
      /* none */
    }
    rmSync(dir, { recursive: true, force: true });
    if (consoleTail && err instanceof Error) err.message += ` (guest console: ${consoleTail})`;
    throw err;
  } finally {
    kill();
  }
}

export function readAll(path: string): Buffer {
  return readFileSync(path);
}
