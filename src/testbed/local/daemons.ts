import { spawn } from 'node:child_process';
import { openSync, closeSync, existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { pidRunning, sleep } from '../../util/exec.js';

/**
 * Starts a long-lived daemon inside a network namespace with a private mount namespace whose /run
 * is a fresh tmpfs (each testbed host has its own /run, like a real machine). The shell `exec`s
 * the daemon, so the PID we get back is the daemon's own. Output goes to `logPath`.
 */
export async function startNsDaemon(opts: {
  ns: string;
  /** Shell commands run (in the private mount namespace) before the daemon; may start helpers. */
  prelude: string;
  /** The daemon command line, already shell-quoted. */
  exec: string;
  logPath: string;
  pidPath: string;
  exeName: string;
}): Promise<number> {
  const script = `mount -t tmpfs -o mode=755,size=64m tmpfs /run && ${opts.prelude} exec ${opts.exec}`;
  // node's own spawn: a detached child with plain fds and unref() lets the CLI exit while the
  // daemon lives on (execa keeps piping state that holds the parent's event loop open)
  const fd = openSync(opts.logPath, 'a');
  const child = spawn(
    'ip',
    ['netns', 'exec', opts.ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script],
    {
      detached: true,
      stdio: ['ignore', fd, fd],
    },
  );
  closeSync(fd);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error(`could not start ${opts.exeName} in ${opts.ns}`);
  await writeFile(opts.pidPath, `${pid}\n`);
  // give it a moment to fail fast (bad config) before callers probe its port
  for (let i = 0; i < 10; i++) {
    await sleep(50);
    if (!(await pidRunning(pid))) {
      const log = await readFile(opts.logPath, 'utf8').catch(() => '');
      throw new Error(
        `${opts.exeName} in ${opts.ns} exited at start; last log lines: ` +
          `${log.trim().split('\n').slice(-4).join(' | ')}`,
      );
    }
  }
  return pid;
}

export async function readPid(pidPath: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(pidPath, 'utf8')).trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. Only for PIDs we recorded ourselves. */
export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await pidRunning(pid))) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  for (let i = 0; i < 40 && (await pidRunning(pid)); i++) await sleep(50);
}

/**
 * Waits (up to `timeoutMs`) until stopped PIDs are gone from /proc: a stopped daemon stays a zombie
 * until its parent reaps it, and the testbed's daemons are orphans whose parent is init, which here
 * reaps only every second or two; `pgrep` and leftover checks still list such a zombie.
 */
export async function waitReaped(pids: readonly number[], timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) await sleep(100);
}
