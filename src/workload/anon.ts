import type { Workload } from './types.js';
import { readyUnlessDead, STOP_DETACHED } from './types.js';
import type { WorkloadSpec } from '../scenario/types.js';
import { UserError } from '../util/errors.js';

/** stress-ng keeps dirtying anonymous memory: nothing in it matches the disk. */
export class AnonWorkload implements Workload {
  constructor(readonly spec: Extract<WorkloadSpec, { type: 'anon' }>) {}

  check(_image: unknown, memoryMib: number): void {
    if (this.spec.size_mib > memoryMib * 0.8) {
      throw new UserError(
        `workload.size_mib ${this.spec.size_mib} does not fit in a ${memoryMib} MiB guest`,
        'lower size_mib or raise guest.memory_mib',
      );
    }
  }

  startScript(): string {
    const perWorker = Math.max(1, Math.floor(this.spec.size_mib / this.spec.workers));
    return (
      `stress-ng --vm ${this.spec.workers} --vm-bytes ${perWorker}m --vm-keep --vm-method ${this.spec.method} ` +
      `--timeout 0 > /tmp/wl.log 2>&1 < /dev/null &\necho $! > /tmp/wl.pid\necho started`
    );
  }

  /** Ready once the guest's anonymous memory holds (nearly) the whole working set. */
  readyScript(): string {
    const wantKb = Math.floor(this.spec.size_mib * 1024 * 0.9);
    return (
      `a=$(awk '/^AnonPages:/{print $2}' /proc/meminfo); ` +
      `${readyUnlessDead(`[ "$a" -ge ${wantKb} ]`, 'anon $a kB')}`
    );
  }

  stopScript(): string {
    return STOP_DETACHED;
  }
}
