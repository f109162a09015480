import type { Workload, WorkloadMetricsRow } from './types.js';
import { detached, readyUnlessDead } from './types.js';
import { MARK_START, metricsDump, r3, STOP_TREE } from './clock.js';
import { SYSBENCH_LOG, sysbenchRows, sysbenchRunScript } from './sysbenchMemory.js';
import type { WorkloadSpec } from '../scenario/types.js';
import type { GuestImage } from '../image/build.js';
import type { ImageLayout } from '../image/layout.js';
import { UserError } from '../util/errors.js';

type Spec = Extract<WorkloadSpec, { type: 'sysbench-fileio' }>;

/** Where the test files live on the guest's data disk (the NAS disk). */
export const FILEIO_DIR = '/data/sysbench';

/**
 * Room on the image's data disk besides the dataset (MiB), estimated: ext4 keeps ~5 % of the disk
 * for itself. The start script finds out for real (sysbench prepare fails on a full disk).
 */
export function dataDiskRoomMib(image: Pick<GuestImage, 'dataDiskBytes' | 'dataset'>): number {
  return Math.floor((image.dataDiskBytes * 0.95 - image.dataset.totalBytes) / 1024 / 1024);
}

/**
 * `sysbench fileio` on the data disk: prepares `file_total_mib` of files under /data/sysbench
 * (in the start script, in the background), then runs the chosen mode for as long as the run lasts.
 */
export class SysbenchFileioWorkload implements Workload {
  constructor(readonly spec: Spec) {}

  check(image: ImageLayout, memoryMib: number): void {
    const room = dataDiskRoomMib(image);
    if (this.spec.file_total_mib > room) {
      throw new UserError(
        `workload.file_total_mib ${this.spec.file_total_mib} does not fit on the image's data disk (about ${room} ` +
          `MiB free)`,
        'lower file_total_mib',
      );
    }
    if (memoryMib < 128)
      throw new UserError(`sysbench-fileio needs guest.memory_mib >= 128 (got ${memoryMib})`, 'raise guest.memory_mib');
  }

  private args(): string {
    return `--file-total-size=${this.spec.file_total_mib}M`;
  }

  command(): string {
    const s = this.spec;
    return (
      `sysbench fileio ${this.args()} --file-test-mode=${s.mode} --threads=${s.threads} --time=${s.time_s} ` +
      `--report-interval=1 run`
    );
  }

  startScript(): string {
    return `${MARK_START}\n${detached(
      [
        `mkdir -p ${FILEIO_DIR} && cd ${FILEIO_DIR} || exit 1`,
        `sysbench fileio ${this.args()} prepare > /tmp/wl.prepare.log 2>&1 || { echo "sysbench fileio prepare ` +
          `failed:"; tail -n 5 /tmp/wl.prepare.log; df -k ${FILEIO_DIR}; exit 1; }`,
        sysbenchRunScript(this.command()),
      ].join('\n'),
    )}`;
  }

  /** Ready once the files are prepared and the run has reported its first interval. */
  readyScript(): string {
    return readyUnlessDead(
      `grep -q '^\\[ ' ${SYSBENCH_LOG}`,
      "$(grep -q '^@run' /tmp/wl.log && echo 'for the first sysbench report' || echo 'for sysbench fileio prepare')",
    );
  }

  stopScript(): string {
    return STOP_TREE;
  }
  metricsScript(): string {
    return metricsDump(SYSBENCH_LOG);
  }

  /** `{t_s, read_mib_s, written_mib_s, fsyncs_s, latency_ms_pNN}` per sysbench interval report. */
  parseMetrics(text: string): WorkloadMetricsRow[] {
    const { run, rows } = sysbenchRows(text);
    return rows.intervals.flatMap((i) =>
      i.kind === 'fileio'
        ? [
            {
              t_s: r3(run + i.t_s),
              read_mib_s: i.read_mib_s,
              written_mib_s: i.written_mib_s,
              fsyncs_s: i.fsyncs_s,
              [`latency_ms_p${i.latency_percentile}`]: i.latency_ms,
            },
          ]
        : [],
    );
  }
}
