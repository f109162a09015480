import { execa } from 'execa';
import { UserError } from './errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs a local command (no shell); throws with the command line and its stderr when it fails. */
export async function run(
  cmd: string,
  args: string[],
  opts: { allowFail?: boolean; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  try {
    const r = await execa(cmd, args, {
      reject: false,
      input: opts.input,
      timeout: opts.timeoutMs,
      stripFinalNewline: true,
    });
    if (r.failed && r.exitCode === undefined) throw new Error(r.message);
    const exitCode = r.exitCode ?? 1;
    if (exitCode !== 0 && !opts.allowFail) {
      throw new Error(
        `${cmd} ${args.join(' ')} failed (exit ${exitCode}): ${String(r.stderr || r.stdout)
          .trim()
          .split('\n')
          .slice(-3)
          .join(' | ')}`,
      );
    }
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`command not found: ${cmd}`, 'run "bash scripts/setup.sh" to install what pofbench needs');
    }
    throw err;
  }
}

/** Exits if a required executable is missing, naming the Debian package to install. */
export async function requireCommands(needs: Record<string, string>): Promise<void> {
  const missing: string[] = [];
  for (const [bin, pkg] of Object.entries(needs)) {
    const r = await execa('/bin/sh', ['-c', `command -v ${bin}`], { reject: false });
    if (r.exitCode !== 0) missing.push(`${bin} (package ${pkg})`);
  }
  if (missing.length) {
    const pkgs = [...new Set(missing.map((m) => m.replace(/.*package (.*)\)/, '$1')))].join(' ');
    throw new UserError(
      `missing: ${missing.join(', ')}`,
      `run "apt-get install -y ${pkgs}" or "bash scripts/setup.sh"`,
    );
  }
}

/** Is this PID alive and running the expected executable (guards against PID reuse)? */
export async function pidRunning(pid: number, exeSubstring?: string): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
    return exeSubstring ? cmdline.includes(exeSubstring) : true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Thrown from a `waitFor` check to stop waiting at once. */
export class FatalError extends Error {}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false>,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      if (err instanceof FatalError) throw err;
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ` +
          `${what}${lastErr ? `: ${(lastErr as Error).message ?? lastErr}` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}
