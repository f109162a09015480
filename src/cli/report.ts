import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { buildHtmlReport } from '../reports/html/build.js';
import { writeFileAtomic } from '../results/runDir.js';
import { UserError, errorMessage } from '../util/errors.js';

/** `pofbench report DIR... --html FILE`: one self-contained HTML page with charts of the runs. */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'write a self-contained HTML report (charts as inline SVG) of the runs under the given results directories',
    )
    .argument('<dirs...>', 'results directories (holding <run-id>/run.json) or run directories')
    .requiredOption('--html <file>', 'the HTML file to write')
    .option('--title <text>', 'page title (default: the scenarios)')
    .option(
      '--pool',
      'merge runs of one scenario/config that differ in parameters, QEMU version or revision (the page warns; ' +
        'default: kept apart)',
    )
    .option('--json', 'print what was written as JSON: {html, charts, chart_warnings, warnings}')
    .option('--quiet', 'print nothing but errors')
    .option('--verbose', 'debug output, and the stack of an internal error')
    .action(
      async (dirs: string[], o: { html: string; title?: string; pool?: boolean; json?: boolean; quiet?: boolean }) => {
        const out = resolve(o.html);
        // checked first, so a typo costs no rendering; not created (the file goes where asked)
        if (!(await stat(dirname(out)).catch(() => undefined))?.isDirectory()) {
          throw new UserError(
            `cannot write ${o.html}: directory ${dirname(out)} does not exist`,
            'create it first or pass another --html path',
          );
        }
        const report = await buildHtmlReport(dirs, { title: o.title, pool: o.pool });
        try {
          await writeFileAtomic(out, report.html);
        } catch (err) {
          throw new UserError(`cannot write ${o.html}: ${errorMessage(err)}`, 'pass a writable path to --html');
        }
        if (o.json) {
          const { charts, warnings, summary } = report;
          console.log(
            JSON.stringify({ html: out, charts, chart_warnings: warnings, warnings: summary.warnings }, null, 2),
          );
          return;
        }
        if (!o.quiet) {
          for (const w of report.warnings) console.error(`  warning: ${w}`);
          for (const w of report.summary.warnings) console.error(`warning: ${w} (shown on the page)`);
          console.error(`report: ${out} (${report.charts.length} charts: ${report.charts.join(', ')})`);
        }
      },
    );
}
