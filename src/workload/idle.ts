import type { Workload } from './types.js';
import type { WorkloadSpec } from '../scenario/types.js';

/** Nothing runs: kernel, init and free memory move. */
export class IdleWorkload implements Workload {
  constructor(readonly spec: Extract<WorkloadSpec, { type: 'idle' }>) {}
  check(): void {}
  startScript(): string {
    return 'echo started';
  }
  readyScript(): string {
    return 'echo ready';
  }
  stopScript(): string {
    return 'true';
  }
}
