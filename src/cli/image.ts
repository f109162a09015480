import type { Command } from 'commander';

/** `pofbench image ...` */
export function registerImageCommand(program: Command): void {
  void program;
}
