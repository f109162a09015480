import type { WorkloadSpec } from '../scenario/types.js';
import type { Workload } from './types.js';
import { IdleWorkload } from './idle.js';
import { PagecacheWorkload } from './pagecache.js';
import { AnonWorkload } from './anon.js';
import { MixedWorkload } from './mixed.js';
import { SysbenchMemoryWorkload } from './sysbenchMemory.js';
import { SysbenchFileioWorkload } from './sysbenchFileio.js';
import { RewriteWorkload } from './rewrite.js';
import { WebWorkload } from './web.js';

export function createWorkload(spec: WorkloadSpec): Workload {
  switch (spec.type) {
    case 'idle':
      return new IdleWorkload(spec);
    case 'pagecache':
      return new PagecacheWorkload(spec);
    case 'anon':
      return new AnonWorkload(spec);
    case 'mixed':
      return new MixedWorkload(spec);
    case 'sysbench-memory':
      return new SysbenchMemoryWorkload(spec);
    case 'sysbench-fileio':
      return new SysbenchFileioWorkload(spec);
    case 'rewrite':
      return new RewriteWorkload(spec);
    case 'web':
      return new WebWorkload(spec);
  }
}
