/**
 * The phases of a run from the migration settings on: migrate (sampled at 10 Hz), wait for the
 * destination, check RAM, check the guest runs on the destination, and what is measured after.
 */
import { GuestControl } from '../guest/control.js';
import type { MigrateInfo } from '../qemu/qmp.js';
import { qemuMigrationSettings, type QemuMigrationSettings } from '../qemu/migrationSettings.js';
import {
  assertCompleted,
  awaitDestinationComplete,
  awaitMigrationTimes,
  configureMigration,
  sampleUntilEnded,
  startIncoming,
  startMigration,
  startPostcopy,
} from '../qemu/migration.js';
import { compareRam } from '../qemu/ramCompare.js';
import { readHostCounters, type HostCounters } from '../metrics/hostCounters.js';
import {
  cpuComponents,
  pidsByRole,
  snapshotCpu,
  type CpuSnapshots,
  type WatchedProcess,
} from '../metrics/cpuAccounting.js';
import { placeRows, phaseSummary } from '../metrics/workloadPhases.js';
import { webSummary } from '../metrics/webSummary.js';
import { sleep, waitFor } from '../util/exec.js';
import { errorMessage } from '../util/errors.js';
import type { CompletedMeasurements } from './buildRecord.js';
import { hostNics } from './runSetup.js';
import { vms, type RunState } from './runState.js';

const MiB = 1024 * 1024;
/** How long a workload with its own metrics keeps running on dst before they are fetched. */
const WORKLOAD_AFTER_MS = 3000;
/** Controller load (web): at least this long before `migrate`, and this long after the guest answers on dst. */
const LOAD_BEFORE_MS = 2000;
const LOAD_AFTER_MS = 3000;

/** 5. Migration settings on both sides (QEMU's max-bandwidth explicit: the link is the limit); dst listens. */
export async function configureSides(run: RunState): Promise<QemuMigrationSettings> {
  const { scenario, strategy } = run.o;
  const { srcVm, dstVm } = vms(run);
  const settings = qemuMigrationSettings(scenario.migration);
  const strategyParameters = (await strategy.migrationParameters?.(run.ctx)) ?? {};
  await configureMigration(srcVm.qmp, dstVm.qmp, {
    ...settings,
    sourceParameters: { ...settings.sourceParameters, ...strategyParameters },
  });
  const switchoverBw =
    strategyParameters['avail-switchover-bandwidth'] ?? settings.sourceParameters['avail-switchover-bandwidth'];
  if (typeof switchoverBw === 'number') run.m.along.switchover_bandwidth_mbit = Math.round((switchoverBw * 8) / 1e6);
  await run.dir.writeText('qemu-migration-settings.json', `${JSON.stringify(await appliedSettings(run), null, 2)}\n`);
  await startIncoming(dstVm.qmp, run.path!.incomingUri);
  return settings;
}

/** The migration capabilities and parameters as the source QEMU reports them (provenance of a run). */
async function appliedSettings(run: RunState): Promise<{ capabilities: Record<string, boolean>; parameters: unknown }> {
  const { srcVm } = vms(run);
  const caps = await srcVm.qmp.execute<{ capability: string; state: boolean }[]>('query-migrate-capabilities');
  return {
    capabilities: Object.fromEntries(caps.map((c) => [c.capability, c.state])),
    parameters: await srcVm.qmp.execute('query-migrate-parameters'),
  };
}

/** One edge of the measured window: both hosts' counters and every process of interest's CPU. */
export interface WindowEdge {
  src: HostCounters;
  dst: HostCounters;
  cpu: CpuSnapshots;
}

/** The measured window: from right before `migrate` until the destination holds the whole state. */
export interface MeasuredWindow {
  /** the strategy's processes whose CPU is a component of its own */
  watched: WatchedProcess[];
  before: WindowEdge;
  after?: WindowEdge & { at: number };
}

function snapCpu(run: RunState, watched: WatchedProcess[], edge: 'open' | 'close'): Promise<CpuSnapshots> {
  return snapshotCpu(run.o.hosts, pidsByRole(watched, run.samplerPids), edge);
}

function readCounters(run: RunState, role: 'src' | 'dst'): Promise<HostCounters> {
  const vm = vms(run)[role === 'src' ? 'srcVm' : 'dstVm'];
  return readHostCounters(run.o.hosts[role], hostNics(run.o.testbed.hosts[role].nics), vm.pid);
}

/** Counters and CPU right before `migrate` (once the samplers reported their pids: they must be in it). */
export async function openWindow(run: RunState): Promise<MeasuredWindow> {
  const [src, dst] = await Promise.all([readCounters(run, 'src'), readCounters(run, 'dst')]);
  const watched = run.o.strategy.processes?.(run.ctx) ?? [];
  await waitFor(
    'the host samplers to report',
    15000,
    async () => Boolean(run.samplerPids.src && run.samplerPids.dst),
    50,
  ).catch(() => undefined);
  return { watched, before: { src, dst, cpu: await snapCpu(run, watched, 'open') } };
}

export interface Migrated {
  /** the source's final `query-migrate`, with its times */
  info: MigrateInfo;
  /** when `migrate` was issued and when the source's migration ended (controller clock) */
  startedAt: number;
  endedAt: number;
}

/** 6. Migrate, sampling QMP at 10 Hz (series qmp); post-copy and the timeout as the scenario says. */
export async function migrate(run: RunState, settings: QemuMigrationSettings): Promise<Migrated> {
  const { scenario, strategy, hosts, testbed, progress, onMigrating } = run.o;
  const { srcVm, dstVm } = vms(run);
  progress.phase(
    `[${run.runId}] migrating ${hosts.src.name} -> ${hosts.dst.name} (${strategy.name}, link cap ` +
      `${scenario.migration.link_cap_mbit || 'none'} Mbit/s)`,
  );
  if (run.load) await sleep(Math.max(0, run.load.startedAt + LOAD_BEFORE_MS - Date.now()));
  const t0 = await startMigration(srcVm.qmp, run.path!.migrateUri);
  if (onMigrating) {
    const m = { runId: run.runId, hosts, testbed, strategy, src: srcVm, dst: dstVm, hostRunDir: run.hostRunDir };
    run.injected = onMigrating(m).catch((err) => {
      run.m.along.fault_error = errorMessage(err);
    });
  }
  const onSample = async (info: MigrateInfo, tq: number) => {
    run.dir.series('qmp', { t: tq, ...info });
    const ram = info.ram;
    if (ram) {
      progress.status(
        `${info.status} pass ${ram['dirty-sync-count']}  sent ${(ram.transferred / MiB).toFixed(0)} MiB  remaining ` +
          `${(ram.remaining / MiB).toFixed(0)} MiB  ${ram.mbps.toFixed(0)} Mbit/s  ` +
          `${((tq - t0) / 1000).toFixed(1)} s`,
      );
    }
    const pass = ram?.['dirty-sync-count'] ?? 0;
    const along = run.m.along;
    const due = settings.postcopyAfterPasses && along.postcopy_at_pass === undefined && info.status === 'active';
    if (due && pass >= settings.postcopyAfterPasses!) {
      await startPostcopy(srcVm.qmp);
      along.postcopy_at_pass = pass;
      along.postcopy_at_ms = tq - t0;
    }
  };
  const timeoutS = scenario.migration.timeout_s;
  const deadline = {
    at: t0 + timeoutS * 1000,
    error: (info: MigrateInfo) =>
      `migration did not complete within migration.timeout_s=${timeoutS} s (status ` +
      `${info.status}); cancelled, guest stays on ${hosts.src.name}`,
  };
  const sampled = await sampleUntilEnded(srcVm.qmp, { onSample, deadline });
  progress.clearStatus();
  run.m.along.qmp_sample_hz = Number((sampled.samples / Math.max(0.001, (sampled.endedAt - t0) / 1000)).toFixed(1));
  assertCompleted(sampled.info);
  return { info: await awaitMigrationTimes(srcVm.qmp), startedAt: t0, endedAt: sampled.endedAt };
}

/**
 * 6a. The destination holds the whole state (its incoming migration completed). With pof this is
 * later than the source's `completed`: the agents' pipeline drains first. The window closes then.
 */
export async function closeWindow(run: RunState, window: MeasuredWindow): Promise<void> {
  await awaitDestinationComplete(vms(run).dstVm.qmp);
  const at = Date.now();
  const [cpu, src, dst] = await Promise.all([
    snapCpu(run, window.watched, 'close'),
    readCounters(run, 'src'),
    readCounters(run, 'dst'),
  ]);
  window.after = { src, dst, cpu, at };
}

/** 6b. Byte-exact check: src is stopped (postmigrate), dst paused (-S) with the complete state; then dst runs. */
export async function verifyRam(run: RunState): Promise<void> {
  if (!run.o.verifyRam) return;
  const { srcVm, dstVm } = vms(run);
  const memoryMib = run.o.scenario.guest.memory_mib;
  run.o.progress.phase(`[${run.runId}] comparing source and destination RAM (${memoryMib} MiB)`);
  const cmp = await compareRam(srcVm, dstVm, memoryMib, run.hostRunDir);
  run.m.along.ram_identical = cmp.identical;
  run.m.along.ram_compare_ms = cmp.ms;
  await dstVm.qmp.execute('cont');
}

/** 7. The guest must run on dst: QEMU running, control channel answers, network answers (the probe). */
export async function checkGuestOnDst(
  run: RunState,
  migrated: Migrated,
): Promise<{ dstCtl: GuestControl; backOnline?: { t: number } }> {
  const { srcVm, dstVm } = vms(run);
  let dstStatus = 'unknown';
  await waitFor(
    'destination QEMU to run the guest',
    20000,
    async () => (dstStatus = await dstVm.status()) === 'running',
    20,
  ).catch((err: Error) => {
    throw new Error(`${err.message} (its last run state: ${dstStatus})`);
  });
  const dstCtl = new GuestControl(await dstVm.openControl());
  run.cleanups.push(async () => dstCtl.close());
  const check = await dstCtl.exec('cat /proc/uptime', { timeoutMs: 20000 });
  const backOnline = run.o.verifyRam ? undefined : await run.probe.waitForReply(migrated.endedAt, 20000);
  run.m.along.guest_on_dst = check.rc === 0 && (await srcVm.status()) !== 'running';
  await sleep(300);
  return { dstCtl, backOnline };
}

/** 7a. The controller load keeps going on dst, then stops: latency timeline and its cost. */
export async function finishControllerLoad(run: RunState, migrateStart: number, migrateEnd: number): Promise<void> {
  if (!run.load) return;
  await sleep(LOAD_AFTER_MS);
  await run.load.stop();
  const loadEnd = Date.now();
  Object.assign(run.m.along, webSummary(run.load.rows, { migrateStart, migrateEnd, loadEnd }));
}

/** 7b. The workload's own numbers before / during / after the migration (its log moved with the guest). */
export async function collectWorkloadMetrics(run: RunState, dstCtl: GuestControl, migrated: Migrated): Promise<void> {
  const { workload } = run;
  if (!workload.metricsScript || !workload.parseMetrics) return;
  await sleep(WORKLOAD_AFTER_MS);
  const fetchedAt = Date.now();
  const text = (await dstCtl.exec(workload.metricsScript(), { timeoutMs: 20000 })).output;
  const rows = placeRows(text, workload.parseMetrics(text), fetchedAt, migrated.startedAt, migrated.endedAt);
  for (const r of rows) run.dir.series('workload', r);
  Object.assign(run.m.along, phaseSummary(rows));
}

/** 8. Everything the record needs from a completed migration, with the strategy's own fields. */
export async function completedMeasurements(
  run: RunState,
  migrated: Migrated,
  window: MeasuredWindow,
  backOnline: { t: number } | undefined,
): Promise<CompletedMeasurements> {
  const { strategy, testbed } = run.o;
  const { srcVm, dstVm } = vms(run);
  const { before, after } = window;
  if (!after) throw new Error('runner: the measured window was not closed');
  const strategyFields = await strategy.collect(run.ctx);
  for (const [name, rows] of Object.entries(strategy.series?.() ?? {})) for (const r of rows) run.dir.series(name, r);
  return {
    info: migrated.info,
    startedAt: migrated.startedAt,
    dstCompleteAt: after.at,
    backOnline,
    probeReplies: [...run.probe.replies],
    probeRealtime: run.probe.realtime,
    src: { before: before.src, after: after.src },
    dst: { before: before.dst, after: after.dst },
    nics: {
      srcMigration: testbed.hosts.src.nics.migration!,
      srcStorage: testbed.hosts.src.nics.storage!,
      dstStorage: testbed.hosts.dst.nics.storage!,
    },
    cpu: cpuComponents(before.cpu, after.cpu, {
      watched: window.watched,
      samplers: run.samplerPids,
      controllerPid: process.pid,
      windowMs: after.at - migrated.startedAt,
    }),
    strategyFields,
    srcTimeline: srcVm.timeline,
    dstTimeline: dstVm.timeline,
    switchoverTimes: strategy.switchoverTimes?.(),
  };
}
