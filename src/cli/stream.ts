import type { Command } from 'commander';

/** `pofbench stream ...` */
export function registerStreamCommand(program: Command): void {
  void program;
}
