import type { Command } from 'commander';
import { groupRecords, loadRecords } from '../analysis/group.js';
import { DEFAULT_OBJECTIVES, parseFieldList } from '../analysis/metrics.js';
import { recommend } from '../analysis/recommend.js';
import { UserError } from '../util/errors.js';
import { parseChoice, parseNonNegativeNumber } from './analysisArgs.js';

const DOWNTIME_FIELDS = ['downtime_ms', 'app_downtime_ms'] as const;
type DowntimeField = (typeof DOWNTIME_FIELDS)[number];

interface RecommendOpts {
  workload: string;
  maxDowntimeMs: string;
  objectives: string;
  prefer: string;
  downtimeField: string;
  json?: boolean;
  pool?: boolean;
}

/** `pofbench recommend DIR --workload W --max-downtime-ms X [--objectives ...] [--prefer total_time_ms]` */
export function registerRecommendCommand(program: Command): void {
  program
    .command('recommend')
    .description(
      'pick, from the Pareto front of a workload, the configuration within the downtime limit that is best on the ' +
        'preferred objective',
    )
    .argument('<dirs...>', 'session directories, a results root holding sessions, or run directories')
    .requiredOption(
      '--workload <type>',
      'workload type (params.workload.type, e.g. pagecache), or the scenario name for records without one',
    )
    .requiredOption('--max-downtime-ms <x>', 'limit on the median downtime')
    .option(
      '--objectives <list>',
      'comma-separated run.json fields spanning the front (the --prefer and downtime fields are always added)',
      DEFAULT_OBJECTIVES.join(','),
    )
    .option('--prefer <field>', 'objective to be best on', 'total_time_ms')
    .option(
      '--downtime-field <field>',
      `which downtime the limit applies to: ${DOWNTIME_FIELDS.join(', ')} (default: the app downtime the probe saw; ` +
        `downtime_ms is QMP's, QEMU's view from the source)`,
      'app_downtime_ms',
    )
    .option('--json', 'print the choice and the eligible configurations as JSON')
    .option(
      '--pool',
      'merge runs of one scenario/config that differ in parameters, QEMU version or revision (default: kept apart, ' +
        'with a warning)',
    )
    .action(async (dirs: string[], o: RecommendOpts) => {
      const maxDowntimeMs = parseNonNegativeNumber(o.maxDowntimeMs, '--max-downtime-ms');
      const downtimeField = parseChoice<DowntimeField>(o.downtimeField, '--downtime-field', DOWNTIME_FIELDS);
      const records = await loadRecords(dirs);
      const objectives = parseFieldList(o.objectives, '--objectives', records);
      const prefers = parseFieldList(o.prefer, '--prefer', records);
      if (prefers.length !== 1) throw new UserError(`--prefer takes one field, got "${o.prefer}"`);
      const prefer = prefers[0];
      const r = recommend(groupRecords(records, 'stock', { pool: o.pool }), {
        workload: o.workload,
        maxDowntimeMs,
        objectives,
        prefer,
        downtimeField,
      });
      if (o.json) {
        const strip = ({ scenario, config_id, strategy, runs, failed, median }: typeof r.choice) => ({
          scenario,
          ...(config_id !== undefined ? { config_id } : {}),
          strategy,
          runs,
          failed,
          median,
        });
        console.log(
          JSON.stringify(
            {
              workload: o.workload,
              objectives: r.objectives,
              choice: strip(r.choice),
              eligible: r.eligible.map(strip),
              explanation: r.explanation,
            },
            null,
            2,
          ),
        );
      } else {
        for (const line of r.explanation) console.log(line);
      }
    });
}
