#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { UserError, errorMessage } from '../util/errors.js';
import { registerCommands } from './commands.js';

const program = new Command();
program
  .name('pofbench')
  .description('Benchmark stock QEMU pre-copy vs POF-SVLM storage-assisted live migration')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerCommands(program);

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
