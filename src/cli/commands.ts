import type { Command } from 'commander';
import { registerImageCommand } from './image.js';
import { registerTestbedCommand } from './testbed.js';
import { registerRunCommand } from './run.js';
import { registerStreamCommand } from './stream.js';
import { registerHostCommand } from './host.js';
import { registerAgentCommand } from './agent.js';

/** Every command group registers itself here; each lives in its own module under src/cli/. */
export function registerCommands(program: Command): void {
  registerImageCommand(program);
  registerTestbedCommand(program);
  registerRunCommand(program);
  registerStreamCommand(program);
  registerHostCommand(program);
  registerAgentCommand(program);
}
