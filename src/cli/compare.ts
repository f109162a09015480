import type { Command } from 'commander';
import { groupRecords, loadRecords } from '../analysis/group.js';
import { compareGroups } from '../analysis/compare.js';
import { DEFAULT_COMPARE_FIELDS, parseFieldList } from '../analysis/metrics.js';
import { DEFAULT_RESAMPLES, DEFAULT_SEED } from '../analysis/stats.js';
import { COMPARE_FORMATS, renderComparison, type CompareFormat } from '../reports/compareReport.js';
import { UserError } from '../util/errors.js';
import { parseChoice, parseInteger, parseNonNegativeNumber as parseNonNegative } from './analysisArgs.js';
import { stat } from 'node:fs/promises';
import { gate, renderGate } from '../analysis/gate.js';
import { jsonFormat } from './analysisArgs.js';

interface CompareOpts {
  format: string;
  json?: boolean;
  fields?: string;
  baseline?: string;
  seed: string;
  resamples: string;
  pool?: boolean;
  failAbove?: string;
}

/** What `pofbench compare` prints for `dirs` (also the end of `pofbench run` with two or more strategies). */
export async function comparisonText(
  dirs: string[],
  o: { format?: string; fields?: string; baseline?: string; seed?: string; resamples?: string; pool?: boolean } = {},
): Promise<string> {
  const format = parseChoice<CompareFormat>(o.format ?? 'table', '--format', COMPARE_FORMATS);
  const seed = parseInteger(o.seed ?? String(DEFAULT_SEED), '--seed', 0);
  const resamples = parseInteger(o.resamples ?? String(DEFAULT_RESAMPLES), '--resamples', 1);
  // JSON output carries the warnings (runs kept apart, unreadable records) itself: stdout stays one document
  const warnings: string[] = [];
  const warn =
    format === 'json'
      ? (m: string) => {
          warnings.push(m);
        }
      : undefined;
  const records = await loadRecords(dirs, warn);
  const fields = o.fields === undefined ? [...DEFAULT_COMPARE_FIELDS] : parseFieldList(o.fields, '--fields', records);
  const baseline = o.baseline ?? 'stock';
  const groups = groupRecords(records, baseline, { pool: o.pool, warn });
  if (o.baseline !== undefined && !groups.some((g) => g.strategy === baseline)) {
    throw new UserError(
      `no runs with --baseline strategy "${baseline}"`,
      `strategies present: ${[...new Set(groups.map((g) => g.strategy))].sort().join(', ')}`,
    );
  }
  if (groups.length === 0) throw new UserError(`only warm-up runs in ${dirs.join(', ')}`, 'nothing to compare');
  const comparison = compareGroups(groups, { fields, baseline, seed, resamples });
  const text = renderComparison(comparison, format, { baseline, resamples });
  return format === 'json' ? `${JSON.stringify({ ...(JSON.parse(text) as object), warnings }, null, 2)}\n` : text;
}

/** `pofbench compare DIR... [--format table|markdown|csv|json] [--fields f1,f2] [--baseline stock]` */
export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description(
      'per scenario/config: median, IQR and n of each metric per strategy, and the change against the baseline with ' +
        'a 95 % bootstrap interval',
    )
    .argument(
      '<dirs...>',
      'session directories, a results root holding sessions, or run directories (<run-id>/run.json)',
    )
    .option('--format <f>', `output format: ${COMPARE_FORMATS.join(', ')}`, 'table')
    .option('--json', 'the same as --format json')
    .option('--fields <list>', `comma-separated run.json fields (default: ${DEFAULT_COMPARE_FIELDS.join(',')})`)
    .option(
      '--baseline <strategy|SESSION>',
      'strategy the others are compared against (default: stock); or a baseline session directory: the release gate ' +
        '(with --fail-above)',
    )
    .option(
      '--fail-above <pct>',
      "with --baseline SESSION: exit 3 when a metric's median rose by more than PCT % against the baseline session, " +
        'outside the noise',
    )
    .option('--seed <n>', 'bootstrap seed', String(DEFAULT_SEED))
    .option('--resamples <n>', 'bootstrap resamples', String(DEFAULT_RESAMPLES))
    .option(
      '--pool',
      'merge runs of one scenario/config that differ in parameters, QEMU version or revision (default: kept apart, ' +
        'with a warning)',
    )
    .action(async (dirs: string[], opts: CompareOpts) => {
      const o = { ...opts, format: jsonFormat(opts) };
      const baselineDir =
        o.baseline !== undefined && (await stat(o.baseline).catch(() => undefined))?.isDirectory()
          ? o.baseline
          : undefined;
      if (o.failAbove !== undefined && !baselineDir)
        throw new UserError(
          '--fail-above needs --baseline SESSION (a baseline session directory)',
          `"${o.baseline ?? ''}" is not a directory`,
        );
      if (!baselineDir) {
        process.stdout.write(await comparisonText(dirs, o));
        return;
      }
      // the release gate: these runs against the baseline session's, per strategy
      const format = parseChoice<CompareFormat>(o.format, '--format', COMPARE_FORMATS);
      const failAbovePct = parseNonNegative(o.failAbove ?? '0', '--fail-above');
      const current = await loadRecords(dirs);
      const base = await loadRecords([baselineDir]);
      const fields =
        o.fields === undefined ? [...DEFAULT_COMPARE_FIELDS] : parseFieldList(o.fields, '--fields', current);
      const r = gate(base, current, {
        fields,
        failAbovePct,
        seed: parseInteger(o.seed, '--seed', 0),
        resamples: parseInteger(o.resamples, '--resamples', 1),
      });
      if (format === 'json') console.log(JSON.stringify({ fail_above_pct: failAbovePct, ...r }, null, 2));
      else process.stdout.write(renderGate(r, failAbovePct));
      if (r.regressions.length) process.exitCode = 3;
    });
}
