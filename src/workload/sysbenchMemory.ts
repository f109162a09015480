import type { Workload, WorkloadMetricsRow } from './types.js';
import { detached, readyUnlessDead } from './types.js';
import { clockStart, MARK_START, metricsDump, r3, STOP_TREE, UPTIME } from './clock.js';
import { parseSysbench } from './sysbenchParser.js';
import type { WorkloadSpec } from '../scenario/types.js';
import { UserError } from '../util/errors.js';

type Spec = Extract<WorkloadSpec, { type: 'sysbench-memory' }>;

/** sysbench's own log in the guest (stdout and stderr of `sysbench ... run`). */
export const SYSBENCH_LOG = '/tmp/wl.log';

/** Rows from a sysbench log headed by the clock line and `@run <uptime>` (see sysbenchRunScript). */
export function sysbenchRows(text: string): { run: number; rows: ReturnType<typeof parseSysbench> } {
  const m = /^@run (\d+(?:\.\d+)?)\s*$/m.exec(text);
  const run = m ? Number(m[1]) - clockStart(text) : 0;
  return { run, rows: parseSysbench(text) };
}

/** The tail of a detached script: notes the uptime, then becomes `sysbench ... run` (same PID). */
export function sysbenchRunScript(command: string): string {
  return `echo "@run ${UPTIME}"\nexec ${command}`;
}

/**
 * `sysbench memory` writes (or reads) one block of `block_size_mib` over and over, for as long as
 * the run lasts (a huge --memory-total-size and a long --time): with a block of many MiB every
 * pass dirties the whole block. (sysbench's default 1 KiB block dirties almost nothing.) The
 * default scope is global: one block, shared by the threads.
 */
export class SysbenchMemoryWorkload implements Workload {
  constructor(readonly spec: Spec) {}

  check(_image: unknown, memoryMib: number): void {
    if (this.spec.block_size_mib > memoryMib * 0.8) {
      throw new UserError(
        `workload.block_size_mib ${this.spec.block_size_mib} does not fit in a ${memoryMib} MiB guest`,
        'lower block_size_mib or raise guest.memory_mib',
      );
    }
  }

  command(): string {
    const s = this.spec;
    return (
      `sysbench memory --memory-block-size=${s.block_size_mib}M --memory-total-size=65536T ` +
      `--memory-oper=${s.oper} --threads=${s.threads} --time=${s.time_s} --report-interval=1 run`
    );
  }

  startScript(): string {
    return `${MARK_START}\n${detached(sysbenchRunScript(this.command()))}`;
  }

  /** Ready at the first interval report: sysbench has allocated its block and passes over it. */
  readyScript(): string {
    return readyUnlessDead(`grep -q '^\\[ ' ${SYSBENCH_LOG}`, 'for the first sysbench report');
  }

  stopScript(): string {
    return STOP_TREE;
  }
  metricsScript(): string {
    return metricsDump(SYSBENCH_LOG);
  }

  /** `{t_s, mib_s}` per sysbench interval report. */
  parseMetrics(text: string): WorkloadMetricsRow[] {
    const { run, rows } = sysbenchRows(text);
    return rows.intervals.flatMap((i) => (i.kind === 'memory' ? [{ t_s: r3(run + i.t_s), mib_s: i.mib_s }] : []));
  }
}
