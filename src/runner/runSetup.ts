/**
 * The phases of a run before `migrate`: the NAS disk and link cap, QEMU on both hosts, the workload
 * and its warm-up, the controller load and the host samplers. Each registers its own undo step.
 */
import { destinationRamOf, guestAddress, sourceRamOf } from '../testbed/spec.js';
import { prepareNasDisk } from '../testbed/nasDisk.js';
import { capMigrationLink } from '../testbed/linkCap.js';
import { RemoteVm, type VmConfig } from '../qemu/vm.js';
import { usesDirtyLimit } from '../qemu/migrationSettings.js';
import { GuestControl } from '../guest/control.js';
import { guestKernelCmdline } from '../image/build.js';
import { WebLoad } from '../metrics/webLoad.js';
import { readHostCounters, sumBytes, type HostCounters } from '../metrics/hostCounters.js';
import { type HostSamplerHandle, startHostSampler } from '../metrics/hostSampler.js';
import { sleep, waitFor, FatalError } from '../util/exec.js';
import { errorMessage } from '../util/errors.js';
import type { RunState } from './runState.js';

/** 1-2. The guest's data disk (a fresh copy of the image's on the NAS, per run) and the migration link cap. */
export async function prepareTestbed(run: RunState): Promise<void> {
  const { hosts, testbed, image, scenario, progress } = run.o;
  progress.phase(`[${run.runId}] preparing NAS disk`);
  const disk = await prepareNasDisk(hosts.nas, testbed, image, run.runId);
  run.cleanups.push(disk.remove);
  run.nfsPath = disk.nfsPath;
  // tc on both hosts' migration NICs
  run.cleanups.push(
    await capMigrationLink(
      [
        [hosts.src, testbed.hosts.src.nics.migration],
        [hosts.dst, testbed.hosts.dst.nics.migration],
      ],
      scenario.migration.link_cap_mbit,
    ),
  );
}

/** Both VMs' configuration but their id and role. */
function vmBase(run: RunState): Omit<VmConfig, 'id'> {
  const { scenario, testbed, image } = run.o;
  return {
    accel: testbed.accel,
    dirtyRing: usesDirtyLimit(scenario.migration),
    memoryMib: scenario.guest.memory_mib,
    vcpus: scenario.guest.vcpus,
    kernel: image.kernel,
    initrd: image.initrd,
    append: guestKernelCmdline({ ip: testbed.vm.guestCidr }),
    nfsDisk: { server: testbed.nas.server, path: run.nfsPath! },
    // --verify-ram runs without a NIC: NIC DMA around switchover can change a page even under a
    // stock migration (seen here: 1 page of 65536, virtio-net + tap), which would blur the check
    nic: run.o.verifyRam ? undefined : { tap: testbed.vm.tap, mac: testbed.vm.mac },
  };
}

/** Starts a VM whose console log is kept and which is stopped at teardown. */
async function startVm(run: RunState, role: 'src' | 'dst', cfg: VmConfig): Promise<RemoteVm> {
  const vm = await RemoteVm.start(run.o.hosts[role], cfg, run.hostRunDir);
  run.cleanups.push(async () => {
    // a full results disk must not keep the VM from being stopped
    await run.dir.writeText(`console-${role}.log`, await vm.consoleTail(400).catch(() => '')).catch(() => undefined);
    await vm.stop();
  });
  return vm;
}

/** 3. QEMU on src, the guest booted and (with a NIC) answering the controller's probe. */
export async function bootSource(run: RunState): Promise<void> {
  const { scenario, strategy, hosts, testbed, progress } = run.o;
  progress.phase(
    `[${run.runId}] booting guest on ${hosts.src.name} (${scenario.guest.memory_mib} MiB, ${testbed.accel})`,
  );
  const bootT0 = Date.now();
  const srcVm = await startVm(run, 'src', {
    ...vmBase(run),
    ...strategy.srcVmExtras?.(run.ctx),
    id: 'src',
    preallocRam: sourceRamOf(testbed) === 'prealloc',
  });
  run.srcVm = srcVm;
  run.m.along.qemu_version = srcVm.qmp.versionString;
  const srcCtl = new GuestControl(await srcVm.openControl());
  run.srcCtl = srcCtl;
  run.cleanups.push(async () => srcCtl.close());
  try {
    await srcCtl.waitReady(scenario.guest.boot_timeout_s * 1000);
  } catch (err) {
    throw new Error(
      `guest did not boot on ${hosts.src.name} within ${scenario.guest.boot_timeout_s} s (${errorMessage(err)}); ` +
        `console: ${(await srcVm.consoleTail(5)).trim().split('\n').join(' | ')}`,
    );
  }
  run.m.along.boot_ms = Date.now() - bootT0;
  if (!run.o.verifyRam) {
    run.probe.start();
    run.cleanups.push(() => run.probe.stop());
    await run.probe.waitForReply(Date.now(), 15000).catch((err) => {
      throw new Error(`vm network: ${errorMessage(err)} (controller cannot reach the guest before migration)`);
    });
  }
}

/** The strategy's migration path, then QEMU on dst waiting for the stream (paused after it under --verify-ram). */
export async function startDestination(run: RunState): Promise<void> {
  const { strategy } = run.o;
  // registered first: a prepare that fails half-way (one agent started, the other not) is cleaned up too
  run.cleanups.push(() => strategy.cleanup(run.ctx));
  run.path = await strategy.prepare(run.ctx);
  run.dstVm = await startVm(run, 'dst', {
    ...vmBase(run),
    id: 'dst',
    incoming: true,
    startPaused: run.o.verifyRam,
    preallocRam: destinationRamOf(run.o.testbed) === 'prealloc',
  });
}

/**
 * 4. The workload started in the guest and warmed up to `ready`; returns the source's storage NIC
 * counters from right before it started (the warm-up's storage traffic is measured from there).
 */
export async function startWorkload(run: RunState): Promise<HostCounters> {
  const { scenario, image, progress, hosts, testbed } = run.o;
  const srcCtl = run.srcCtl!;
  progress.phase(`[${run.runId}] workload ${scenario.workload.type}: starting`);
  const stoBefore = await readHostCounters(hosts.src, [testbed.hosts.src.nics.storage!]);
  const wlT0 = Date.now();
  await srcCtl.exec(run.workload.startScript(image), { timeoutMs: 30000 });
  await waitFor(
    `workload ${scenario.workload.type} to become ready`,
    scenario.workload.ready_timeout_s * 1000,
    async () => {
      const r = await srcCtl.exec(run.workload.readyScript(), { timeoutMs: 10000 });
      const state = r.output.trim();
      if (state.startsWith('failed')) throw new FatalError(`workload ${scenario.workload.type} ${state}`);
      progress.status(`warming up: ${state} (${((Date.now() - wlT0) / 1000).toFixed(0)} s)`);
      return state === 'ready';
    },
    500,
  );
  const readyMs = Date.now() - wlT0;
  run.m.along.workload_ready_ms = readyMs;
  progress.phase(
    `[${run.runId}] workload ready after ${(readyMs / 1000).toFixed(1)} s; warm-up ${scenario.workload.warmup_s} s`,
  );
  return stoBefore;
}

/** 4b. Controller-side load (web): runs through warm-up and migration until after the guest answers on dst. */
export async function startControllerLoad(run: RunState): Promise<void> {
  const { scenario, testbed, image } = run.o;
  const loadSpec = run.workload.controllerLoad?.(image);
  if (!loadSpec) return;
  const webLoad = new WebLoad(guestAddress(testbed), loadSpec, testbed.controllerNetns);
  run.load = webLoad;
  webLoad.start(scenario.workload.warmup_s + scenario.migration.timeout_s + 180);
  run.cleanups.push(() => webLoad.stop());
  await webLoad.waitForOk(webLoad.startedAt, 20000).catch((err) => {
    throw new Error(`web load: ${errorMessage(err)} (controller cannot load the guest's server before migration)`);
  });
}

/** The NICs whose counters a run reads on a host: migration and storage. */
export const hostNics = (n: { migration?: string; storage?: string }) => [n.migration!, n.storage!];

/**
 * Host samplers (NIC counters, QEMU CPU, series host-src/host-dst) start before the warm-up ends:
 * their start-up must not load the hosts during migrate.
 */
export async function startHostSamplers(run: RunState): Promise<void> {
  const { hosts, testbed } = run.o;
  const samplers: HostSamplerHandle[] = [];
  run.cleanups.push(async () => {
    await Promise.all(samplers.map((s) => s.stop()));
  });
  for (const role of ['src', 'dst'] as const) {
    const vm = role === 'src' ? run.srcVm! : run.dstVm!;
    const onRow = (r: unknown) => {
      run.samplerPids[role] ??= (r as { pid?: number }).pid;
      run.dir.series(`host-${role}`, r);
    };
    samplers.push(
      await startHostSampler(hosts[role], testbed.hostPofbench, hostNics(testbed.hosts[role].nics), vm.pid, onRow),
    );
  }
}

/** The warm-up (storage link bytes during it recorded), then the strategy's own preparation (pof: the index). */
export async function warmUp(run: RunState, stoBefore: HostCounters): Promise<void> {
  const { scenario, strategy, hosts, testbed, progress } = run.o;
  const storage = testbed.hosts.src.nics.storage!;
  await sleep(scenario.workload.warmup_s * 1000);
  const stoAfter = await readHostCounters(hosts.src, [storage]);
  run.m.along.warmup_storage_link_bytes = sumBytes(stoAfter.nic[storage]) - sumBytes(stoBefore.nic[storage]);
  if (strategy.beforeMigrate) {
    Object.assign(run.m.along, await strategy.beforeMigrate(run.ctx, (l) => progress.status(l)));
  }
}
