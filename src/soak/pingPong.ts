/**
 * `pofbench soak`: one guest migrated back and forth between src and dst (ping-pong), a fresh
 * incoming QEMU each hop, for a count or a time. Reports the success rate, how total time and
 * downtime drift from the first hops to the last, and what accumulates on the hosts (processes,
 * open files, free memory) — leaks show up as drift there.
 */
import { posix } from 'node:path';
import type { TestbedSpec } from '../testbed/spec.js';
import { guestKernelCmdline, type GuestImage } from '../image/build.js';
import type { SshHost } from '../hosts/ssh.js';
import { sh } from '../hosts/ssh.js';
import { RemoteVm, type VmConfig } from '../qemu/vm.js';
import type { MigrateInfo } from '../qemu/qmp.js';
import { GuestControl } from '../guest/control.js';
import { createStrategy } from '../strategy/index.js';
import type { StrategyContext } from '../strategy/types.js';
import { parseScenario } from '../scenario/load.js';
import { prepareNasDisk } from '../testbed/nasDisk.js';
import { capMigrationLink } from '../testbed/linkCap.js';
import type { TestbedHosts } from '../testbed/hosts.js';
import { RunDir } from '../sinks/resultStore.js';
import { waitFor, FatalError } from '../util/exec.js';
import { errorMessage } from '../util/errors.js';

export interface HostSnapshot {
  processes: number;
  open_files: number;
  mem_available_kb: number;
}

export interface Hop {
  hop: number;
  from: string;
  to: string;
  status: 'completed' | 'failed';
  error?: string;
  total_time_ms?: number;
  downtime_ms?: number;
  wall_time_ms?: number;
  guest_answers?: boolean;
  pof_ref_pages?: number;
  hosts: Record<string, HostSnapshot>;
}

export interface SoakSummary {
  strategy: string;
  hops: number;
  completed: number;
  success_rate: number;
  /** Medians of the first and last (up to) 10 completed hops; absent when none completed. */
  total_time_ms?: { first: number; last: number; drift_pct: number };
  downtime_ms?: { first: number; last: number; drift_pct: number };
  host_drift: Record<string, { processes: number; open_files: number; mem_available_mb: number }>;
  out: string;
}

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

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length ? (s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2) : NaN;
};

async function snapshot(host: SshHost): Promise<HostSnapshot> {
  const r = await host.exec(
    "ls -d /proc/[0-9]* | wc -l; cut -f1 /proc/sys/fs/file-nr; awk '/^MemAvailable:/{print $2}' /proc/meminfo",
  );
  const [p, f, m] = r.stdout.trim().split('\n').map(Number);
  return { processes: p, open_files: f, mem_available_kb: m };
}

/** The testbed with src and dst swapped: hop k+1 goes the other way. */
const swapped = (t: TestbedSpec): TestbedSpec => ({ ...t, hosts: { ...t.hosts, src: t.hosts.dst, dst: t.hosts.src } });

export async function runSoak(o: SoakOptions): Promise<{ hops: Hop[]; summary: SoakSummary }> {
  const log = o.log ?? (() => undefined);
  const id = `${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')}-soak-${o.strategy}`;
  const dir = await RunDir.create(o.outDir, id);
  const scenario = parseScenario(
    `name: soak\nguest: { memory_mib: ${o.memoryMib} }\nworkload: { type: idle, warmup_s: 0 }\nmigration: { ` +
      `link_cap_mbit: ${o.linkCapMbit}, timeout_s: 120 }\n`,
    'soak.yaml',
  );
  const strategy = createStrategy(o.strategy);
  strategy.validate(scenario);
  const base = posix.join(o.testbed.hostRunDir, id);
  const hopDir = (k: number) => posix.join(base, `h${k}`);
  const ctxFor = (k: number): StrategyContext => {
    const tb = k % 2 === 0 ? o.testbed : swapped(o.testbed);
    const [src, dst] = k % 2 === 0 ? [o.hosts.src, o.hosts.dst] : [o.hosts.dst, o.hosts.src];
    // runId names the NAS disk: one for all hops
    return { scenario, testbed: tb, src, dst, runId: id, hostRunDir: hopDir(k) };
  };
  const hops: Hop[] = [];
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
    memoryMib: o.memoryMib,
    vcpus: 1,
    kernel: o.image.kernel,
    initrd: o.image.initrd,
    append: guestKernelCmdline({ ip: o.testbed.vm.guestCidr }),
    nfsDisk: { server: o.testbed.nas.server, path: disk.nfsPath },
    nic: { tap: o.testbed.vm.tap, mac: o.testbed.vm.mac },
  };
  let vm: RemoteVm | undefined;
  const t0 = Date.now();
  try {
    vm = await RemoteVm.start(o.hosts.src, { ...vmBase, ...strategy.srcVmExtras?.(ctxFor(0)), id: 'vm' }, hopDir(0));
    const ctl = new GuestControl(await vm.openControl());
    await ctl.waitReady(60000).finally(() => ctl.close());
    log(`guest booted on ${o.hosts.src.name}; ${o.count} hops (${o.strategy})`);
    for (let k = 0; k < o.count; k++) {
      if (o.maxSeconds && Date.now() - t0 > o.maxSeconds * 1000) break;
      const ctx = ctxFor(k);
      const hop: Hop = { hop: k, from: ctx.src.name, to: ctx.dst.name, status: 'failed', hosts: {} };
      let next: RemoteVm | undefined;
      try {
        const path = await strategy.prepare(ctx);
        next = await RemoteVm.start(
          ctx.dst,
          { ...vmBase, ...strategy.srcVmExtras?.(ctxFor(k + 1)), id: 'vm', incoming: true },
          hopDir(k + 1),
        );
        const caps = [{ capability: 'events', state: true }];
        for (const v of [vm, next]) await v.qmp.execute('migrate-set-capabilities', { capabilities: caps });
        await vm.qmp.execute('migrate-set-parameters', {
          'max-bandwidth': Math.round((scenario.migration.max_bandwidth_mbit * 1e6) / 8),
          'downtime-limit': scenario.migration.downtime_limit_ms,
        });
        await next.qmp.execute('migrate-incoming', { uri: path.incomingUri });
        // pof: the source agent's index has caught up and its socket is there (it warms up first)
        if (strategy.beforeMigrate) await strategy.beforeMigrate(ctx, log);
        const tm = Date.now();
        await vm.qmp.execute('migrate', { uri: path.migrateUri });
        const info = await waitFor(
          'the migration to end',
          scenario.migration.timeout_s * 1000,
          async () => {
            const i = await vm!.qmp.execute<MigrateInfo>('query-migrate');
            if (i.status === 'failed' || i.status === 'cancelled')
              throw new FatalError(`migration ${i.status}: ${i['error-desc'] ?? 'no reason given'}`);
            return i.status === 'completed' && (i['total-time'] ?? 0) > 0 ? i : undefined;
          },
          50,
        );
        await waitFor('the destination to run the guest', 60000, async () => (await next!.status()) === 'running', 20);
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
      if (hop.status === 'completed' && next) {
        await vm.stop();
        vm = next;
      } else {
        await next?.stop();
        if (!(await vm.alive())) {
          hops.push(hop);
          throw new Error(`hop ${k}: the source VM is gone after a failed migration (${hop.error})`);
        }
        // stock/pof leave the source running after a failure: continue from it (state back to running)
        if ((await vm.status()) !== 'running') await vm.qmp.execute('cont').catch(() => undefined);
      }
      // the old VM's hop directory (its trace log) goes once the guest has left it
      if (hop.status === 'completed') await ctx.src.exec(`rm -rf ${sh([hopDir(k)])}`, { allowFail: true });
      for (const [name, h] of [
        ['src', o.hosts.src],
        ['dst', o.hosts.dst],
      ] as const)
        hop.hosts[name] = await snapshot(h);
      hops.push(hop);
      dir.series('soak', hop);
      log(
        `hop ${k} ${hop.from} -> ${hop.to}: ` +
          `${hop.status}` +
          (hop.status === 'completed'
            ? ` total ${hop.total_time_ms} ms, downtime ${hop.downtime_ms} ms`
            : `: ${hop.error}`),
      );
      // a failed hop leaves the guest where it was: the next hop must go from there again
      if (hop.status !== 'completed') k++;
    }
  } finally {
    await vm?.stop();
    for (const h of [o.hosts.src, o.hosts.dst]) await h.exec(`rm -rf ${sh([base])}`, { allowFail: true });
    await uncap();
    await disk.remove();
    await dir.close();
  }
  const done = hops.filter((h) => h.status === 'completed');
  const n = Math.max(1, Math.min(10, Math.floor(done.length / 2)));
  const drift = (f: (h: Hop) => number | undefined) => {
    const first = median(
      done
        .slice(0, n)
        .map(f)
        .filter((v): v is number => v !== undefined),
    );
    const last = median(
      done
        .slice(-n)
        .map(f)
        .filter((v): v is number => v !== undefined),
    );
    return Number.isFinite(first) && Number.isFinite(last)
      ? { first, last, drift_pct: Number((100 * (last / first - 1)).toFixed(1)) }
      : undefined;
  };
  const hostDrift: SoakSummary['host_drift'] = {};
  if (hops.length) {
    for (const name of ['src', 'dst']) {
      const a = hops[0].hosts[name];
      const b = hops[hops.length - 1].hosts[name];
      if (a && b)
        hostDrift[name] = {
          processes: b.processes - a.processes,
          open_files: b.open_files - a.open_files,
          mem_available_mb: Math.round((b.mem_available_kb - a.mem_available_kb) / 1024),
        };
    }
  }
  const summary: SoakSummary = {
    strategy: o.strategy,
    hops: hops.length,
    completed: done.length,
    success_rate: hops.length ? done.length / hops.length : 0,
    total_time_ms: drift((h) => h.total_time_ms),
    downtime_ms: drift((h) => h.downtime_ms),
    host_drift: hostDrift,
    out: dir.path,
  };
  await dir.writeText('soak.json', `${JSON.stringify({ summary, hops }, null, 2)}\n`);
  return { hops, summary };
}
