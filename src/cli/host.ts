import type { Command } from 'commander';
import { runHostSampler } from '../hosts/sampleHost.js';

const collect = (v: string, prev: string[]) => [...prev, v];

/** `pofbench host ...` — helpers the runner starts on testbed hosts over SSH. */
export function registerHostCommand(program: Command): void {
  const host = program.command('host').description('host-side helpers started by the runner over SSH');
  host.command('sample')
    .description('print NIC byte counters and process CPU seconds as JSON lines until stdin closes')
    .option('--nic <name>', 'NIC to sample (repeatable)', collect, [])
    .option('--pid <pid>', 'process whose CPU seconds to sample (repeatable)', collect, [])
    .option('--interval-ms <ms>', 'sampling interval', '50')
    .option('--max-seconds <s>', 'stop after this long even if stdin stays open', '3600')
    .action((o: { nic: string[]; pid: string[]; intervalMs: string; maxSeconds: string }) => {
      runHostSampler(o.nic, o.pid.map(Number), Number(o.intervalMs), Number(o.maxSeconds));
    });
}
