import type { Command } from 'commander';
import { table } from 'table';
import { planSession, type PlannedRun, type SessionPlan } from '../plan/plan.js';
import { ESTIMATE_MODEL, describeModel, formatDuration, workloadMib } from '../plan/estimate.js';
import { completedRuns } from '../plan/resume.js';
import { planInputs, type PlanFlags } from './planOptions.js';
import { STRATEGY_NAMES } from '../scenario/types.js';

const workloadText = (r: PlannedRun) => {
  const mib = workloadMib(r.scenario.workload);
  return `${r.scenario.workload.type}${mib ? ` ${mib} MiB` : ''}`;
};
const linkText = (mbit: number) => (mbit > 0 ? `${mbit} Mbit/s` : 'uncapped');

/** The matrix as a terminal table, with the estimate and the notes under it. */
export function renderPlan(plan: SessionPlan): string {
  const head = ['#', 'scenario', 'config', 'strategy', 'repeat', 'guest MiB', 'workload', 'link cap', 'est.'];
  const rows = plan.runs.map((r) => [
    String(r.n),
    r.scenario.name,
    r.scenario.config_id || '-',
    r.strategy,
    `${r.repeat}${r.warmup ? ' (warm-up)' : ''}`,
    String(r.scenario.guest.memory_mib),
    workloadText(r),
    linkText(r.scenario.migration.link_cap_mbit),
    formatDuration(r.estimate_s),
  ]);
  const lines = [
    `${plan.runs.length} runs${plan.completed ? ` (${plan.completed} of ${plan.total} already completed)` : ''}` +
      (plan.seed === undefined
        ? ', in matrix order (pofbench run shuffles it; --seed N shows its order)'
        : `, in the order of --seed ${plan.seed}`),
    `estimated duration: ${formatDuration(plan.estimate_s)} (model: pofbench plan --help)`,
    ...plan.notes.map((n) => `note: ${n}`),
  ];
  const drawHorizontalLine = (i: number, size: number) => i <= 1 || i === size;
  return `${rows.length ? table([head, ...rows], { drawHorizontalLine }) : ''}${lines.join('\n')}\n`;
}

/** The plan for machines. */
export function planJson(plan: SessionPlan, files: string[]): unknown {
  return {
    files,
    seed: plan.seed ?? null,
    count: plan.runs.length,
    total: plan.total,
    completed: plan.completed,
    estimate_s: Math.round(plan.estimate_s),
    notes: plan.notes,
    model: ESTIMATE_MODEL,
    runs: plan.runs.map((r) => ({
      n: r.n,
      scenario: r.scenario.name,
      file: r.scenario.file,
      config_id: r.scenario.config_id,
      sweep: r.scenario.sweep,
      strategy: r.strategy,
      repeat: r.repeat,
      warmup: r.warmup,
      guest_memory_mib: r.scenario.guest.memory_mib,
      workload: r.scenario.workload,
      link_cap_mbit: r.scenario.migration.link_cap_mbit,
      downtime_limit_ms: r.scenario.migration.downtime_limit_ms,
      capabilities: r.scenario.migration.capabilities,
      estimate_s: r.estimate_s,
    })),
  };
}

/** `pofbench plan SCENARIO.yaml... [--json]`: the expanded matrix and its estimated duration; starts nothing. */
export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description(
      'print the runs the scenarios expand to (sweep grid x strategies x repeats) and an estimated duration, without ' +
        'starting anything',
    )
    .argument('<scenarios...>', 'scenario YAML files')
    .option(
      '--strategies <list>',
      `comma-separated strategies (${STRATEGY_NAMES.join(', ')}); default: each scenario's own list`,
    )
    .option('--repeat <n>', "repeats per configuration and strategy (default: the scenario's repeat)")
    .option('--seed <n>', 'show the shuffled order pofbench run --seed N would use (default: matrix order)')
    .option('--warmup-runs <n>', 'mark the first N runs of each configuration and strategy as warm-up', '0')
    .option('--resume <dir>', 'leave out runs already completed in this results directory')
    .option('--json', 'print the plan as JSON')
    .addHelpText('after', `\n${describeModel()}\n`)
    .action(async (files: string[], o: PlanFlags & { json?: boolean }) => {
      const inputs = await planInputs(files, o);
      const plan = planSession(inputs.scenarios, {
        strategies: inputs.strategies,
        repeat: inputs.repeat,
        seed: inputs.seed,
        warmupRuns: inputs.warmupRuns,
        completed: inputs.resumeDir ? await completedRuns(inputs.resumeDir) : [],
      });
      process.stdout.write(o.json ? `${JSON.stringify(planJson(plan, files), null, 2)}\n` : renderPlan(plan));
    });
}
