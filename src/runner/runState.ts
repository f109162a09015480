/** What one migration run holds while its phases run (src/runner/migrationRun.ts is the table of contents). */
import type { Scenario } from '../scenario/types.js';
import type { TestbedSpec } from '../testbed/spec.js';
import type { TestbedHosts } from '../testbed/hosts.js';
import type { RemoteVm } from '../qemu/vm.js';
import type { MigrationStrategy, MigrationPath, StrategyContext } from '../strategy/types.js';
import type { Workload } from '../workload/types.js';
import type { GuestControl } from '../guest/control.js';
import type { GuestImage } from '../image/build.js';
import type { GuestProbe } from '../metrics/probe.js';
import type { WebLoad } from '../metrics/webLoad.js';
import type { RunDir } from '../results/runDir.js';
import type { Progress } from '../util/progress.js';
import type { RunMeasurements } from './buildRecord.js';
import type { RunEnvironment } from './environment.js';

export interface MigrationRunOptions {
  scenario: Scenario;
  strategy: MigrationStrategy;
  repeat: number;
  testbed: TestbedSpec;
  hosts: TestbedHosts;
  image: GuestImage;
  outDir: string;
  pofbenchRev: string;
  progress: Progress;
  /** One of the first --warmup-runs runs of its configuration and strategy (recorded; statistics drop it). */
  warmup?: boolean;
  /** Called with a cleanup function while it is needed, so an interrupted runner can still clean up. */
  onCleanup?: (fn: (() => Promise<void>) | undefined) => void;
  /** Start dst paused and compare src and dst RAM byte for byte before it runs (record: ram_identical). */
  verifyRam?: boolean;
  /** Called once the migration has started (fault injection); its failure is recorded, not thrown. */
  onMigrating?: (m: MigratingContext) => Promise<void>;
  /** The signal that interrupted the session, if any (the record then says so). */
  interruptedBy?: () => string | undefined;
}

/** What a fault injector may act on while a migration runs. */
export interface MigratingContext {
  runId: string;
  hosts: TestbedHosts;
  testbed: TestbedSpec;
  strategy: MigrationStrategy;
  src: RemoteVm;
  dst: RemoteVm;
  hostRunDir: string;
}

/**
 * Undo steps, run last-in first-out; a step's failure does not stop the others (it is reported to
 * `onFailure`). Callers at the same time (the run's own teardown and an interrupt's clean-up) share
 * one pass: each returns only once every step has finished, so no caller, and no exit after it,
 * overtakes a step another one is still running (e.g. a link cap half removed).
 */
export class Cleanups {
  private readonly steps: (() => Promise<void>)[] = [];
  private pass: Promise<void> | undefined;
  constructor(private readonly onFailure: (err: unknown) => void = () => undefined) {}
  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }
  readonly runAll = (): Promise<void> => {
    this.pass ??= this.drain().finally(() => {
      this.pass = undefined;
    });
    return this.pass;
  };
  private async drain(): Promise<void> {
    while (this.steps.length) await this.steps.pop()!().catch(this.onFailure);
  }
}

export interface RunState {
  o: MigrationRunOptions;
  runId: string;
  dir: RunDir;
  env: RunEnvironment;
  /** the run's directory on the hosts */
  hostRunDir: string;
  ctx: StrategyContext;
  workload: Workload;
  probe: GuestProbe;
  m: RunMeasurements;
  cleanups: Cleanups;
  /** set as the phases get there */
  nfsPath?: string;
  srcVm?: RemoteVm;
  dstVm?: RemoteVm;
  srcCtl?: GuestControl;
  path?: MigrationPath;
  load?: WebLoad;
  /** the host samplers' own pids (from their first rows): their CPU is the harness's */
  samplerPids: Partial<Record<'src' | 'dst', number>>;
  /** a fault injector at work (it finishes before teardown) */
  injected?: Promise<void>;
}

/** The VMs once both are started (phases after startDestination). */
export function vms(run: RunState): { srcVm: RemoteVm; dstVm: RemoteVm } {
  if (!run.srcVm || !run.dstVm) throw new Error('runner: a phase ran before both VMs were started');
  return { srcVm: run.srcVm, dstVm: run.dstVm };
}
