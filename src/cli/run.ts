import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadScenario } from '../scenario/load.js';
import { runSession } from '../runner/session.js';
import { renderRunTable } from '../reports/runTable.js';
import { localUp } from '../testbed/local/localTestbed.js';
import { buildImage } from '../image/build.js';
import type { TestbedSpec } from '../testbed/spec.js';
import { UserError } from '../util/errors.js';
import { createStrategy } from '../strategy/index.js';

async function resolveTestbed(which: string, log: (l: string) => void): Promise<TestbedSpec> {
  if (which === 'local') return localUp(log);
  try {
    return JSON.parse(await readFile(which, 'utf8')) as TestbedSpec;
  } catch (err) {
    throw new UserError(`testbed file ${which}: ${(err as Error).message}`, 'pass --testbed local or a testbed JSON file');
  }
}

/** `pofbench run SCENARIO.yaml... --strategies stock [--repeat N] [--out DIR]` */
export function registerRunCommand(program: Command): void {
  program.command('run')
    .description('run migrations of the given scenarios and print a table; records go to OUT/<run-id>/run.json')
    .argument('<scenarios...>', 'scenario YAML files')
    .option('--strategies <list>', 'comma-separated strategies (stock, pof); default: the scenario\'s own list')
    .option('--repeat <n>', 'repeats per scenario and strategy (default: the scenario\'s repeat)')
    .option('--out <dir>', 'results directory', 'results')
    .option('--testbed <local|FILE>', 'the local namespace testbed (brought up if needed) or a testbed JSON file', 'local')
    .option('--dataset-mib <n>', 'dataset size of the guest image', '640')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the records as JSON instead of a table')
    .action(async (files: string[], o: { strategies?: string; repeat?: string; out: string; testbed: string; datasetMib: string; quiet?: boolean; json?: boolean }) => {
      const scenarios = await Promise.all(files.map((f) => loadScenario(f)));
      const repeat = o.repeat === undefined ? undefined : Number(o.repeat);
      if (repeat !== undefined && (!Number.isInteger(repeat) || repeat < 1)) throw new UserError(`--repeat must be a positive integer, got "${o.repeat}"`);
      const strategies = o.strategies ? o.strategies.split(',').map((s) => s.trim()).filter(Boolean) : [...new Set(scenarios.flatMap((s) => s.strategies))];
      for (const name of strategies) for (const s of scenarios) createStrategy(name).validate(s);
      const log = (l: string) => { if (!o.quiet) console.error(`  ${l}`); };
      const image = await buildImage({ datasetMib: Number(o.datasetMib), log });
      const testbed = await resolveTestbed(o.testbed, log);
      const records = await runSession({ scenarios, strategies, repeat, testbed, image, outDir: resolve(o.out), quiet: o.quiet });
      console.log(o.json ? JSON.stringify(records, null, 2) : renderRunTable(records));
      if (!o.quiet) console.error(`results: ${resolve(o.out)}/<run-id>/run.json`);
      if (records.some((r) => r.status !== 'completed')) process.exitCode = 1;
    });
}
