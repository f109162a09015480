import type { Command } from 'commander';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { table } from 'table';
import { faultNames, runFaultSuite } from '../faults/suite.js';
import { localUp } from '../testbed/local/localTestbed.js';
import { buildImage } from '../image/build.js';
import { UserError } from '../util/errors.js';

/** `pofbench faults` — the fault-injection suite on the local testbed. */
export function registerFaultsCommand(program: Command): void {
  program
    .command('faults')
    .description(
      'inject faults mid-migration on the local testbed (agents/QEMU killed, NAS stalled or down, links cut or ' +
        'flapping, NAS blocks changed, SSH dropped, InfluxDB down or hanging, runner signalled or killed, a second ' +
        'session, the results disk full) and check each fails cleanly with the expected reason or completes ' +
        'byte-exact, judged on the run.json on disk, with nothing left behind',
    )
    .option('--only <names>', `comma-separated subset of: ${faultNames().join(', ')}`)
    .option('--skip-injection', 'run the rows without injecting their faults (every row must then be NOT OK)')
    .option('--out <dir>', 'results directory for the fault runs (default: a temp dir)')
    .option('--json', 'print JSON rows')
    .option('--quiet', 'no progress lines, only the table (or JSON)')
    .option('--verbose', 'debug output, and the stack of an internal error')
    .action(async (o: { only?: string; out?: string; json?: boolean; quiet?: boolean; skipInjection?: boolean }) => {
      const known = faultNames();
      const only = o.only
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const n of only ?? [])
        if (!known.includes(n)) throw new UserError(`--only: unknown fault "${n}"`, `choose from ${known.join(', ')}`);
      const log = (l: string) => {
        if (!o.quiet) process.stderr.write(`faults: ${l}\n`);
      };
      const image = await buildImage({ log });
      const testbed = await localUp(log);
      const outDir = o.out ? resolve(o.out) : mkdtempSync(join(tmpdir(), 'pofbench-faults-'));
      const rows = await runFaultSuite({
        testbed,
        bringUp: () => localUp(log),
        image,
        outDir,
        only,
        log,
        skipInjection: o.skipInjection,
      });
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else {
        console.log(
          table(
            [
              ['fault', 'strategy', 'expected', 'observed', 'source VM after', 'leftovers', 'verdict'],
              ...rows.map((r) => [
                r.fault,
                r.strategy,
                r.expected,
                r.observed + (r.detail ? ` [${r.detail}]` : ''),
                r.src_vm_after,
                r.leftovers.length ? r.leftovers.join('\n') : 'none',
                r.ok ? 'ok' : 'NOT OK',
              ]),
            ],
            {
              columns: {
                2: { width: 22, wrapWord: true },
                3: { width: 44, wrapWord: true },
                5: { width: 30, wrapWord: true },
              },
            },
          ),
        );
        console.error(`fault runs: ${outDir}`);
      }
      if (rows.some((r) => !r.ok)) process.exitCode = 1;
    });
}
