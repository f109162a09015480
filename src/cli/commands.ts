import type { Command } from 'commander';
import { registerImageCommand } from './image.js';
import { registerTestbedCommand } from './testbed.js';
import { registerRunCommand } from './run.js';
import { registerPlanCommand } from './plan.js';
import { registerResultsCommand } from './results.js';
import { registerStreamCommand } from './stream.js';
import { registerHostCommand } from './host.js';
import { registerAgentCommand } from './agent.js';
import { registerBenchCommand } from './bench.js';
import { registerFuzzCommand } from './fuzz.js';
import { registerFaultsCommand } from './faults.js';
import { registerSoakCommand } from './soak.js';
import { registerCompareCommand } from './compare.js';
import { registerParetoCommand } from './pareto.js';
import { registerRecommendCommand } from './recommend.js';
import { registerReportCommand } from './report.js';

/** Every command group registers itself here; each lives in its own module under src/cli/. */
export function registerCommands(program: Command): void {
  registerImageCommand(program);
  registerTestbedCommand(program);
  registerRunCommand(program);
  registerPlanCommand(program);
  registerResultsCommand(program);
  registerStreamCommand(program);
  registerHostCommand(program);
  registerAgentCommand(program);
  registerBenchCommand(program);
  registerFuzzCommand(program);
  registerFaultsCommand(program);
  registerSoakCommand(program);
  registerCompareCommand(program);
  registerParetoCommand(program);
  registerRecommendCommand(program);
  registerReportCommand(program);
}
