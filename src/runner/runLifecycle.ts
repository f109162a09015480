/**
 * How a run starts (its directory, the record as it starts, environment.json), how a failure is
 * recorded (the guest back on the source when it was orphaned, what QEMU and the strategy said), and
 * how it ends (every undo step, the series, the final record).
 */
import { join, posix } from 'node:path';
import { guestAddress } from '../testbed/spec.js';
import { resumeSourceIfOrphaned } from '../qemu/orphan.js';
import { createWorkload } from '../workload/index.js';
import { GuestProbe } from '../metrics/probe.js';
import { seriesRow } from '../metrics/webSummary.js';
import { RunDir, writeFileAtomic } from '../results/runDir.js';
import { paramsHash, runParams } from '../results/params.js';
import { errorMessage } from '../util/errors.js';
import { collectEnvironment } from './environment.js';
import type { RunRecord } from '../results/record.js';
import { makeRunId } from '../scenario/runId.js';
import { buildRecord } from './buildRecord.js';
import { Cleanups, type MigrationRunOptions, type RunState } from './runState.js';

/** The record as a run starts: what runs where, failed "interrupted" until the run ends. */
function startRecord(o: MigrationRunOptions, runId: string): RunRecord {
  const { scenario, strategy, testbed, image } = o;
  const record: RunRecord = {
    run_id: runId,
    scenario: scenario.name,
    config_id: scenario.config_id,
    sweep: scenario.sweep,
    strategy: strategy.name,
    repeat: o.repeat,
    warmup: o.warmup ?? false,
    status: 'failed',
    error: 'runner did not finish this run (interrupted)',
    started_at: new Date().toISOString(),
    testbed: testbed.kind,
    ...(testbed.pair !== undefined ? { pair: testbed.pair } : {}),
    src_host: testbed.hosts.src.name,
    dst_host: testbed.hosts.dst.name,
    pofbench_rev: o.pofbenchRev,
    params: runParams(scenario, testbed, image.id),
  };
  record.params_hash = paramsHash(record.params);
  return record;
}

/** environment.json: the hosts and tools (and, once QEMU ran, its version). */
function writeEnvironment(run: RunState): Promise<void> {
  return writeFileAtomic(
    join(run.dir.path, 'environment.json'),
    `${JSON.stringify({ qemu_version: run.m.along.qemu_version, ...run.env }, null, 2)}\n`,
  );
}

/** The run's directory with the record as it starts, scenario.json and environment.json; nothing started yet. */
export async function openRun(o: MigrationRunOptions): Promise<RunState> {
  const { scenario, strategy, testbed, hosts } = o;
  const runId = makeRunId({
    scenario: scenario.name,
    configId: scenario.config_id,
    strategy: strategy.name,
    repeat: o.repeat,
  });
  const dir = await RunDir.create(o.outDir, runId);
  const base = startRecord(o, runId);
  await dir.writeRecord(base);
  await dir.writeText('scenario.json', `${JSON.stringify(scenario, null, 2)}\n`);
  const env = await collectEnvironment(testbed, hosts, o.pofbenchRev);
  const hostRunDir = posix.join(testbed.hostRunDir, runId);
  const run: RunState = {
    o,
    runId,
    dir,
    env,
    hostRunDir,
    ctx: { scenario, testbed, src: hosts.src, dst: hosts.dst, runId, hostRunDir },
    workload: createWorkload(scenario.workload),
    probe: new GuestProbe(guestAddress(testbed), testbed.controllerNetns),
    m: { base, along: {} },
    cleanups: new Cleanups((err) => o.progress.phase(`[${runId}] clean-up step failed: ${errorMessage(err)}`)),
    samplerPids: {},
  };
  await writeEnvironment(run);
  o.onCleanup?.(run.cleanups.runAll);
  return run;
}

/** What QEMU (both sides) and the strategy say about a failure, for the record's error. */
async function failureDetail(run: RunState, interrupted: boolean): Promise<string> {
  const { srcVm, dstVm } = run;
  // a destination QEMU that exited after the stream usually means the guest died there: its exit
  // report (log, QMP events, console tail) replaces the plain log tail
  const dstGone = interrupted ? '' : await dstVm?.exitReport().catch(() => '');
  const qemuSays = [await srcVm?.stderrTail().catch(() => ''), dstGone ? '' : await dstVm?.stderrTail().catch(() => '')]
    .map((t, i) => (t ? `${i ? 'dst' : 'src'} QEMU: ${t.split('\n').join(' | ')}` : ''))
    .filter(Boolean)
    .join('; ');
  const strategySays = await run.o.strategy.failureDetail?.(run.ctx).catch(() => '');
  return [strategySays, qemuSays, dstGone].filter(Boolean).join('; ');
}

/** A failed run: the source VM keeps running whenever the migration did not complete; the error says why. */
export async function recordFailure(run: RunState, err: unknown): Promise<void> {
  const interruptedBy = run.o.interruptedBy?.();
  if (run.srcVm) {
    const resumed = await resumeSourceIfOrphaned(run.srcVm, run.dstVm).catch(() => false);
    if (resumed) run.m.along.src_resumed = true;
    run.m.along.src_vm_status_after = await run.srcVm.status().catch(() => 'gone');
  }
  const detail = await failureDetail(run, Boolean(interruptedBy));
  run.m.error =
    `${interruptedBy ? `runner interrupted by ${interruptedBy} during the run; ` : ''}` +
    `${errorMessage(err)}${detail ? ` [${detail}]` : ''}`;
  run.o.progress.phase(`[${run.runId}] FAILED: ${run.m.error}`);
}

/** Teardown: a fault injector finishes first (e.g. restores the NAS), then every undo step; the final record. */
export async function closeRun(run: RunState): Promise<void> {
  const { dir, o } = run;
  o.progress.clearStatus();
  await run.injected;
  for (const r of run.probe.replies) dir.series('probe', r);
  await run.cleanups.runAll();
  for (const r of run.load?.rows ?? []) dir.series('web', seriesRow(r));
  o.onCleanup?.(undefined);
  await dir.close();
  await dir.writeRecord(buildRecord(run.m));
  await writeEnvironment(run).catch(() => undefined); // now with the QEMU version
}
