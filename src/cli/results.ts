import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InfluxSink } from '../sinks/influx.js';
import { OperationFailed, UserError } from '../util/errors.js';
import { addInfluxOptions, influxConfig, type InfluxFlags } from './influxOptions.js';
import { table } from 'table';
import { listSessions, type SessionSummary } from '../results/session.js';
import { pruneSessions } from '../results/prune.js';
import { parseInteger, parseNonNegativeNumber } from './analysisArgs.js';

/** One line per session: when, what, how it ended, where. */
function renderSessions(list: readonly SessionSummary[]): string {
  const head = ['session', 'started (UTC)', 'status', 'scenarios', 'strategies', 'completed', 'failed', 'path'];
  const rows = list.map((s) => {
    const m = s.manifest;
    const scen = m ? [...new Set(m.scenarios.map((x) => x.name))] : [];
    const strat = m ? [...new Set(m.scenarios.flatMap((x) => x.strategies))] : [];
    return [
      m?.session_id ?? '(no session)',
      m ? m.started_at.replace('T', ' ').replace(/\.\d+Z$/, '') : '-',
      m?.status ?? s.problem ?? '-',
      scen.length > 3 ? `${scen.slice(0, 3).join(', ')} +${scen.length - 3}` : scen.join(', ') || '-',
      strat.join(', ') || '-',
      String(s.completed),
      String(s.failed + s.unreadable.length),
      s.dir,
    ];
  });
  return table([head, ...rows], { columns: { 2: { width: 16, wrapWord: true }, 3: { width: 28, wrapWord: true } } });
}

/** `pofbench results list|push|prune` */
export function registerResultsCommand(program: Command): void {
  const results = program
    .command('results')
    .description('work with results: sessions (OUT/<session-id>/session.json) and their runs');
  registerList(results);
  registerPush(results);
  registerPrune(results);
}

/** `pofbench results list [ROOT] [--json]` */
function registerList(results: Command): void {
  results
    .command('list')
    .description('the sessions under a results root: when, what, how many runs completed and failed')
    .argument('[dir]', 'results root (the --out of pofbench run)', 'results')
    .option('--json', 'print the sessions as JSON')
    .action(async (dir: string, o: { json?: boolean }) => {
      const list = await listSessions(resolve(dir));
      if (o.json) {
        console.log(JSON.stringify(list, null, 2));
        return;
      }
      if (list.length === 0) {
        console.log(`no sessions under ${resolve(dir)}`);
        return;
      }
      process.stdout.write(renderSessions(list));
      for (const s of list) for (const f of s.unreadable) console.error(`warning: unreadable run record ${f}`);
    });
}

/** `pofbench results push DIR [--influx-...] [--json]` */
function registerPush(results: Command): void {
  addInfluxOptions(
    results
      .command('push')
      .description(
        'send the runs spooled while InfluxDB was unreachable (the runs under DIR: a results root, a session or one ' +
          'run directory); each spool is sent once',
      )
      .argument('<dir>', 'results root, session directory or run directory'),
  )
    .option('--quiet', 'print only the summary')
    .option('--verbose', 'debug lines of the InfluxDB client')
    .option('--json', 'print the summary as JSON: {target, runs, lines, failed: [{dir, error}]}')
    .action(async (dir: string, o: InfluxFlags & { quiet?: boolean; json?: boolean }) => {
      const cfg = influxConfig(o);
      if (!cfg)
        throw new UserError(
          'no InfluxDB configured',
          'pass --influx-url, --influx-org and --influx-bucket (or set INFLUX_URL, INFLUX_ORG, INFLUX_BUCKET)',
        );
      const root = resolve(dir);
      const st = await stat(root).catch(() => undefined);
      if (!st?.isDirectory())
        throw new UserError(`${dir}: no such directory`, 'give the results directory of `pofbench run --out`');
      const sink = new InfluxSink(cfg, (l) => {
        if (!o.quiet && !o.json) console.error(`  ${l}`);
      });
      const s = await sink.pushSpools(root);
      if (o.json) console.log(JSON.stringify({ target: sink.describe(), ...s }, null, 2));
      else if (s.runs === 0 && s.failed.length === 0) {
        console.log(`nothing to push: no spooled runs under ${root}`);
        return;
      } else console.log(`pushed ${s.runs} spooled run(s), ${s.lines} points, to ${sink.describe()}`);
      if (s.failed.length) {
        throw new OperationFailed(
          `${s.failed.length} run(s) still spooled (${s.failed[0].error}); run \`pofbench results push\` again when ` +
            `${cfg.url} is reachable`,
        );
      }
    });
}

/** `pofbench results prune ROOT [--keep N] [--max-age-days D] [--dry-run] [--json]`: retention */
function registerPrune(results: Command): void {
  results
    .command('prune')
    .description(
      'retention: remove the sessions under a results root beyond the newest N (and, with --max-age-days, only ' +
        'those older than D days); never a running session, an unreadable one, or runs outside sessions',
    )
    .argument('<root>', 'results root (the --out of pofbench run)')
    .option('--keep <n>', 'always keep the newest N sessions', '30')
    .option('--max-age-days <d>', 'of the others, remove only the sessions started more than D days ago')
    .option('--dry-run', 'say what would go, remove nothing')
    .option('--json', 'print every decision as JSON: [{dir, session_id, started_at, remove, why}]')
    .action(async (root: string, o: { keep: string; maxAgeDays?: string; dryRun?: boolean; json?: boolean }) => {
      const keep = parseInteger(o.keep, '--keep', 0);
      const maxAgeDays =
        o.maxAgeDays === undefined ? undefined : parseNonNegativeNumber(o.maxAgeDays, '--max-age-days');
      const decisions = await pruneSessions(root, { keep, maxAgeDays }, { dryRun: o.dryRun });
      if (o.json) {
        console.log(JSON.stringify(decisions, null, 2));
        return;
      }
      const gone = decisions.filter((d) => d.remove);
      for (const d of gone) console.log(`${o.dryRun ? 'would remove' : 'removed'} ${d.dir} (${d.why})`);
      console.log(
        `${gone.length} session(s) ${o.dryRun ? 'to remove' : 'removed'}, ${decisions.length - gone.length} kept`,
      );
    });
}
