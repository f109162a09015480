import type { Workload, WorkloadMetricsRow } from './types.js';
import { detached, readyUnlessDead } from './types.js';
import { clockStart, completeLines, MARK_START, metricsDump, r3, STOP_TREE, UPTIME } from './clock.js';
import { dataDiskRoomMib } from './sysbenchFileio.js';
import type { WorkloadSpec } from '../scenario/types.js';
import type { ImageLayout } from '../image/layout.js';
import { UserError } from '../util/errors.js';

type Spec = Extract<WorkloadSpec, { type: 'rewrite' }>;

export const REWRITE_FILE = '/data/rewrite/rewrite.bin';
const METRICS = '/tmp/wl.metrics';

/**
 * The guest rewrites a file on its NAS disk: first writes `file_mib` of fresh random data, then
 * every second overwrites the next `rate_mib_s` MiB of it (wrapping around) with new random data,
 * with busybox dd (1 MiB blocks, `conv=notrunc`):
 *   direct: true   `oflag=direct` (O_DIRECT: nothing stays in the page cache; checked in the guest:
 *                  busybox 1.35's dd supports it and Cached does not grow)
 *   direct: false  buffered writes through the page cache; `fsync: true` adds `conv=fsync` (each
 *                  second's data is on the disk when dd returns), false leaves it to write-back.
 * Each tick logs `@w <uptime at its end> <MiB written> <seconds dd took>`; a tick whose writes take
 * longer than a second starts the next at once (the rate then falls below rate_mib_s).
 */
export class RewriteWorkload implements Workload {
  constructor(readonly spec: Spec) {}

  check(image: ImageLayout): void {
    const room = dataDiskRoomMib(image);
    if (this.spec.file_mib > room) {
      throw new UserError(
        `workload.file_mib ${this.spec.file_mib} does not fit on the image's data disk (about ${room} MiB free)`,
        'lower file_mib',
      );
    }
    if (this.spec.rate_mib_s > this.spec.file_mib) {
      throw new UserError(
        `workload.rate_mib_s ${this.spec.rate_mib_s} is more than workload.file_mib ${this.spec.file_mib} (each ` +
          `second rewrites at most the whole file)`,
        'lower rate_mib_s or raise file_mib',
      );
    }
  }

  /** dd flags for the output file. */
  flags(): string {
    if (this.spec.direct) return 'conv=notrunc oflag=direct';
    return this.spec.fsync ? 'conv=notrunc,fsync' : 'conv=notrunc';
  }

  startScript(): string {
    const s = this.spec;
    const dd = `dd if=/dev/urandom of=${REWRITE_FILE} bs=1M iflag=fullblock ${this.flags()}`;
    return `${MARK_START}\n${detached(
      [
        `mkdir -p ${REWRITE_FILE.replace(/\/[^/]+$/, '')} || exit 1`,
        `rm -f ${REWRITE_FILE}`,
        `${dd} count=${s.file_mib} 2>/tmp/wl.dd || { echo "first write failed:"; cat /tmp/wl.dd; exit 1; }`,
        'sync',
        'touch /tmp/wl.ready',
        `N=${s.file_mib}; R=${s.rate_mib_s}; off=0`,
        'while :; do',
        `  s=${UPTIME}; left=$R`,
        '  while [ $left -gt 0 ]; do',
        '    c=$left; [ $((off + c)) -gt $N ] && c=$((N - off))',
        `    ${dd} count=$c seek=$off 2>/tmp/wl.dd || { echo "rewrite failed:"; cat /tmp/wl.dd; exit 1; }`,
        '    off=$(((off + c) % N)); left=$((left - c))',
        '  done',
        `  e=${UPTIME}`,
        `  echo "@w $e $R $(awk -v s=$s -v e=$e 'BEGIN { printf "%.2f", e - s }')" >> ${METRICS}`,
        `  w=$(awk -v s=$s -v e=$e 'BEGIN { d = 1 - (e - s); printf "%.2f", (d > 0 ? d : 0) }')`,
        '  sleep $w',
        'done',
      ].join('\n'),
    )}`;
  }

  /** Ready once the whole file was written once. */
  readyScript(): string {
    return readyUnlessDead('test -f /tmp/wl.ready', 'for the first write of the file');
  }
  stopScript(): string {
    return STOP_TREE;
  }
  metricsScript(): string {
    return metricsDump(METRICS);
  }

  /** `{t_s, written_mib, write_s, mib_s}` per one-second tick. */
  parseMetrics(text: string): WorkloadMetricsRow[] {
    const start = clockStart(text);
    const rows: WorkloadMetricsRow[] = [];
    for (const line of completeLines(text)) {
      const m = /^@w (\d+(?:\.\d+)?) (\d+) (\d+(?:\.\d+)?)\s*$/.exec(line);
      if (!m) continue;
      const mib = Number(m[2]);
      const secs = Number(m[3]);
      rows.push({
        t_s: r3(Number(m[1]) - start),
        written_mib: mib,
        write_s: secs,
        mib_s: r3(mib / Math.max(secs, 0.01)),
      });
    }
    return rows;
  }
}
