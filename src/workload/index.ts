import type { WorkloadSpec } from '../scenario/types.js';
import type { Workload } from './types.js';
import { IdleWorkload } from './idle.js';
import { PagecacheWorkload } from './pagecache.js';
import { AnonWorkload } from './anon.js';

export function createWorkload(spec: WorkloadSpec): Workload {
  switch (spec.type) {
    case 'idle': return new IdleWorkload(spec);
    case 'pagecache': return new PagecacheWorkload(spec);
    case 'anon': return new AnonWorkload(spec);
  }
}
