/**
 * One migration of one scenario with one strategy, as a table of contents: each step is a named
 * phase (./runSetup.ts, ./runMigrate.ts), the record is built in one place (./buildRecord.ts).
 */
import { accelConflicts } from '../qemu/migrationSettings.js';
import type { RunRecord } from '../results/record.js';
import { buildRecord } from './buildRecord.js';
import { closeRun, openRun, recordFailure } from './runLifecycle.js';
import {
  bootSource,
  prepareTestbed,
  startControllerLoad,
  startDestination,
  startHostSamplers,
  startWorkload,
  warmUp,
} from './runSetup.js';
import {
  checkGuestOnDst,
  closeWindow,
  collectWorkloadMetrics,
  completedMeasurements,
  configureSides,
  finishControllerLoad,
  migrate,
  openWindow,
  verifyRam,
} from './runMigrate.js';
import type { MigrationRunOptions, RunState } from './runState.js';

export type { MigratingContext, MigrationRunOptions } from './runState.js';

const MiB = 1024 * 1024;

/**
 * Boot on src, start the workload, migrate to dst, verify the guest runs there, measure, tear
 * down. Always returns a record (status failed with the reason when something broke) and always
 * cleans up what it started.
 */
export async function runMigration(o: MigrationRunOptions): Promise<RunRecord> {
  const run = await openRun(o);
  try {
    assertAccelSupports(run);
    await prepareTestbed(run);
    await bootSource(run);
    await startDestination(run);
    const storageBefore = await startWorkload(run);
    await startControllerLoad(run);
    await startHostSamplers(run);
    await warmUp(run, storageBefore);
    const settings = await configureSides(run);
    const window = await openWindow(run);
    const migrated = await migrate(run, settings);
    await closeWindow(run, window);
    await verifyRam(run);
    const { dstCtl, backOnline } = await checkGuestOnDst(run, migrated);
    await finishControllerLoad(run, migrated.startedAt, backOnline?.t ?? window.after!.at);
    await collectWorkloadMetrics(run, dstCtl, migrated);
    run.m.completed = await completedMeasurements(run, migrated, window, backOnline);
    reportOutcome(run, buildRecord(run.m));
  } catch (err) {
    await recordFailure(run, err);
  } finally {
    await closeRun(run);
  }
  return buildRecord(run.m);
}

/** Scenario settings this testbed's accelerator cannot honour fail the run before anything starts. */
function assertAccelSupports(run: RunState): void {
  const { scenario, testbed } = run.o;
  const conflict = accelConflicts(scenario.migration, testbed.accel)[0];
  if (conflict) throw new Error(`scenario ${scenario.file}: field "${conflict.field}": ${conflict.reason}`);
}

/** The run's one-line outcome on the progress output. */
function reportOutcome(run: RunState, record: RunRecord): void {
  if (record.status === 'failed') {
    run.o.progress.phase(`[${run.runId}] FAILED: ${record.error}`);
    return;
  }
  run.o.progress.phase(
    `[${run.runId}] completed in ${record.total_time_ms} ms, downtime ${record.downtime_ms} ` +
      `ms${record.app_downtime_ms !== undefined ? ` (app ${record.app_downtime_ms} ms)` : ''}, ` +
      `${(record.migration_link_bytes! / MiB).toFixed(1)} MiB on the migration link`,
  );
}
