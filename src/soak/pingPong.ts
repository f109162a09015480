/**
 * `pofbench soak`: one guest migrated back and forth between src and dst (ping-pong), a fresh
 * incoming QEMU each hop, for a count or a time. Reports the success rate, how total time and
 * downtime drift from the first hops to the last, and what accumulates on the hosts (processes,
 * open files, free memory) — leaks show up as drift there.
 */
import { posix } from 'node:path';
import { destinationRamOf, sourceRamOf, type TestbedSpec } from '../testbed/spec.js';
import type { TestbedHosts } from '../testbed/hosts.js';
import { prepareNasDisk } from '../testbed/nasDisk.js';
import { capMigrationLink } from '../testbed/linkCap.js';
import { guestKernelCmdline, type GuestImage } from '../image/build.js';
import type { SshHost } from '../hosts/ssh.js';
import { sh } from '../hosts/ssh.js';
import { RemoteVm, type VmConfig } from '../qemu/vm.js';
import {
  assertCompleted,
  awaitMigrationTimes,
  configureMigration,
  sampleUntilEnded,
  startIncoming,
  startMigration,
} from '../qemu/migration.js';
import { GuestControl } from '../guest/control.js';
import { createStrategy } from '../strategy/index.js';
import type { MigrationStrategy, StrategyContext } from '../strategy/types.js';
import { parseScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/types.js';
import { RunDir } from '../results/runDir.js';
import { waitFor } from '../util/exec.js';
import { errorMessage } from '../util/errors.js';
import { summarizeSoak, type Hop, type HostSnapshot, type SoakSummary } from './summary.js';

export type { Hop, HostSnapshot, SoakSummary } from './summary.js';

export interface SoakOptions {
  testbed: TestbedSpec;
  hosts: TestbedHosts;
  image: GuestImage;
  strategy: 'stock' | 'pof';
  count: number;
  /** Stop starting new hops after this long (seconds); 0 = no limit. */
  maxSeconds?: number;
  memoryMib: number;
  linkCapMbit: number;
  outDir: string;
  log?: (line: string) => void;
}

/** What every hop of one soak shares. */
interface Soak {
  o: SoakOptions;
  id: string;
  dir: RunDir;
  scenario: Scenario;
  strategy: MigrationStrategy;
  log: (line: string) => void;
  /** the soak's directory on the hosts; hop k's VM lives in `h<k>` under it */
  base: string;
  vmBase: Omit<VmConfig, 'id'>;
}

async function snapshot(host: SshHost): Promise<HostSnapshot> {
  const r = await host.exec(
    "ls -d /proc/[0-9]* | wc -l; cut -f1 /proc/sys/fs/file-nr; awk '/^MemAvailable:/{print $2}' /proc/meminfo",
  );
  const [p, f, m] = r.stdout.trim().split('\n').map(Number);
  return { processes: p, open_files: f, mem_available_kb: m };
}

/** The testbed with src and dst swapped: hop k+1 goes the other way. */
const swapped = (t: TestbedSpec): TestbedSpec => ({ ...t, hosts: { ...t.hosts, src: t.hosts.dst, dst: t.hosts.src } });

const hopDir = (s: Soak, k: number) => posix.join(s.base, `h${k}`);

/** Hop k's strategy context: even hops go src -> dst, odd ones back. */
function ctxFor(s: Soak, k: number): StrategyContext {
  const tb = k % 2 === 0 ? s.o.testbed : swapped(s.o.testbed);
  const [src, dst] = k % 2 === 0 ? [s.o.hosts.src, s.o.hosts.dst] : [s.o.hosts.dst, s.o.hosts.src];
  // runId names the NAS disk: one for all hops
  return { scenario: s.scenario, testbed: tb, src, dst, runId: s.id, hostRunDir: hopDir(s, k) };
}

/** One migration of the guest from `vm` to a fresh incoming QEMU; `next` is that QEMU, if it started. */
async function migrateHop(s: Soak, k: number, vm: RemoteVm): Promise<{ hop: Hop; next?: RemoteVm }> {
  const { strategy, scenario } = s;
  const ctx = ctxFor(s, k);
  const hop: Hop = { hop: k, from: ctx.src.name, to: ctx.dst.name, status: 'failed', hosts: {} };
  let next: RemoteVm | undefined;
  try {
    const path = await strategy.prepare(ctx);
    const nextCfg = { ...s.vmBase, ...strategy.srcVmExtras?.(ctxFor(s, k + 1)), id: 'vm', incoming: true };
    next = await RemoteVm.start(ctx.dst, nextCfg, hopDir(s, k + 1));
    await configureMigration(vm.qmp, next.qmp, {
      capabilities: [{ capability: 'events', state: true }],
      sharedParameters: {},
      sourceParameters: {
        'max-bandwidth': Math.round((scenario.migration.max_bandwidth_mbit * 1e6) / 8),
        'downtime-limit': scenario.migration.downtime_limit_ms,
      },
    });
    await startIncoming(next.qmp, path.incomingUri);
    // pof: the source agent's index has caught up and its socket is there (it warms up first)
    if (strategy.beforeMigrate) await strategy.beforeMigrate(ctx, s.log);
    const tm = await startMigration(vm.qmp, path.migrateUri);
    const timeoutMs = scenario.migration.timeout_s * 1000;
    const deadline = {
      at: tm + timeoutMs,
      error: () => `timed out after ${timeoutMs} ms waiting for the migration to end; cancelled`,
    };
    assertCompleted((await sampleUntilEnded(vm.qmp, { deadline })).info);
    const info = await awaitMigrationTimes(vm.qmp);
    const dst = next;
    await waitFor('the destination to run the guest', 60000, async () => (await dst.status()) === 'running', 20);
    hop.wall_time_ms = Date.now() - tm;
    hop.total_time_ms = info['total-time'];
    hop.downtime_ms = info.downtime;
    const c = new GuestControl(await next.openControl());
    hop.guest_answers = (await c.exec('cat /proc/uptime', { timeoutMs: 20000 }).finally(() => c.close())).rc === 0;
    const extra = await strategy.collect(ctx);
    if (typeof extra.pof_ref_pages === 'number') hop.pof_ref_pages = extra.pof_ref_pages;
    hop.status = hop.guest_answers ? 'completed' : 'failed';
    if (!hop.guest_answers) hop.error = 'the guest did not answer on the destination';
  } catch (err) {
    const detail = [
      strategy.failureDetail ? await strategy.failureDetail(ctx).catch(() => '') : '',
      await next?.exitReport().catch(() => ''),
    ];
    hop.error = `${errorMessage(err)}${detail.some(Boolean) ? ` [${detail.filter(Boolean).join('; ')}]` : ''}`;
  } finally {
    await strategy.cleanup(ctx);
  }
  return { hop, next };
}

/**
 * After a hop: the guest runs on `next` (the old VM goes), or, after a failure,
 * still on `vm` (resumed there; the soak ends when that VM is gone). Returns the VM that has the guest.
 */
async function settleHop(hop: Hop, vm: RemoteVm, next: RemoteVm | undefined): Promise<RemoteVm> {
  if (hop.status === 'completed' && next) {
    await vm.stop();
    return next;
  }
  await next?.stop();
  if (!(await vm.alive()))
    throw new Error(`hop ${hop.hop}: the source VM is gone after a failed migration (${hop.error})`);
  // stock/pof leave the source running after a failure: continue from it (state back to running)
  if ((await vm.status()) !== 'running') await vm.qmp.execute('cont').catch(() => undefined);
  return vm;
}

/** Records a hop: the hosts' state after it, series soak, one log line. */
async function recordHop(s: Soak, hop: Hop): Promise<void> {
  for (const [name, h] of [
    ['src', s.o.hosts.src],
    ['dst', s.o.hosts.dst],
  ] as const)
    hop.hosts[name] = await snapshot(h);
  s.dir.series('soak', hop);
  s.log(
    `hop ${hop.hop} ${hop.from} -> ${hop.to}: ${hop.status}` +
      (hop.status === 'completed'
        ? ` total ${hop.total_time_ms} ms, downtime ${hop.downtime_ms} ms`
        : `: ${hop.error}`),
  );
}

/** Boots the guest on src, then hops until the count or the time is reached; pushes each hop as it ends. */
async function pingPong(s: Soak, hops: Hop[]): Promise<RemoteVm | undefined> {
  const { o, strategy } = s;
  const t0 = Date.now();
  let vm = await RemoteVm.start(
    o.hosts.src,
    {
      ...s.vmBase,
      ...strategy.srcVmExtras?.(ctxFor(s, 0)),
      id: 'vm',
      preallocRam: sourceRamOf(o.testbed) === 'prealloc',
    },
    hopDir(s, 0),
  );
  try {
    const ctl = new GuestControl(await vm.openControl());
    await ctl.waitReady(60000).finally(() => ctl.close());
    s.log(`guest booted on ${o.hosts.src.name}; ${o.count} hops (${o.strategy})`);
    for (let k = 0; k < o.count; k++) {
      if (o.maxSeconds && Date.now() - t0 > o.maxSeconds * 1000) break;
      const { hop, next } = await migrateHop(s, k, vm);
      try {
        vm = await settleHop(hop, vm, next);
      } catch (err) {
        hops.push(hop);
        throw err;
      }
      // the old VM's hop directory (its trace log) goes once the guest has left it
      if (hop.status === 'completed') await ctxFor(s, k).src.exec(`rm -rf ${sh([hopDir(s, k)])}`, { allowFail: true });
      await recordHop(s, hop);
      hops.push(hop);
      // a failed hop leaves the guest where it was: the next hop must go from there again
      if (hop.status !== 'completed') k++;
    }
  } catch (err) {
    await vm.stop();
    throw err;
  }
  return vm;
}

export async function runSoak(o: SoakOptions): Promise<{ hops: Hop[]; summary: SoakSummary }> {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
  const id = `${stamp}-soak-${o.strategy}`;
  const dir = await RunDir.create(o.outDir, id);
  const scenario = parseScenario(
    `name: soak\nguest: { memory_mib: ${o.memoryMib} }\nworkload: { type: idle, warmup_s: 0 }\nmigration: { ` +
      `link_cap_mbit: ${o.linkCapMbit}, timeout_s: 120 }\n`,
    'soak.yaml',
  );
  const strategy = createStrategy(o.strategy);
  strategy.validate(scenario);
  const disk = await prepareNasDisk(o.hosts.nas, o.testbed, o.image, id);
  const uncap = await capMigrationLink(
    [
      [o.hosts.src, o.testbed.hosts.src.nics.migration],
      [o.hosts.dst, o.testbed.hosts.dst.nics.migration],
    ],
    o.linkCapMbit,
  );
  const vmBase: Omit<VmConfig, 'id'> = {
    accel: o.testbed.accel,
    // every soak VM but the first is a destination, then (all but the last) the next hop's source:
    // preallocated if either setting says so; the first VM, a source only, follows sourceRam (pingPong)
    preallocRam: sourceRamOf(o.testbed) === 'prealloc' || destinationRamOf(o.testbed) === 'prealloc',
    memoryMib: o.memoryMib,
    vcpus: 1,
    kernel: o.image.kernel,
    initrd: o.image.initrd,
    append: guestKernelCmdline({ ip: o.testbed.vm.guestCidr }),
    nfsDisk: { server: o.testbed.nas.server, path: disk.nfsPath },
    nic: { tap: o.testbed.vm.tap, mac: o.testbed.vm.mac },
  };
  const base = posix.join(o.testbed.hostRunDir, id);
  const soak: Soak = { o, id, dir, scenario, strategy, log: o.log ?? (() => undefined), base, vmBase };
  const hops: Hop[] = [];
  try {
    const vm = await pingPong(soak, hops);
    await vm?.stop();
  } finally {
    for (const h of [o.hosts.src, o.hosts.dst]) await h.exec(`rm -rf ${sh([base])}`, { allowFail: true });
    await uncap().catch((err: unknown) => soak.log(`clean-up: ${errorMessage(err)}`));
    await disk.remove();
    await dir.close();
  }
  const summary = summarizeSoak(o.strategy, hops, dir.path);
  await dir.writeText('soak.json', `${JSON.stringify({ summary, hops }, null, 2)}\n`);
  return { hops, summary };
}
