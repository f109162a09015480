import type { Command } from 'commander';
import { resolve } from 'node:path';
import { table } from 'table';
import { runSoak, type SoakSummary } from '../soak/pingPong.js';
import { buildImage } from '../image/build.js';
import { localUp } from '../testbed/local/localTestbed.js';
import { connectHosts } from '../runner/session.js';
import { runLeftovers } from '../faults/leftovers.js';
import { UserError } from '../util/errors.js';

const drift = (d?: { first: number; last: number; drift_pct: number }) =>
  d ? `${d.first} → ${d.last} (${d.drift_pct} %)` : '-';

/** `pofbench soak` — back-to-back ping-pong migrations of one guest. */
export function registerSoakCommand(program: Command): void {
  program
    .command('soak')
    .description(
      'migrate one guest back and forth between src and dst (a fresh incoming QEMU each hop); report success rate, ' +
        'time/downtime drift and what accumulates on the hosts',
    )
    .option('--count <n>', 'number of migrations', '50')
    .option('--minutes <m>', 'stop starting new migrations after this long (0 = no limit)', '0')
    .option('--strategy <stock|pof>', 'migration strategy', 'stock')
    .option('--memory-mib <n>', 'guest size', '192')
    .option('--link-cap-mbit <n>', 'migration link cap (0 = none)', '0')
    .option('--out <dir>', 'results directory', 'results')
    .option('--json', 'print the summary as JSON')
    .option('--quiet', 'no progress lines, only the summary')
    .option('--verbose', 'debug output, and the stack of an internal error')
    .action(
      async (o: {
        count: string;
        minutes: string;
        strategy: string;
        memoryMib: string;
        linkCapMbit: string;
        out: string;
        json?: boolean;
        quiet?: boolean;
      }) => {
        const count = Number(o.count);
        if (!Number.isInteger(count) || count < 1)
          throw new UserError(`--count must be a positive integer, got "${o.count}"`);
        if (o.strategy !== 'stock' && o.strategy !== 'pof')
          throw new UserError(`--strategy must be stock or pof, got "${o.strategy}"`);
        const log = (l: string) => {
          if (!o.quiet) process.stderr.write(`soak: ${l}\n`);
        };
        const image = await buildImage({ log });
        const testbed = await localUp(log);
        const hosts = await connectHosts(testbed);
        const before = runLeftovers().length;
        try {
          const { summary } = await runSoak({
            testbed,
            hosts,
            image,
            strategy: o.strategy,
            count,
            maxSeconds: Number(o.minutes) * 60,
            memoryMib: Number(o.memoryMib),
            linkCapMbit: Number(o.linkCapMbit),
            outDir: resolve(o.out),
            log,
          });
          const leftovers = runLeftovers().length - before;
          if (o.json) console.log(JSON.stringify({ ...summary, leftover_processes: leftovers }, null, 2));
          else {
            console.log(soakTable(summary, leftovers));
            console.error(`hops: ${summary.out}/soak.json`);
          }
          if (summary.success_rate < 1 || leftovers > 0) process.exitCode = 1;
        } finally {
          for (const h of Object.values(hosts)) h.close();
        }
      },
    );
}

/** The soak summary as one table row. */
function soakTable(summary: SoakSummary, leftovers: number): string {
  return table([
    [
      'strategy',
      'hops',
      'completed',
      'success',
      'total ms first→last (drift)',
      'downtime ms first→last (drift)',
      'host drift (processes / open files / MemAvailable MiB)',
      'leftover processes',
    ],
    [
      summary.strategy,
      String(summary.hops),
      String(summary.completed),
      `${(100 * summary.success_rate).toFixed(1)} %`,
      drift(summary.total_time_ms),
      drift(summary.downtime_ms),
      Object.entries(summary.host_drift)
        .map(([h, d]) => `${h}: ${d.processes} / ${d.open_files} / ${d.mem_available_mb}`)
        .join('\n'),
      String(leftovers),
    ],
  ]);
}
