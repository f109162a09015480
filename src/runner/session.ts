import { execa } from 'execa';
import type { Scenario } from '../scenario/types.js';
import type { TestbedSpec } from '../testbed/spec.js';
import type { GuestImage } from '../image/build.js';
import { SshHost } from '../hosts/ssh.js';
import { createStrategy } from '../strategy/index.js';
import { createWorkload } from '../workload/index.js';
import { runMigration, type TestbedHosts } from './migrationRun.js';
import type { RunRecord } from './record.js';
import { Progress } from '../util/progress.js';
import { projectRoot } from '../util/paths.js';

export async function pofbenchRevision(): Promise<string> {
  const rev = await execa('git', ['-C', projectRoot, 'rev-parse', '--short=12', 'HEAD'], { reject: false });
  if (rev.exitCode !== 0) return 'unknown';
  const dirty = await execa('git', ['-C', projectRoot, 'status', '--porcelain', '--untracked-files=no'], { reject: false });
  return `${String(rev.stdout).trim()}${String(dirty.stdout).trim() ? '-dirty' : ''}`;
}

export async function connectHosts(testbed: TestbedSpec): Promise<TestbedHosts> {
  const opts = { controllerNetns: testbed.controllerNetns };
  const [src, dst, nas] = await Promise.all((['src', 'dst', 'nas'] as const).map((r) => SshHost.connect(testbed.hosts[r].name, testbed.hosts[r].ssh, opts)));
  return { src, dst, nas };
}

export interface SessionOptions {
  scenarios: Scenario[];
  strategies: string[];
  repeat?: number;
  testbed: TestbedSpec;
  image: GuestImage;
  outDir: string;
  quiet?: boolean;
}

/**
 * Runs every scenario × strategy × repeat on one testbed. Everything is validated before the
 * first VM starts; an interrupt (SIGINT/SIGTERM) cleans up the run in flight and keeps finished
 * records. Returns all records (failed ones included).
 */
export async function runSession(o: SessionOptions): Promise<RunRecord[]> {
  const strategies = o.strategies.map(createStrategy);
  for (const s of o.scenarios) {
    for (const st of strategies) st.validate(s);
    createWorkload(s.workload).check(o.image, s.guest.memory_mib);
  }
  const rev = await pofbenchRevision();
  const hosts = await connectHosts(o.testbed);
  const progress = new Progress('', o.quiet);
  let inFlight: (() => Promise<void>) | undefined;
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    progress.phase(`${sig}: cleaning up the run in progress…`);
    void (async () => {
      await inFlight?.().catch(() => undefined);
      for (const h of Object.values(hosts)) h.close();
      process.exit(130);
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const records: RunRecord[] = [];
  try {
    for (const scenario of o.scenarios) {
      const repeats = o.repeat ?? scenario.repeat;
      for (let rep = 0; rep < repeats; rep++) {
        for (const strategy of strategies) {
          if (interrupted) return records;
          records.push(await runMigration({
            scenario, strategy, repeat: rep, testbed: o.testbed, hosts, image: o.image, outDir: o.outDir,
            pofbenchRev: rev, progress, onCleanup: (fn) => { inFlight = fn; },
          }));
        }
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const h of Object.values(hosts)) h.close();
  }
  return records;
}
