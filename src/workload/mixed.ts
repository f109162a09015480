import type { Workload, WorkloadMetricsRow } from './types.js';
import type { ImageLayout } from '../image/layout.js';
import { detached } from './types.js';
import { clockStart, completeLines, MARK_START, metricsDump, r3, STOP_TREE, UPTIME } from './clock.js';
import type { WorkloadSpec } from '../scenario/types.js';
import { firstDatasetFiles, type GuestImage } from '../image/build.js';
import { UserError } from '../util/errors.js';

type Spec = Extract<WorkloadSpec, { type: 'mixed' }>;

const METRICS = '/tmp/wl.metrics';

/**
 * Page cache and dirty anonymous memory together: stress-ng `--vm` keeps dirtying `size_mib` of
 * anonymous memory while a loop reads `dataset_mib` of dataset files from the NAS disk into the
 * page cache and keeps re-reading them every `reread_interval_s`. Each re-read pass logs a line
 * `@pass <uptime at its end> <seconds> <MiB read> <AnonPages kB> <Cached kB>`.
 */
export class MixedWorkload implements Workload {
  constructor(readonly spec: Spec) {}

  /** The dataset files read: the first ones in order until `dataset_mib` is reached. */
  files(image: GuestImage): { paths: string[]; bytes: number } {
    const { files, bytes } = firstDatasetFiles(image, this.spec.dataset_mib);
    return { paths: files.map((f) => f.path), bytes };
  }

  check(image: ImageLayout, memoryMib: number): void {
    const have = Math.floor(image.dataset.totalBytes / 1024 / 1024);
    if (this.spec.dataset_mib > have) {
      throw new UserError(
        `workload.dataset_mib ${this.spec.dataset_mib} is larger than the image's dataset (${have} MiB)`,
        `build a bigger one: pofbench image build --dataset-mib ${this.spec.dataset_mib}`,
      );
    }
    if (this.spec.dataset_mib + this.spec.size_mib > memoryMib * 0.8) {
      throw new UserError(
        `workload.dataset_mib ${this.spec.dataset_mib} + workload.size_mib ${this.spec.size_mib} do not fit in a ` +
          `${memoryMib} MiB guest`,
        'lower dataset_mib or size_mib, or raise guest.memory_mib',
      );
    }
  }

  startScript(image: GuestImage): string {
    const s = this.spec;
    const { paths, bytes } = this.files(image);
    const mib = (bytes / 1024 / 1024).toFixed(2);
    const perWorker = Math.max(1, Math.floor(s.size_mib / s.workers));
    return `${MARK_START}\n${detached(
      [
        `stress-ng --vm ${s.workers} --vm-bytes ${perWorker}m --vm-keep --vm-method ${s.method} --timeout 0 > ` +
          `/tmp/wl.stress.log 2>&1 < /dev/null &`,
        'echo $! > /tmp/wl.pids',
        `FILES="${paths.join(' ')}"`,
        'for f in $FILES; do cat "$f" > /dev/null; done',
        'touch /tmp/wl.pc',
        'while :; do',
        `  s=${UPTIME}`,
        '  for f in $FILES; do cat "$f" > /dev/null; done',
        `  e=${UPTIME}`,
        `  echo "@pass $e $(awk -v s=$s -v e=$e 'BEGIN { printf "%.2f", e - s }') ${mib} $(awk '/^AnonPages:/ { a = ` +
          `$2 } /^Cached:/ { c = $2 } END { print a, c }' /proc/meminfo)" >> ${METRICS}`,
        `  sleep ${s.reread_interval_s}`,
        'done',
      ].join('\n'),
    )}`;
  }

  /** Ready once the files were read once and stress-ng holds (nearly) its whole working set. */
  readyScript(): string {
    const wantKb = Math.floor(this.spec.size_mib * 1024 * 0.9);
    return [
      `a=$(awk '/^AnonPages:/ { print $2 }' /proc/meminfo)`,
      `if ! kill -0 $(cat /tmp/wl.pid 2>/dev/null || echo 0) 2>/dev/null; then echo "failed: $(tail -c 300 ` +
        `/tmp/wl.log 2>/dev/null | tr '\\n' ' ')"`,
      `elif [ -f /tmp/wl.pids ] && ! kill -0 $(cat /tmp/wl.pids) 2>/dev/null; then echo "failed: stress-ng exited: ` +
        `$(tail -c 300 /tmp/wl.stress.log 2>/dev/null | tr '\\n' ' ')"`,
      `elif [ -f /tmp/wl.pc ] && [ "$a" -ge ${wantKb} ]; then echo ready`,
      `else echo "waiting page cache $([ -f /tmp/wl.pc ] && echo filled || echo filling), anon $a kB"; fi`,
    ].join('\n');
  }

  stopScript(): string {
    return STOP_TREE;
  }
  metricsScript(): string {
    return metricsDump(METRICS);
  }

  /** `{t_s, pass_s, reread_mib_s, anon_mib, cached_mib}` per re-read pass. */
  parseMetrics(text: string): WorkloadMetricsRow[] {
    const start = clockStart(text);
    const rows: WorkloadMetricsRow[] = [];
    for (const line of completeLines(text)) {
      const m = /^@pass (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+) (\d+)\s*$/.exec(line);
      if (!m) continue;
      const pass = Number(m[2]);
      const mib = Number(m[3]);
      rows.push({
        t_s: r3(Number(m[1]) - start),
        pass_s: pass,
        reread_mib_s: r3(mib / Math.max(pass, 0.01)) /* uptime has 0.01 s steps */,
        anon_mib: r3(Number(m[4]) / 1024),
        cached_mib: r3(Number(m[5]) / 1024),
      });
    }
    return rows;
  }
}
