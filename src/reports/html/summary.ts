import type { RunData } from './runSet.js';
import { distinct, orderStrategies } from './stats.js';

/** What the report's header says about the run set. */
export interface RunSetInfo {
  /** Every run found, warm-up runs included. */
  runs: number;
  completed: number;
  failed: number;
  /** Warm-up runs: counted here, left out of every chart and statistic. */
  warmups: number;
  scenarios: string[];
  strategies: string[];
  testbeds: string[];
  hosts: string[];
  qemuVersions: string[];
  revisions: string[];
  firstStarted?: string;
  lastStarted?: string;
}

export function runSetInfo(runs: readonly RunData[]): RunSetInfo {
  const recs = runs.map((r) => r.record);
  const started = recs
    .map((r) => r.started_at)
    .filter((s) => typeof s === 'string')
    .sort();
  const present = (xs: (string | undefined)[]) =>
    distinct(xs.filter((x): x is string => typeof x === 'string' && x !== '')).sort();
  return {
    runs: recs.length,
    completed: recs.filter((r) => r.status === 'completed').length,
    failed: recs.filter((r) => r.status !== 'completed').length,
    warmups: recs.filter((r) => r.warmup === true).length,
    scenarios: distinct(recs.map((r) => r.scenario)).sort(),
    strategies: orderStrategies(recs.map((r) => r.strategy)),
    testbeds: present(recs.map((r) => r.testbed)),
    hosts: present(recs.flatMap((r) => [r.src_host, r.dst_host])),
    qemuVersions: present(recs.map((r) => r.qemu_version)),
    revisions: present(recs.map((r) => r.pofbench_rev)),
    firstStarted: started[0],
    lastStarted: started[started.length - 1],
  };
}
