import type { Command } from 'commander';

/** `pofbench testbed ...` */
export function registerTestbedCommand(program: Command): void {
  void program;
}
