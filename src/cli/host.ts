import type { Command } from 'commander';
import { runHostSampler } from '../hosts/sampleHost.js';
import { runWebLoadClient } from '../metrics/webLoadClient.js';
import { UserError } from '../util/errors.js';
import { parseInteger, parseNonNegativeNumber } from './analysisArgs.js';

const collect = (v: string, prev: string[]) => [...prev, v];

/** `pofbench host ...` — helpers the runner starts on testbed hosts over SSH. */
export function registerHostCommand(program: Command): void {
  const host = program
    .command('host', { hidden: true })
    .description('host-side helpers started by the runner over SSH');
  host
    .command('sample')
    .description('print NIC byte counters and process CPU seconds as JSON lines until stdin closes')
    .option('--nic <name>', 'NIC to sample (repeatable)', collect, [])
    .option('--pid <pid>', 'process whose CPU seconds to sample (repeatable)', collect, [])
    .option('--interval-ms <ms>', 'sampling interval', '50')
    .option('--max-seconds <s>', 'stop after this long even if stdin stays open', '3600')
    .option('--flush-ms <ms>', 'hold rows on the host and write them at most this often (0: every row)', '0')
    .action((o: { nic: string[]; pid: string[]; intervalMs: string; maxSeconds: string; flushMs: string }) => {
      runHostSampler(o.nic, o.pid.map(Number), {
        intervalMs: parseInteger(o.intervalMs, '--interval-ms', 1),
        maxSeconds: parseInteger(o.maxSeconds, '--max-seconds', 1),
        flushMs: parseNonNegativeNumber(o.flushMs, '--flush-ms'),
      });
    });
  host
    .command('webload')
    .description(
      'controller side of the web workload: autocannon against the guest, one JSON line per interval until ' +
        'stdin closes',
    )
    .requiredOption('--url <url>', 'server, http://host:port')
    .option('--file <path:bytes>', 'URL path to request and its size (repeatable)', collect, [])
    .option('--order <order>', 'round-robin | random', 'round-robin')
    .option('--object-bytes <n>', 'bytes per request (a Range of the file); 0 = whole file', '65536')
    .option('--connections <n>', 'concurrent connections', '4')
    .option('--timeout-s <s>', 'request timeout', '10')
    .option('--max-seconds <s>', 'stop after this long even if stdin stays open', '600')
    .option('--interval-ms <ms>', 'bucket length', '100')
    .action(
      async (o: {
        url: string;
        file: string[];
        order: string;
        objectBytes: string;
        connections: string;
        timeoutS: string;
        maxSeconds: string;
        intervalMs: string;
      }) => {
        const files = o.file.map((f) => {
          const m = /^(\/\S+):(\d+)$/.exec(f);
          if (!m) throw new UserError(`--file ${f}: expected /path:bytes`);
          return { path: m[1], bytes: Number(m[2]) };
        });
        if (files.length === 0) throw new UserError('give at least one --file /path:bytes');
        if (o.order !== 'round-robin' && o.order !== 'random')
          throw new UserError(`--order ${o.order}: expected round-robin or random`);
        await runWebLoadClient({
          url: o.url,
          files,
          order: o.order,
          objectBytes: Number(o.objectBytes),
          connections: Number(o.connections),
          timeoutS: Number(o.timeoutS),
          maxSeconds: Number(o.maxSeconds),
          intervalMs: Number(o.intervalMs),
        });
      },
    );
}
