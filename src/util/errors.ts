/**
 * A failure the user can act on: printed as one line (no stack) and exits with code 2.
 * `hint` says what to do about it.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What the operation was asked to do did not happen (a run failed, spooled points could not be
 * sent, …): printed as one line, exit code 1. Anything else thrown is an internal error (exit 4).
 */
export class OperationFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperationFailed';
  }
}

/** The exit codes of every command (README "Commands"). */
export const EXIT = {
  ok: 0,
  /** A run (or the operation) failed; also a broken testbed in `testbed status`. */
  failed: 1,
  /** A usage or configuration error: nothing was started. */
  usage: 2,
  /** The release gate found a regression (`compare --baseline SESSION --fail-above PCT`). */
  regression: 3,
  /** An unexpected exception: a bug or an environment the code did not foresee (stack with --verbose). */
  internal: 4,
} as const;
