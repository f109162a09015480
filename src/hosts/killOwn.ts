/**
 * Ending a process we started on a host, by PID, only while that PID still runs our command. PIDs are reused
 * (pid_max is 32768 on many hosts, and a run spawns thousands of processes over SSH), so a PID that exited a
 * while ago can name another process by the time a clean-up gets to it: a bare `kill PID` there ends someone
 * else's process.
 */
import { sh } from './ssh.js';

export interface KillOwnOptions {
  /** Wait this long (ms) for it to exit on its own first (after a QMP quit, say). */
  waitFirstMs?: number;
  /** After SIGTERM, wait this long (ms) before SIGKILL. */
  graceMs?: number;
}

/**
 * A shell command line that ends process `pid` if its command line still contains `marker` (a path of its own run:
 * its stats file, its QMP socket): SIGTERM, `graceMs`, SIGKILL. A zombie or a process with another command line
 * counts as gone. Exits 0.
 */
export function killOwnCommand(pid: number, marker: string, o: KillOwnOptions = {}): string {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`killOwnCommand: bad pid ${pid}`);
  if (!marker) throw new Error('killOwnCommand: empty marker');
  const own = `own() { tr '\\0' ' ' < /proc/${pid}/cmdline 2>/dev/null | grep -qF -- ${sh([marker])}; }`;
  const wait = (ms: number) => `for i in $(seq ${Math.ceil(ms / 100)}); do own || break; sleep 0.1; done`;
  return [
    own,
    ...(o.waitFirstMs ? [wait(o.waitFirstMs)] : []),
    `own && kill ${pid} 2>/dev/null`,
    wait(o.graceMs ?? 3000),
    `own && kill -9 ${pid} 2>/dev/null`,
    'true',
  ].join('; ');
}
