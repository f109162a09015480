import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InfluxSink } from '../sinks/influx.js';
import { UserError } from '../util/errors.js';
import { addInfluxOptions, influxConfig, type InfluxFlags } from './influxOptions.js';

/** `pofbench results push DIR [--influx-...]` */
export function registerResultsCommand(program: Command): void {
  const results = program.command('results').description('work with result directories (OUT/<run-id>/)');

  addInfluxOptions(results.command('push')
    .description('send the runs spooled while InfluxDB was unreachable (DIR/<run-id>/influx-spool.lp, or DIR itself); each spool is sent once')
    .argument('<dir>', 'results directory (or one run directory)'))
    .option('--quiet', 'print only the summary')
    .action(async (dir: string, o: InfluxFlags & { quiet?: boolean }) => {
      const cfg = influxConfig(o);
      if (!cfg) throw new UserError('no InfluxDB configured', 'pass --influx-url, --influx-org and --influx-bucket (or set INFLUX_URL, INFLUX_ORG, INFLUX_BUCKET)');
      const root = resolve(dir);
      const st = await stat(root).catch(() => undefined);
      if (!st?.isDirectory()) throw new UserError(`${dir}: no such directory`, 'give the results directory of `pofbench run --out`');
      const sink = new InfluxSink(cfg, (l) => { if (!o.quiet) console.error(`  ${l}`); });
      const s = await sink.pushSpools(root);
      if (s.runs === 0 && s.failed.length === 0) {
        console.log(`nothing to push: no spooled runs under ${root}`);
        return;
      }
      console.log(`pushed ${s.runs} spooled run(s), ${s.lines} points, to ${sink.describe()}`);
      if (s.failed.length) {
        throw new Error(`${s.failed.length} run(s) still spooled (${s.failed[0].error}); run \`pofbench results push\` again when ${cfg.url} is reachable`);
      }
    });
}
