import type { Command } from 'commander';
import { groupRecords, loadRecords } from '../analysis/group.js';
import { DEFAULT_OBJECTIVES, parseFieldList } from '../analysis/metrics.js';
import { workloadFronts } from '../analysis/workloadFront.js';
import { PARETO_FORMATS, renderFronts, type ParetoFormat } from '../reports/paretoReport.js';
import { UserError } from '../util/errors.js';
import { jsonFormat, parseChoice } from './analysisArgs.js';

/** `pofbench pareto DIR... [--objectives a,b,c] [--format table|json]` */
export function registerParetoCommand(program: Command): void {
  program
    .command('pareto')
    .description(
      'per workload: the non-dominated configurations (medians, all objectives minimised) and, for each dominated ' +
        'one, what dominates it',
    )
    .argument('<dirs...>', 'session directories, a results root holding sessions, or run directories')
    .option(
      '--objectives <list>',
      'comma-separated run.json fields to minimise; cpu_s = src_qemu_cpu_s + dst_qemu_cpu_s + agent_cpu_s',
      DEFAULT_OBJECTIVES.join(','),
    )
    .option('--format <f>', `output format: ${PARETO_FORMATS.join(', ')}`, 'table')
    .option('--json', 'the same as --format json')
    .option(
      '--pool',
      'merge runs of one scenario/config that differ in parameters, QEMU version or revision (default: kept apart, ' +
        'with a warning)',
    )
    .action(async (dirs: string[], o: { objectives: string; format: string; json?: boolean; pool?: boolean }) => {
      const format = parseChoice<ParetoFormat>(jsonFormat(o), '--format', PARETO_FORMATS);
      const records = await loadRecords(dirs);
      const objectives = parseFieldList(o.objectives, '--objectives', records);
      const groups = groupRecords(records, 'stock', { pool: o.pool });
      if (groups.length === 0) throw new UserError(`only warm-up runs in ${dirs.join(', ')}`, 'nothing to analyse');
      process.stdout.write(renderFronts(workloadFronts(groups, objectives), format));
    });
}
