import type { Command } from 'commander';

/** `pofbench run ...` */
export function registerRunCommand(program: Command): void {
  void program;
}
