import { join, posix } from 'node:path';
import type { ClientChannel } from 'ssh2';
import { createInterface } from 'node:readline';
import type { Scenario } from '../scenario/types.js';
import type { TestbedSpec } from '../testbed/spec.js';
import { guestAddress } from '../testbed/spec.js';
import { sh, type SshHost } from '../hosts/ssh.js';
import { RemoteVm, type VmConfig } from '../qemu/vm.js';
import type { MigrateInfo } from '../qemu/qmp.js';
import type { MigrationStrategy, StrategyContext } from '../strategy/types.js';
import { createWorkload } from '../workload/index.js';
import { GuestControl } from '../guest/control.js';
import { guestKernelCmdline, type GuestImage } from '../image/build.js';
import { GuestProbe, largestGap } from '../metrics/probe.js';
import { placeRows, phaseSummary } from '../metrics/workloadPhases.js';
import { WebLoad } from '../metrics/webLoad.js';
import { seriesRow, webSummary } from '../metrics/webSummary.js';
import { prepareNasDisk } from './nasDisk.js';
import { capMigrationLink } from './linkCap.js';
import { RunDir, writeFileAtomic } from '../sinks/resultStore.js';
import { collectEnvironment } from './environment.js';
import type { RunRecord } from './record.js';
import { makeRunId } from './runId.js';
import type { Progress } from '../util/progress.js';
import { sleep, waitFor, FatalError } from '../util/exec.js';
import { errorMessage } from '../util/errors.js';
import { processCpuSeconds } from '../util/procStat.js';
import { cpuComponents, snapshotCpu } from '../metrics/cpuAccounting.js';
import { pofPathCost } from '../metrics/pofPathCost.js';
import { switchoverBreakdown } from '../metrics/switchover.js';
import { accelConflicts, qemuMigrationSettings, usesDirtyLimit } from '../qemu/migrationSettings.js';
import { paramsHash, runParams } from '../results/params.js';

export interface TestbedHosts {
  src: SshHost;
  dst: SshHost;
  nas: SshHost;
}

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

const MiB = 1024 * 1024;
const QMP_SAMPLE_MS = 50;
/** How long a workload with its own metrics keeps running on dst before they are fetched. */
const WORKLOAD_AFTER_MS = 3000;
/** Controller load (web): at least this long before `migrate`, and this long after the guest answers on dst. */
const LOAD_BEFORE_MS = 2000;
const LOAD_AFTER_MS = 3000;

/** What `readHostCounters` reads on a host in one exec. */
interface HostCounters {
  nic: Record<string, { rx: number; tx: number }>;
  /** CPU seconds of the QEMU process so far. */
  cpuS?: number;
  /** The host's busy CPU seconds so far, all cores (/proc/stat: user, nice, system, irq, softirq, steal). */
  hostBusyS?: number;
  hostCores?: number;
  /** When it was read (controller clock). */
  at: number;
}

/** NIC byte counters, QEMU CPU seconds and the host's busy CPU time, read on a host in one exec. */
export async function readHostCounters(host: SshHost, nics: string[], pid?: number): Promise<HostCounters> {
  const parts = ['head -n 1 /proc/stat', 'nproc'];
  parts.push(...nics.map((n) => `cat ${sh(['rx', 'tx'].map((d) => `/sys/class/net/${n}/statistics/${d}_bytes`))}`));
  if (pid) parts.push(`cat /proc/${pid}/stat 2>/dev/null || echo gone`);
  const out = (await host.exec(parts.join('; '))).stdout.trim().split('\n');
  const at = Date.now();
  const [statLine, nproc] = [out[0], out[1]];
  const lines = out.slice(2);
  const nic: Record<string, { rx: number; tx: number }> = {};
  nics.forEach((n, i) => {
    nic[n] = { rx: Number(lines[2 * i]), tx: Number(lines[2 * i + 1]) };
  });
  let cpuS: number | undefined;
  const stat = pid ? lines[2 * nics.length] : undefined;
  if (stat && stat !== 'gone') {
    cpuS = processCpuSeconds(stat);
  }
  return { nic, cpuS, ...hostCpu(statLine, nproc), at };
}

/** Busy CPU seconds from the first line of /proc/stat (USER_HZ = 100), and the core count. */
export function hostCpu(
  statLine: string | undefined,
  nproc: string | undefined,
): { hostBusyS?: number; hostCores?: number } {
  const f = statLine?.trim().split(/\s+/) ?? [];
  if (f[0] !== 'cpu' || f.length < 9) return {};
  const [user, nice, system, , , irq, softirq, steal] = f.slice(1, 9).map(Number);
  const busy = (user + nice + system + irq + softirq + steal) / 100;
  const cores = Number(nproc);
  return {
    hostBusyS: Number.isFinite(busy) ? busy : undefined,
    hostCores: Number.isInteger(cores) && cores > 0 ? cores : undefined,
  };
}

/** Busy core-seconds between two reads, and that as a share of all cores' time (%). */
export function hostCpuUse(a: HostCounters, b: HostCounters): { busyS?: number; utilPct?: number } {
  if (a.hostBusyS === undefined || b.hostBusyS === undefined) return {};
  const busyS = Number((b.hostBusyS - a.hostBusyS).toFixed(2));
  const wallS = (b.at - a.at) / 1000;
  const utilPct =
    b.hostCores && wallS > 0 ? Number(Math.min(100, (100 * busyS) / (b.hostCores * wallS)).toFixed(1)) : undefined;
  return { busyS, utilPct };
}

const sumBytes = (c: { rx: number; tx: number }) => c.rx + c.tx;

/**
 * The source handed the guest over (`postmigrate`) but the destination does not run it (it died
 * or failed after the stream, e.g. reopening its disk): stop the destination and resume the guest
 * on the source, as a management layer would. Never resumes when the destination runs the guest.
 */
async function resumeSourceIfOrphaned(src: RemoteVm, dst: RemoteVm | undefined): Promise<boolean> {
  const s = await src.status();
  if (s !== 'postmigrate') return false;
  const d = dst ? await dst.status().catch(() => 'gone') : 'gone';
  if (d === 'running') return false;
  await dst?.stop();
  await src.qmp.execute('cont');
  return true;
}

/**
 * Dumps guest RAM on both hosts (`pmemsave`, guest-physical 0..memory) and compares SHA-256 sums.
 * Below 3 GiB an i440fx guest's RAM is one range starting at 0.
 */
async function compareRam(
  hosts: TestbedHosts,
  src: RemoteVm,
  dst: RemoteVm,
  memoryMib: number,
  hostRunDir: string,
): Promise<{ identical: boolean; ms: number }> {
  if (memoryMib > 3072)
    throw new Error('--verify-ram supports guests up to 3072 MiB (one RAM range below the PCI hole)');
  const t0 = Date.now();
  const srcState = await src.status();
  if (srcState !== 'postmigrate')
    throw new Error(`--verify-ram: the source VM is "${srcState}" after a completed migration (expected postmigrate)`);
  const sums: string[] = [];
  for (const [host, vm, name] of [
    [hosts.src, src, 'src'],
    [hosts.dst, dst, 'dst'],
  ] as const) {
    // /run on a host can be a small tmpfs: dumps go to /var/tmp and are always removed
    const file = `/var/tmp/pofbench-ram-${posix.basename(hostRunDir)}-${name}.bin`;
    try {
      await vm.qmp.execute('pmemsave', { val: 0, size: memoryMib * MiB, filename: file });
      const r = await host.exec(`sha256sum ${sh([file])}`, { timeoutMs: 120000 });
      sums.push(r.stdout.split(' ')[0]);
    } finally {
      if (!process.env.POFBENCH_KEEP_RAM_DUMPS) await host.exec(`rm -f ${sh([file])}`, { allowFail: true });
    }
  }
  return { identical: sums[0] === sums[1] && /^[0-9a-f]{64}$/.test(sums[0]), ms: Date.now() - t0 };
}

/** The migration capabilities and parameters as the source QEMU reports them (provenance of a run). */
async function appliedSettings(vm: RemoteVm): Promise<{ capabilities: Record<string, boolean>; parameters: unknown }> {
  const caps = await vm.qmp.execute<{ capability: string; state: boolean }[]>('query-migrate-capabilities');
  return {
    capabilities: Object.fromEntries(caps.map((c) => [c.capability, c.state])),
    parameters: await vm.qmp.execute('query-migrate-parameters'),
  };
}

/** Streams `pofbench host sample` from a host into a series file until stopped. */
async function startHostSampler(
  host: SshHost,
  testbed: TestbedSpec,
  nics: string[],
  pid: number,
  onRow: (row: unknown) => void,
): Promise<ClientChannel> {
  const cmd = sh([
    ...testbed.hostPofbench,
    'host',
    'sample',
    ...nics.flatMap((n) => ['--nic', n]),
    '--pid',
    pid,
    '--interval-ms',
    50,
    '--max-seconds',
    7200,
  ]);
  const ch = await host.spawn(cmd);
  createInterface({ input: ch }).on('line', (line) => {
    try {
      onRow(JSON.parse(line));
    } catch {
      /* ignore partial lines */
    }
  });
  ch.stderr.resume();
  return ch;
}

/**
 * One migration of one scenario with one strategy: boot on src, start the workload, migrate to
 * dst, verify the guest runs there, measure, tear down. Always returns a record (status failed
 * with the reason when something broke) and always cleans up what it started.
 */
export async function runMigration(o: MigrationRunOptions): Promise<RunRecord> {
  const { scenario, strategy, testbed, hosts, image, progress } = o;
  const runId = makeRunId({
    scenario: scenario.name,
    configId: scenario.config_id,
    strategy: strategy.name,
    repeat: o.repeat,
  });
  const dir = await RunDir.create(o.outDir, runId);
  const srcNics = testbed.hosts.src.nics;
  const dstNics = testbed.hosts.dst.nics;
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
    params: runParams(scenario, testbed.accel, image.id),
  };
  record.params_hash = paramsHash(record.params);
  await dir.writeRecord(record);
  await dir.writeText('scenario.json', `${JSON.stringify(scenario, null, 2)}\n`);
  const env = await collectEnvironment(testbed, hosts, o.pofbenchRev);
  const writeEnvironment = () =>
    writeFileAtomic(
      join(dir.path, 'environment.json'),
      `${JSON.stringify({ qemu_version: record.qemu_version, ...env }, null, 2)}\n`,
    );
  await writeEnvironment();

  const cleanups: (() => Promise<void>)[] = [];
  const cleanupAll = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  };
  o.onCleanup?.(cleanupAll);
  const hostRunDir = posix.join(testbed.hostRunDir, runId);
  const ctx: StrategyContext = { scenario, testbed, src: hosts.src, dst: hosts.dst, runId, hostRunDir };
  const workload = createWorkload(scenario.workload);
  const probe = new GuestProbe(guestAddress(testbed), testbed.controllerNetns);
  let load: WebLoad | undefined;

  let srcVmRef: RemoteVm | undefined;
  let dstVmRef: RemoteVm | undefined;
  let injected: Promise<void> | undefined;
  try {
    const conflict = accelConflicts(scenario.migration, testbed.accel)[0];
    if (conflict) throw new Error(`scenario ${scenario.file}: field "${conflict.field}": ${conflict.reason}`);
    // 1. the guest's data disk: a fresh copy of the image's disk on the NAS, per run
    progress.phase(`[${runId}] preparing NAS disk`);
    const disk = await prepareNasDisk(hosts.nas, testbed, image, runId);
    cleanups.push(disk.remove);
    const nfsPath = disk.nfsPath;

    // 2. the migration link cap (tc on both hosts' migration NICs)
    cleanups.push(
      await capMigrationLink(
        [
          [hosts.src, srcNics.migration],
          [hosts.dst, dstNics.migration],
        ],
        scenario.migration.link_cap_mbit,
      ),
    );

    // 3. QEMU on src (running) and dst (waiting for the stream)
    const vmBase: Omit<VmConfig, 'id'> = {
      accel: testbed.accel,
      dirtyRing: usesDirtyLimit(scenario.migration),
      memoryMib: scenario.guest.memory_mib,
      vcpus: scenario.guest.vcpus,
      kernel: image.kernel,
      initrd: image.initrd,
      append: guestKernelCmdline({ ip: testbed.vm.guestCidr }),
      nfsDisk: { server: testbed.nas.server, path: nfsPath },
      // --verify-ram runs without a NIC: NIC DMA around switchover can change a page even under a
      // stock migration (seen here: 1 page of 65536, virtio-net + tap), which would blur the check
      nic: o.verifyRam ? undefined : { tap: testbed.vm.tap, mac: testbed.vm.mac },
    };
    progress.phase(
      `[${runId}] booting guest on ${hosts.src.name} (${scenario.guest.memory_mib} MiB, ${testbed.accel})`,
    );
    const bootT0 = Date.now();
    const srcVm = await RemoteVm.start(hosts.src, { ...vmBase, ...strategy.srcVmExtras?.(ctx), id: 'src' }, hostRunDir);
    srcVmRef = srcVm;
    cleanups.push(async () => {
      // a full results disk must not keep the VM from being stopped
      await dir.writeText('console-src.log', await srcVm.consoleTail(400).catch(() => '')).catch(() => undefined);
      await srcVm.stop();
    });
    record.qemu_version = srcVm.qmp.versionString;
    const srcCtl = new GuestControl(await srcVm.openControl());
    cleanups.push(async () => srcCtl.close());
    try {
      await srcCtl.waitReady(scenario.guest.boot_timeout_s * 1000);
    } catch (err) {
      throw new Error(
        `guest did not boot on ${hosts.src.name} within ${scenario.guest.boot_timeout_s} s (${errorMessage(err)}); ` +
          `console: ${(await srcVm.consoleTail(5)).trim().split('\n').join(' | ')}`,
      );
    }
    record.boot_ms = Date.now() - bootT0;
    if (!o.verifyRam) {
      probe.start();
      cleanups.push(() => probe.stop());
      await probe.waitForReply(Date.now(), 15000).catch((err) => {
        throw new Error(`vm network: ${errorMessage(err)} (controller cannot reach the guest before migration)`);
      });
    }

    const path = await strategy.prepare(ctx);
    cleanups.push(() => strategy.cleanup(ctx));
    const dstVm = await RemoteVm.start(
      hosts.dst,
      { ...vmBase, id: 'dst', incoming: true, startPaused: o.verifyRam },
      hostRunDir,
    );
    dstVmRef = dstVm;
    cleanups.push(async () => {
      // a full results disk must not keep the VM from being stopped
      await dir.writeText('console-dst.log', await dstVm.consoleTail(400).catch(() => '')).catch(() => undefined);
      await dstVm.stop();
    });

    // 4. workload and warm-up
    progress.phase(`[${runId}] workload ${scenario.workload.type}: starting`);
    const stoBefore = await readHostCounters(hosts.src, [srcNics.storage!]);
    const wlT0 = Date.now();
    await srcCtl.exec(workload.startScript(image), { timeoutMs: 30000 });
    await waitFor(
      `workload ${scenario.workload.type} to become ready`,
      scenario.workload.ready_timeout_s * 1000,
      async () => {
        const r = await srcCtl.exec(workload.readyScript(), { timeoutMs: 10000 });
        const state = r.output.trim();
        if (state.startsWith('failed')) throw new FatalError(`workload ${scenario.workload.type} ${state}`);
        progress.status(`warming up: ${state} (${((Date.now() - wlT0) / 1000).toFixed(0)} s)`);
        return state === 'ready';
      },
      500,
    );
    record.workload_ready_ms = Date.now() - wlT0;
    progress.phase(
      `[${runId}] workload ready after ${(record.workload_ready_ms / 1000).toFixed(1)} s; warm-up ` +
        `${scenario.workload.warmup_s} s`,
    );
    // 4b. controller-side load (web): runs through warm-up and migration until after the guest answers on dst
    const loadSpec = workload.controllerLoad?.(image);
    if (loadSpec) {
      const webLoad = new WebLoad(guestAddress(testbed), loadSpec, testbed.controllerNetns);
      load = webLoad;
      webLoad.start(scenario.workload.warmup_s + scenario.migration.timeout_s + 180);
      cleanups.push(() => webLoad.stop());
      await webLoad.waitForOk(webLoad.startedAt, 20000).catch((err) => {
        throw new Error(`web load: ${errorMessage(err)} (controller cannot load the guest's server before migration)`);
      });
    }
    // host samplers start before the warm-up ends: their start-up must not load the hosts during migrate
    const hostNics = (n: typeof srcNics) => [n.migration!, n.storage!];
    const samplers: ClientChannel[] = [];
    const samplerPids: Partial<Record<'src' | 'dst', number>> = {};
    const samplerRow = (role: 'src' | 'dst') => (r: unknown) => {
      samplerPids[role] ??= (r as { pid?: number }).pid;
      dir.series(`host-${role}`, r);
    };
    cleanups.push(async () => {
      for (const s of samplers) s.end();
    });
    samplers.push(await startHostSampler(hosts.src, testbed, hostNics(srcNics), srcVm.pid, samplerRow('src')));
    samplers.push(await startHostSampler(hosts.dst, testbed, hostNics(dstNics), dstVm.pid, samplerRow('dst')));
    await sleep(scenario.workload.warmup_s * 1000);
    const stoAfter = await readHostCounters(hosts.src, [srcNics.storage!]);
    record.warmup_storage_link_bytes =
      sumBytes(stoAfter.nic[srcNics.storage!]) - sumBytes(stoBefore.nic[srcNics.storage!]);

    if (strategy.beforeMigrate) {
      Object.assign(record, await strategy.beforeMigrate(ctx, (l) => progress.status(l)));
    }

    // 5. migration settings on both sides (QEMU's max-bandwidth explicit: the link is the limit)
    const settings = qemuMigrationSettings(scenario.migration);
    for (const vm of [srcVm, dstVm]) {
      await vm.qmp.execute('migrate-set-capabilities', { capabilities: settings.capabilities });
      if (Object.keys(settings.sharedParameters).length)
        await vm.qmp.execute('migrate-set-parameters', settings.sharedParameters);
    }
    const strategyParameters = (await strategy.migrationParameters?.(ctx)) ?? {};
    await srcVm.qmp.execute('migrate-set-parameters', { ...settings.sourceParameters, ...strategyParameters });
    const switchoverBw =
      strategyParameters['avail-switchover-bandwidth'] ?? settings.sourceParameters['avail-switchover-bandwidth'];
    if (typeof switchoverBw === 'number') record.switchover_bandwidth_mbit = Math.round((switchoverBw * 8) / 1e6);
    await dir.writeText('qemu-migration-settings.json', `${JSON.stringify(await appliedSettings(srcVm), null, 2)}\n`);
    await dstVm.qmp.execute('migrate-incoming', { uri: path.incomingUri });

    const [srcBefore, dstBefore] = await Promise.all([
      readHostCounters(hosts.src, hostNics(srcNics), srcVm.pid),
      readHostCounters(hosts.dst, hostNics(dstNics), dstVm.pid),
    ]);
    const watched = strategy.processes?.(ctx) ?? [];
    const cpuPids = (role: 'src' | 'dst' | 'nas') => [
      ...watched.filter((w) => w.host === role).map((w) => w.pid),
      ...(role !== 'nas' && samplerPids[role] ? [samplerPids[role]!] : []),
    ];
    const snapCpu = () => snapshotCpu(hosts, { src: cpuPids('src'), dst: cpuPids('dst'), nas: cpuPids('nas') });
    // the samplers' pids come with their first rows: they must be in the first snapshot to be counted
    await waitFor(
      'the host samplers to report',
      15000,
      async () => Boolean(samplerPids.src && samplerPids.dst),
      50,
    ).catch(() => undefined);
    const cpuBefore = await snapCpu();

    // 6. migrate, sampling QMP at 20 Hz
    progress.phase(
      `[${runId}] migrating ${hosts.src.name} -> ${hosts.dst.name} (${strategy.name}, link cap ` +
        `${scenario.migration.link_cap_mbit || 'none'} Mbit/s)`,
    );
    if (load) await sleep(Math.max(0, load.startedAt + LOAD_BEFORE_MS - Date.now()));
    const t0 = Date.now();
    await srcVm.qmp.execute('migrate', { uri: path.migrateUri });
    if (o.onMigrating) {
      injected = o.onMigrating({ runId, hosts, testbed, strategy, src: srcVm, dst: dstVm, hostRunDir }).catch((err) => {
        record.fault_error = errorMessage(err);
      });
    }
    let info: MigrateInfo = { status: 'setup' };
    let samples = 0;
    const deadline = t0 + scenario.migration.timeout_s * 1000;
    while (!['completed', 'failed', 'cancelled'].includes(info.status)) {
      const tq = Date.now();
      info = await srcVm.qmp.execute<MigrateInfo>('query-migrate');
      samples++;
      dir.series('qmp', { t: tq, ...info });
      const ram = info.ram;
      if (ram) {
        progress.status(
          `${info.status} pass ${ram['dirty-sync-count']}  sent ${(ram.transferred / MiB).toFixed(0)} MiB  remaining ` +
            `${(ram.remaining / MiB).toFixed(0)} MiB  ${ram.mbps.toFixed(0)} Mbit/s  ` +
            `${((tq - t0) / 1000).toFixed(1)} s`,
        );
      }
      if (
        settings.postcopyAfterPasses &&
        record.postcopy_at_pass === undefined &&
        info.status === 'active' &&
        (ram?.['dirty-sync-count'] ?? 0) >= settings.postcopyAfterPasses
      ) {
        await srcVm.qmp.execute('migrate-start-postcopy');
        record.postcopy_at_pass = ram!['dirty-sync-count'];
        record.postcopy_at_ms = tq - t0;
      }
      if (tq > deadline && info.status !== 'completed') {
        await srcVm.qmp.execute('migrate_cancel').catch(() => undefined);
        throw new Error(
          `migration did not complete within migration.timeout_s=${scenario.migration.timeout_s} s (status ` +
            `${info.status}); cancelled, guest stays on ${hosts.src.name}`,
        );
      }
      await sleep(Math.max(0, QMP_SAMPLE_MS - (Date.now() - tq)));
    }
    const tEnd = Date.now();
    progress.clearStatus();
    record.qmp_sample_hz = Number((samples / Math.max(0.001, (tEnd - t0) / 1000)).toFixed(1));
    if (info.status !== 'completed')
      throw new Error(`migration ${info.status}: ${info['error-desc'] ?? 'no reason given by QEMU'}`);
    // QEMU (seen with 7.2) reports `completed` a moment before it fills in total-time and downtime
    // (migration_completion sets the state, migration_calculate_complete the times): re-read.
    info = await waitFor(
      'QEMU to report the migration times',
      5000,
      async () => {
        const i = await srcVm.qmp.execute<MigrateInfo>('query-migrate');
        return (i['total-time'] ?? 0) > 0 ? i : undefined;
      },
      20,
    );

    // 6a. the destination holds the whole state (its incoming migration completed). With pof this is
    // later than the source's `completed`: the agents' pipeline drains first. Counters are read then.
    await waitFor(
      'the destination QEMU to receive the whole migration',
      60000,
      async () => {
        const d = await dstVm.qmp.execute<MigrateInfo>('query-migrate');
        if (d.status === 'failed')
          throw new FatalError(
            `destination: incoming migration failed${d['error-desc'] ? `: ${d['error-desc']}` : ''}`,
          );
        return d.status === 'completed';
      },
      20,
    );
    const tDstComplete = Date.now();
    const [srcAfter, dstAfter, cpuAfter] = await Promise.all([
      readHostCounters(hosts.src, hostNics(srcNics), srcVm.pid),
      readHostCounters(hosts.dst, hostNics(dstNics), dstVm.pid),
      snapCpu(),
    ]);
    const cpu = cpuComponents(cpuBefore, cpuAfter, {
      watched,
      samplers: samplerPids,
      controllerPid: process.pid,
      windowMs: tDstComplete - t0,
    });

    // 6b. byte-exact check: src is stopped (postmigrate), dst paused (-S) with the complete state
    if (o.verifyRam) {
      progress.phase(`[${runId}] comparing source and destination RAM (${scenario.guest.memory_mib} MiB)`);
      const cmp = await compareRam(hosts, srcVm, dstVm, scenario.guest.memory_mib, hostRunDir);
      record.ram_identical = cmp.identical;
      record.ram_compare_ms = cmp.ms;
      await dstVm.qmp.execute('cont');
    }

    // 7. the guest must run on dst: QEMU running, control channel answers, network answers
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
    cleanups.push(async () => dstCtl.close());
    const check = await dstCtl.exec('cat /proc/uptime', { timeoutMs: 20000 });
    const backOnline = o.verifyRam ? undefined : await probe.waitForReply(tEnd, 20000);
    record.guest_on_dst = check.rc === 0 && (await srcVm.status()) !== 'running';
    await sleep(300);

    // 7a. the controller load keeps going on dst, then stops: latency timeline and its cost
    if (load) {
      await sleep(LOAD_AFTER_MS);
      await load.stop();
      const loadEnd = Date.now();
      Object.assign(
        record,
        webSummary(load.rows, { migrateStart: t0, migrateEnd: backOnline?.t ?? tDstComplete, loadEnd }),
      );
    }

    // 7b. the workload's own numbers before / during / after the migration (its log moved with the guest)
    if (workload.metricsScript && workload.parseMetrics) {
      await sleep(WORKLOAD_AFTER_MS);
      const fetchedAt = Date.now();
      const text = (await dstCtl.exec(workload.metricsScript(), { timeoutMs: 20000 })).output;
      const rows = placeRows(text, workload.parseMetrics(text), fetchedAt, t0, tEnd);
      for (const r of rows) dir.series('workload', r);
      Object.assign(record, phaseSummary(rows));
    }

    // 8. the record
    const ram = info.ram!;
    const mig = (a: typeof srcBefore, b: typeof srcAfter, nic: string) => ({
      rx: b.nic[nic].rx - a.nic[nic].rx,
      tx: b.nic[nic].tx - a.nic[nic].tx,
    });
    const srcMig = mig(srcBefore, srcAfter, srcNics.migration!);
    const srcSto = mig(srcBefore, srcAfter, srcNics.storage!);
    const dstSto = mig(dstBefore, dstAfter, dstNics.storage!);
    const srcCpu = hostCpuUse(srcBefore, srcAfter);
    const dstCpu = hostCpuUse(dstBefore, dstAfter);
    Object.assign(record, {
      status: 'completed',
      error: undefined,
      total_time_ms: info['total-time'],
      wall_time_ms: tDstComplete - t0,
      setup_time_ms: info['setup-time'],
      downtime_ms: info.downtime,
      app_downtime_ms: backOnline ? Math.round(largestGap(probe.replies, t0, backOnline.t).gapMs) : undefined,
      passes: ram['dirty-sync-count'],
      migration_link_bytes: srcMig.rx + srcMig.tx,
      migration_link_tx_bytes: srcMig.tx,
      migration_link_rx_bytes: srcMig.rx,
      storage_link_bytes: sumBytes(srcSto) + sumBytes(dstSto),
      qmp_transferred_bytes: ram.transferred,
      qmp_normal_pages: ram.normal,
      qmp_normal_bytes: ram['normal-bytes'],
      qmp_duplicate_pages: ram.duplicate,
      qmp_total_bytes: ram.total,
      src_qemu_cpu_s:
        srcAfter.cpuS !== undefined && srcBefore.cpuS !== undefined
          ? Number((srcAfter.cpuS - srcBefore.cpuS).toFixed(2))
          : undefined,
      dst_qemu_cpu_s:
        dstAfter.cpuS !== undefined && dstBefore.cpuS !== undefined
          ? Number((dstAfter.cpuS - dstBefore.cpuS).toFixed(2))
          : undefined,
      src_host_cpu_busy_s: srcCpu.busyS,
      src_host_cpu_util_pct: srcCpu.utilPct,
      dst_host_cpu_busy_s: dstCpu.busyS,
      dst_host_cpu_util_pct: dstCpu.utilPct,
      probe_rate_hz: backOnline ? 100 : undefined,
      ...cpu.roles,
      nfs_server_cpu_s: cpu.nfs_server_cpu_s,
      harness_cpu_s: cpu.harness_cpu_s,
      harness_core_pct: cpu.harness_core_pct,
      harness_runner_cpu_s: cpu.harness_runner_cpu_s,
      harness_sampler_cpu_s: cpu.harness_sampler_cpu_s,
      harness_sshd_cpu_s: cpu.harness_sshd_cpu_s,
      ...(await strategy.collect(ctx)),
    } satisfies Partial<RunRecord>);
    record.pof_path_core_s_per_gb = pofPathCost(record);
    Object.assign(
      record,
      switchoverBreakdown({
        src: srcVm.timeline,
        dst: dstVm.timeline,
        ...strategy.switchoverTimes?.(),
        replies: probe.replies.map((r) => r.t),
      }),
    );
    // a migration whose destination RAM differs did not work, whatever QEMU says: the run is failed
    // (its measurements are kept in the record; statistics use completed runs only)
    if (record.ram_identical === false) {
      record.status = 'failed';
      record.error =
        `destination RAM differs from the source's after the migration (${record.passes} pre-copy passes` +
        `${record.pof_stream_identical === 1 ? '; the agents handed on exactly the stream the source QEMU sent' : ''})`;
      progress.phase(`[${runId}] FAILED: ${record.error}`);
      return record;
    }
    progress.phase(
      `[${runId}] completed in ${record.total_time_ms} ms, downtime ${record.downtime_ms} ` +
        `ms${record.app_downtime_ms !== undefined ? ` (app ${record.app_downtime_ms} ms)` : ''}, ` +
        `${(record.migration_link_bytes! / MiB).toFixed(1)} MiB on the migration link`,
    );
  } catch (err) {
    record.status = 'failed';
    const interruptedBy = o.interruptedBy?.();
    // the source VM must keep running whenever the migration did not complete
    if (srcVmRef) {
      const resumed = await resumeSourceIfOrphaned(srcVmRef, dstVmRef).catch(() => false);
      if (resumed) record.src_resumed = true;
      record.src_vm_status_after = await srcVmRef.status().catch(() => 'gone');
    }
    // a destination QEMU that exited after the stream usually means the guest died there: its exit
    // report (log, QMP events, console tail) replaces the plain log tail
    const dstGone = interruptedBy ? '' : await dstVmRef?.exitReport().catch(() => '');
    const qemuSays = [
      await srcVmRef?.stderrTail().catch(() => ''),
      dstGone ? '' : await dstVmRef?.stderrTail().catch(() => ''),
    ]
      .map((t, i) => (t ? `${i ? 'dst' : 'src'} QEMU: ${t.split('\n').join(' | ')}` : ''))
      .filter(Boolean)
      .join('; ');
    const detail = [await strategy.failureDetail?.(ctx).catch(() => ''), qemuSays, dstGone].filter(Boolean).join('; ');
    record.error =
      `${interruptedBy ? `runner interrupted by ${interruptedBy} during the run; ` : ''}` +
      `${errorMessage(err)}${detail ? ` [${detail}]` : ''}`;
    progress.phase(`[${runId}] FAILED: ${record.error}`);
  } finally {
    progress.clearStatus();
    await injected; // a fault injector finishes (e.g. restores the NAS) before teardown
    for (const r of probe.replies) dir.series('probe', r);
    await cleanupAll();
    for (const r of load?.rows ?? []) dir.series('web', seriesRow(r));
    o.onCleanup?.(undefined);
    await dir.close();
    await dir.writeRecord(record);
    await writeEnvironment().catch(() => undefined); // now with the QEMU version
  }
  return record;
}
