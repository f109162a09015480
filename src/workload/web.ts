import { posix } from 'node:path';
import type { ImageLayout } from '../image/layout.js';
import type { WebLoadSpec, Workload } from './types.js';
import { detached, readyUnlessDead } from './types.js';
import { STOP_TREE } from './clock.js';
import type { WorkloadSpec } from '../scenario/types.js';
import { GUEST_DATASET_DIR, firstDatasetFiles, type DatasetFile, type GuestImage } from '../image/build.js';
import { UserError } from '../util/errors.js';

type Spec = Extract<WorkloadSpec, { type: 'web' }>;

/** The guest's HTTP port (busybox httpd). */
export const WEB_PORT = 80;

/**
 * An HTTP server in the guest (busybox `httpd`, in the guest's busybox 1.35) serving the dataset
 * directory of the NAS disk. `dataset_mib` of dataset files are read into the page cache first;
 * the controller then loads the server with autocannon (src/metrics/webLoad.ts) through the whole
 * migration: `connections` connections requesting `object_kib` ranges of the first `files` dataset
 * files, round robin or at random. busybox httpd closes the connection after each response, so
 * every request is one TCP connection. Ready when the server answers in the guest.
 */
export class WebWorkload implements Workload {
  constructor(readonly spec: Spec) {}

  /** The dataset files requested: the first `files` ones. */
  served(image: GuestImage): DatasetFile[] {
    return image.dataset.files.slice(0, this.spec.files);
  }

  /** The dataset files read into the page cache first: the first ones until `dataset_mib` is reached. */
  preread(image: GuestImage): string[] {
    return firstDatasetFiles(image, this.spec.dataset_mib).files.map((f) => f.path);
  }

  check(image: ImageLayout, memoryMib: number): void {
    const have = Math.floor(image.dataset.totalBytes / 1024 / 1024);
    if (this.spec.files > image.dataset.files.length) {
      throw new UserError(
        `workload.files ${this.spec.files} is more than the image's ${image.dataset.files.length} dataset files`,
        `lower files or build a bigger dataset: pofbench image build --dataset-mib ${this.spec.files * 4}`,
      );
    }
    if (this.spec.dataset_mib > have) {
      throw new UserError(
        `workload.dataset_mib ${this.spec.dataset_mib} is larger than the image's dataset (${have} MiB)`,
        `build a bigger one: pofbench image build --dataset-mib ${this.spec.dataset_mib}`,
      );
    }
    if (this.spec.dataset_mib > memoryMib * 0.8) {
      throw new UserError(
        `workload.dataset_mib ${this.spec.dataset_mib} does not fit in the page cache of a ${memoryMib} MiB guest ` +
          `next to the server`,
        'lower dataset_mib or raise guest.memory_mib',
      );
    }
  }

  startScript(image: GuestImage): string {
    return detached(
      [
        `for f in ${this.preread(image).join(' ')}; do cat "$f" > /dev/null; done`,
        `exec httpd -f -p ${WEB_PORT} -h ${GUEST_DATASET_DIR}`,
      ].join('\n'),
    );
  }

  /** Ready when the server answers (it starts after the pre-read): the dataset's MANIFEST is there. */
  readyScript(): string {
    return readyUnlessDead(
      `wget -q --spider http://127.0.0.1:${WEB_PORT}/MANIFEST 2>/dev/null`,
      'for httpd (pre-reading the dataset)',
    );
  }

  stopScript(): string {
    return STOP_TREE;
  }

  /** The load the controller puts on the server (see src/metrics/webLoad.ts). */
  controllerLoad(image: GuestImage): WebLoadSpec {
    const files = this.served(image).map((f) => ({ path: `/${posix.basename(f.path)}`, bytes: f.bytes }));
    return {
      port: WEB_PORT,
      files,
      order: this.spec.order,
      objectBytes: this.spec.object_kib * 1024,
      connections: this.spec.connections,
      timeoutS: this.spec.timeout_s,
    };
  }
}
