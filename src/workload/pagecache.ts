import type { Workload } from './types.js';
import type { ImageLayout } from '../image/layout.js';
import { detached, readyUnlessDead, STOP_DETACHED } from './types.js';
import type { WorkloadSpec } from '../scenario/types.js';
import { firstDatasetFiles, type GuestImage } from '../image/build.js';
import { UserError } from '../util/errors.js';

/**
 * Reads dataset files from the NAS disk into the guest page cache, then keeps re-reading them
 * (cheap: they are cached), so RAM holds clean copies of disk blocks.
 */
export class PagecacheWorkload implements Workload {
  constructor(readonly spec: Extract<WorkloadSpec, { type: 'pagecache' }>) {}

  /** The dataset files read: the first ones in order until `dataset_mib` is reached. */
  files(image: GuestImage): string[] {
    return firstDatasetFiles(image, this.spec.dataset_mib).files.map((f) => f.path);
  }

  check(image: ImageLayout, memoryMib: number): void {
    const have = Math.floor(image.dataset.totalBytes / 1024 / 1024);
    if (this.spec.dataset_mib > have) {
      throw new UserError(
        `workload.dataset_mib ${this.spec.dataset_mib} is larger than the image's dataset (${have} MiB)`,
        `build a bigger one: pofbench image build --dataset-mib ${this.spec.dataset_mib}`,
      );
    }
    if (this.spec.dataset_mib > memoryMib * 0.85) {
      throw new UserError(
        `workload.dataset_mib ${this.spec.dataset_mib} does not fit in the page cache of a ${memoryMib} MiB guest`,
        'lower dataset_mib or raise guest.memory_mib',
      );
    }
  }

  startScript(image: GuestImage): string {
    const count = this.files(image).length;
    const list = `$(ls /data/dataset/*.bin | head -n ${count})`;
    return detached(
      [
        `FILES="${list}"`,
        'for f in $FILES; do cat "$f" > /dev/null; done',
        'touch /tmp/wl.ready',
        `while :; do for f in $FILES; do cat "$f" > /dev/null; done; sleep ${this.spec.reread_interval_s}; done`,
      ].join('\n'),
    );
  }

  readyScript(): string {
    return readyUnlessDead('test -f /tmp/wl.ready');
  }
  stopScript(): string {
    return STOP_DETACHED;
  }
}
