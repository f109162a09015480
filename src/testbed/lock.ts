/**
 * One session per testbed: `pofbench run` holds a lock file in the testbed state directory while it
 * runs (pid, command line, start time). A second session is refused with the holder named; a lock
 * whose pid is gone (a killed runner) is stale and taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync, fsyncSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { testbedStateDir } from '../util/paths.js';
import { UserError } from '../util/errors.js';

export interface LockHolder {
  pid: number;
  command: string;
  started_at: string;
}

/** The lock file of a testbed: `local`, or a testbed file (by its absolute path). */
export function testbedLockPath(which: string): string {
  const key = which === 'local' ? 'local' : createHash('sha256').update(resolve(which)).digest('hex').slice(0, 16);
  return join(testbedStateDir(), `session-${key}.lock`);
}

/** Is `pid` a live process (not a zombie)? */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return Number.isInteger(h.pid) ? h : undefined;
  } catch {
    return undefined;
  }
}

/** Creates the lock file (O_EXCL); false when it exists. */
function create(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Takes the testbed's session lock for this process, or throws a UserError naming the session that
 * holds it. Returns the release function (also run at process exit; releasing twice is harmless).
 */
export function acquireTestbedLock(which: string, command = process.argv.slice(1).join(' ')): () => void {
  const path = testbedLockPath(which);
  mkdirSync(testbedStateDir(), { recursive: true });
  const me: LockHolder = { pid: process.pid, command, started_at: new Date().toISOString() };
  for (let attempt = 0; !create(path, me); attempt++) {
    const holder = readHolder(path);
    if (holder && alive(holder.pid) && holder.pid !== process.pid) {
      throw new UserError(
        `testbed ${which} is busy: session pid ${holder.pid} (started ${holder.started_at}: ${holder.command}) ` +
          `holds ${path}`,
        'wait for it to finish, or stop it (Ctrl-C); a lock whose process is gone is taken over',
      );
    }
    // stale (its process is gone) or unreadable: take it over; a second failure means a race we lost
    if (attempt > 0 && holder) throw new UserError(`testbed ${which}: could not take the session lock ${path}`);
    rmSync(path, { force: true });
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
  };
  process.once('exit', release);
  return release;
}
