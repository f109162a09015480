import { CommanderError } from 'commander';
import { EXIT, OperationFailed, UserError, errorMessage } from '../util/errors.js';
import { CodecError } from '../codec/errors.js';

/**
 * How a command's exception ends the process: its exit code (README "Commands": 0 ok, 1 failed,
 * 2 usage/configuration, 3 regression, 4 internal error) and the one line printed for it.
 */
export function classify(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err instanceof UserError) return EXIT.usage;
  // a malformed or unsupported migration stream (stream inspect/encode/decode, the agents): the input, not a bug
  if (err instanceof OperationFailed || err instanceof CodecError) return EXIT.failed;
  return EXIT.internal;
}

/** The line on stderr; undefined when commander printed its own message. */
export function errorLine(err: unknown, debug = Boolean(process.env.POFBENCH_DEBUG)): string | undefined {
  if (err instanceof CommanderError) return undefined;
  if (err instanceof UserError) return `pofbench: ${err.message}${err.hint ? ` — ${err.hint}` : ''}`;
  if (err instanceof OperationFailed || err instanceof CodecError) return `pofbench: ${err.message}`;
  return (
    `pofbench: internal error: ${errorMessage(err)}` +
    `${debug ? '' : ' (run again with --verbose or POFBENCH_DEBUG=1 for the stack)'}`
  );
}
