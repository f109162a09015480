/**
 * The runner's exit paths besides returning: SIGINT, SIGTERM, SIGHUP, and an error nothing caught (a
 * series write on a full disk, a stream's error event). Each runs the same sequence exactly once:
 * stop what the runs in flight started (so they fail fast), let them write their records with the
 * reason, the session's last words (manifest, spooled InfluxDB points), close, exit. A second signal
 * stops the waiting for records (the clean-up itself still finishes); a third exits at once.
 */
import { errorMessage } from '../util/errors.js';
import { sleep } from '../util/exec.js';

export interface ExitHooks {
  /** Stops what the runs in flight started (their VMs, agents, caps): they then fail and write records. */
  cleanupInFlight(): Promise<void>;
  /** Resolves once the runs in flight have returned their records. */
  runsSettled(): Promise<unknown>;
  /** After the records: e.g. the session manifest and the interrupted runs' InfluxDB spool. */
  lastWords(reason: string): Promise<void>;
  /** Closes connections. */
  close(): void;
  log(line: string): void;
}

export interface ExitGuard {
  /** Why the session is ending early (a signal name, or "error: …"), undefined while it is not. */
  reason(): string | undefined;
  /** Uninstalls the handlers (the session returned normally). */
  dispose(): void;
}

/** How long the interrupted runs get to write their records before exit (a second signal cuts it short). */
export const RECORD_AFTER_SIGNAL_MS = 30000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Logs without ever throwing (after SIGHUP the terminal may be gone: EIO/EPIPE). */
function safeLog(log: (l: string) => void): (l: string) => void {
  return (l) => {
    try {
      log(l);
    } catch {
      /* no terminal */
    }
  };
}

export function guardExits(h: ExitHooks, o: { graceMs?: number; exit?: (code: number) => void } = {}): ExitGuard {
  const log = safeLog(h.log);
  const exit = o.exit ?? ((code: number) => process.exit(code));
  let reason: string | undefined;
  let signals = 0;
  let stopWaiting: () => void = () => undefined;
  const waitCut = new Promise<void>((r) => {
    stopWaiting = r;
  });
  const finish = async (why: string, code: number) => {
    log(`${why}: cleaning up the run(s) in progress… (signal again to stop waiting for their records)`);
    await h.cleanupInFlight().catch((err) => log(`clean-up: ${errorMessage(err)}`));
    await Promise.race([h.runsSettled(), sleep(o.graceMs ?? RECORD_AFTER_SIGNAL_MS), waitCut]);
    await h.lastWords(why).catch((err) => log(`after ${why}: ${errorMessage(err)}`));
    h.close();
    exit(code);
  };
  const begin = (why: string, code: number) => {
    if (reason !== undefined) return;
    reason = why;
    void finish(why, code);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) return begin(sig, 130);
    if (signals === 2) {
      log(`second ${sig}: not waiting for the records any longer; finishing the clean-up`);
      return stopWaiting();
    }
    log(`${sig} again: exiting now (the clean-up may be incomplete: run "pofbench testbed down" if it is local)`);
    exit(130);
  };
  const onError = (err: unknown) => {
    log(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    begin(`error: ${errorMessage(err)}`, 1);
  };
  // after SIGHUP writes to the terminal fail: an EPIPE/EIO on stderr must not become an unexpected error
  const onStdError = () => undefined;
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  process.stderr.on('error', onStdError);
  process.stdout.on('error', onStdError);
  return {
    reason: () => reason,
    dispose: () => {
      for (const s of SIGNALS) process.off(s, onSignal);
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
      process.stderr.off('error', onStdError);
      process.stdout.off('error', onStdError);
    },
  };
}
