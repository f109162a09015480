#!/usr/bin/env node
import { Command } from 'commander';
import { EXIT, UserError } from '../util/errors.js';
import { classify, errorLine } from './exitCodes.js';

/**
 * Commands the runner starts on the hosts load only their own module: the POF agents and the host
 * sampler start during a run's warm-up, and loading every command (reports, Vega, ssh2, …) cost
 * each of them ~1 core-second on the machine under test.
 */
const HOST_SIDE: Record<string, () => Promise<(p: Command) => void>> = {
  agent: async () => (await import('./agent.js')).registerAgentCommand,
  host: async () => (await import('./host.js')).registerHostCommand,
};

const program = new Command();
program
  .name('pofbench')
  .description('Benchmark stock QEMU pre-copy vs POF-SVLM storage-assisted live migration')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 a run or the operation failed, 2 usage or configuration error (nothing started), 3 the ' +
      'release gate found a regression, 4 internal error (an unexpected exception; --verbose prints its stack).',
  );
// --verbose on any command: debug lines (POFBENCH_DEBUG) and the stack of an internal error
program.hook('preAction', (_program, action) => {
  const o = action.opts() as { verbose?: boolean; quiet?: boolean };
  if (o.verbose && o.quiet) throw new UserError('--quiet and --verbose contradict each other', 'pass one of them');
  if (o.verbose) process.env.POFBENCH_DEBUG = '1';
});

const hostSide = HOST_SIDE[process.argv[2] ?? ''];
if (hostSide) (await hostSide())(program);
else (await import('./commands.js')).registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const line = errorLine(err);
  if (line) console.error(line);
  if (process.env.POFBENCH_DEBUG && classify(err) === EXIT.internal && err instanceof Error) console.error(err.stack);
  process.exitCode = classify(err);
}
