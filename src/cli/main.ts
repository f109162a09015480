#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { UserError, errorMessage } from '../util/errors.js';

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
  .exitOverride();

const hostSide = HOST_SIDE[process.argv[2] ?? ''];
if (hostSide) (await hostSide())(program);
else (await import('./commands.js')).registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof UserError) {
    console.error(`pofbench: ${err.message}${err.hint ? ` — ${err.hint}` : ''}`);
    process.exitCode = 2;
  } else {
    console.error(`pofbench: ${errorMessage(err)}`);
    if (process.env.POFBENCH_DEBUG && err instanceof Error) console.error(err.stack);
    process.exitCode = 1;
  }
}
