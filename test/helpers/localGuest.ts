import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestControl } from '../../src/guest/control.js';
import { guestKernelCmdline, type GuestImage } from '../../src/image/build.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface LocalGuest {
  ctl: GuestControl;
  /** temp dir holding the disk copy, sockets and console.log */
  dir: string;
  pid: number;
  consoleLog: string;
  /** Kills QEMU by PID (SIGKILL) and removes the temp dir; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Boots the project's guest locally: QEMU TCG, -smp 1, no NIC, the data disk a private copy of the
 * image's (in a fresh temp dir), the control agent on a unix socket. Never touches the cached image.
 * On any failure QEMU is killed by PID and the temp dir removed before the error propagates.
 */
export async function bootLocalGuest(
  image: GuestImage,
  opts: { memoryMib?: number; bootTimeoutMs?: number } = {},
): Promise<LocalGuest> {
  const dir = await mkdtemp(join(tmpdir(), 'pofbench-localguest-'));
  let qemu: ChildProcess | undefined;
  let sock: Socket | undefined;
  let ctl: GuestControl | undefined;
  let stderr = '';
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      ctl?.close();
    } catch {
      /* closed */
    }
    sock?.destroy();
    if (qemu?.pid !== undefined && qemu.exitCode === null && qemu.signalCode === null) {
      const exited = new Promise<void>((r) => qemu!.once('exit', () => r()));
      try {
        process.kill(qemu.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await Promise.race([exited, sleep(5000)]);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const disk = join(dir, 'data.raw');
    await copyFile(image.dataDisk, disk);
    const ctlPath = join(dir, 'ctl.sock');
    const consoleLog = join(dir, 'console.log');
    qemu = spawn(
      'qemu-system-x86_64',
      [
        '-name',
        'localguest-test',
        '-accel',
        'tcg',
        '-m',
        `${opts.memoryMib ?? 256}`,
        '-smp',
        '1',
        '-nodefaults',
        '-no-user-config',
        '-no-reboot',
        '-display',
        'none',
        '-nic',
        'none',
        '-kernel',
        image.kernel,
        '-initrd',
        image.initrd,
        '-append',
        guestKernelCmdline({}),
        '-chardev',
        `file,id=con,path=${consoleLog}`,
        '-serial',
        'chardev:con',
        '-chardev',
        `socket,id=ctl,path=${ctlPath},server=on,wait=off`,
        '-serial',
        'chardev:ctl',
        '-drive',
        `file=${disk},if=virtio,format=raw`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    qemu.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    qemu.on('error', (err) => {
      stderr += `spawn error: ${err.message}`;
    });
    for (let i = 0; ; i++) {
      if (qemu.exitCode !== null || qemu.signalCode !== null || stderr.includes('spawn error'))
        throw new Error(`qemu exited at start: ${stderr.trim()}`);
      if (existsSync(ctlPath)) {
        try {
          sock = await new Promise<Socket>((resolve, reject) => {
            const s = connect(ctlPath);
            s.once('connect', () => resolve(s));
            s.once('error', reject);
          });
          break;
        } catch {
          /* not listening yet */
        }
      }
      if (i > 200) throw new Error(`qemu control socket did not appear: ${stderr.trim()}`);
      await sleep(50);
    }
    ctl = new GuestControl(sock);
    await ctl.waitReady(opts.bootTimeoutMs ?? 60_000);
    return { ctl, dir, pid: qemu.pid!, consoleLog, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
