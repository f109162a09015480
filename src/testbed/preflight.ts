import { posix } from 'node:path';
import { SshHost, sh } from '../hosts/ssh.js';
import { UserError, errorMessage } from '../util/errors.js';
import type { HostRole, TestbedSpec } from './spec.js';
import { qemuVersionProblems } from '../qemu/version.js';

/** What a run needs from the testbed, beyond the testbed itself. */
export interface PreflightNeeds {
  /**
   * The guest image the runs boot (kernel/initrd paths as on the controller; data disk on the NAS under images/<id>/).
   */
  image: { id: string; kernel: string; initrd: string };
  /** Largest guest memory of the runs. */
  memoryMib: number;
  /** Headroom over the guest memory a host must have available (QEMU, agents, page cache). */
  headroomMib?: number;
  /** Largest clock offset between the controller and a host (series are merged by timestamp). */
  maxClockOffsetMs?: number;
  connectTimeoutMs?: number;
}

const MiB = 1024;

async function ok(host: SshHost, cmd: string): Promise<boolean> {
  return (await host.exec(cmd, { allowFail: true, timeoutMs: 20000 })).code === 0;
}

/**
 * The clock line of a host, or undefined when its clock is within `maxOffsetMs` of the controller's. The
 * host read its clock somewhere inside the round trip, so the offset is known to ± half of it: only a host
 * whose clock is off by more than the limit even at the near end of that range fails (a loaded controller's
 * slow round trips do not make a synchronised clock look wrong).
 */
export function clockProblem(clock: { offsetMs: number; rttMs: number }, maxOffsetMs: number): string | undefined {
  const uncertainty = clock.rttMs / 2;
  if (Math.abs(clock.offsetMs) - uncertainty <= maxOffsetMs) return undefined;
  return (
    `clock is ${Math.round(clock.offsetMs)} ms (± ${Math.round(uncertainty)}) off the controller's (limit ` +
    `${maxOffsetMs} ms; round trip ${clock.rttMs} ms) — run chrony/NTP on every machine`
  );
}

/** Controller-vs-host clock offset (ms), from the sample with the shortest round trip. */
async function clockOffset(host: SshHost): Promise<{ offsetMs: number; rttMs: number }> {
  let best: { offsetMs: number; rttMs: number } | undefined;
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    const remote = Number((await host.exec('date +%s%3N', { timeoutMs: 10000 })).stdout.trim());
    const t1 = Date.now();
    const s = { offsetMs: remote - (t0 + t1) / 2, rttMs: t1 - t0 };
    if (!best || s.rttMs < best.rttMs) best = s;
  }
  return best!;
}

async function checkKvmHost(
  host: SshHost,
  role: 'src' | 'dst',
  tb: TestbedSpec,
  need: PreflightNeeds,
  fail: (l: string) => void,
): Promise<string | undefined> {
  const spec = tb.hosts[role];
  const qemu = await host.exec('qemu-system-x86_64 --version', { allowFail: true, timeoutMs: 20000 });
  const version = /version (\S+)/.exec(qemu.stdout)?.[1];
  if (qemu.code !== 0 || !version)
    fail(
      `QEMU is not installed or does not run (qemu-system-x86_64 --version: ` +
        `${(qemu.stderr || qemu.stdout).trim().split('\n')[0] || `exit ${qemu.code}`}) — apply the kvm_host role`,
    );
  if (tb.accel === 'kvm' && !(await ok(host, 'test -c /dev/kvm && test -r /dev/kvm && test -w /dev/kvm'))) {
    fail(
      '/dev/kvm is missing or not usable (accel kvm) — enable virtualization in the firmware and load ' +
        'kvm_intel/kvm_amd, or set pofbench_accel: tcg',
    );
  }
  for (const [net, nic] of Object.entries(spec.nics)) {
    if (nic && !(await ok(host, `test -e ${sh([`/sys/class/net/${nic}`])}`))) fail(`${net} NIC ${nic} does not exist`);
  }
  if (!(await ok(host, `test -e ${sh([`/sys/class/net/${tb.vm.tap}`])}`)))
    fail(`guest tap ${tb.vm.tap} does not exist (kvm_host role, kvm_host_vm_bridge)`);
  for (const f of [need.image.kernel, need.image.initrd]) {
    if (!(await ok(host, `test -r ${sh([f])}`)))
      fail(`guest file ${f} is missing (guest_image role; hosts need it at the controller's path)`);
  }
  const cli = tb.hostPofbench;
  if (!(await ok(host, `${sh(cli)} --version >/dev/null 2>&1`)))
    fail(`pofbench does not run here (${cli.join(' ')}) — apply the pofbench role`);
  const mount = tb.nas.hostMountPath;
  if (mount) {
    if (!(await ok(host, `mountpoint -q ${sh([mount])}`)))
      fail(`NAS export is not mounted at ${mount} (nfs_client role)`);
    else {
      const img = posix.join(mount, 'images', need.image.id, 'data.raw');
      if (!(await ok(host, `test -r ${sh([img])}`)))
        fail(`NAS image ${img} is not visible (guest_image role copies it to the NAS)`);
    }
  }
  const avail = Number(
    /MemAvailable:\s+(\d+)/.exec((await host.exec('cat /proc/meminfo', { timeoutMs: 10000 })).stdout)?.[1],
  );
  const needMib = need.memoryMib + (need.headroomMib ?? 256);
  if (!(avail / MiB >= needMib))
    fail(
      `only ${Math.floor(avail / MiB)} MiB memory available; a ${need.memoryMib} MiB guest needs ${needMib} MiB with ` +
        `headroom`,
    );
  return version;
}

/**
 * Checks a testbed before a run: every host reachable over SSH (host key verified), QEMU on src
 * and dst (the same version, 8.2 or newer), /dev/kvm when accel is kvm, NICs and the guest tap, guest files and the
 * host-side CLI, the NAS export mounted with the image visible at the same path on both hosts (lab),
 * the guest disk on the NAS, clock offsets, free memory. Returns one line per failure, each naming
 * its host; [] when the testbed is ready.
 */
export async function preflight(tb: TestbedSpec, need: PreflightNeeds): Promise<string[]> {
  const failures: string[] = [];
  const tag = tb.pair !== undefined ? `pair ${tb.pair}: ` : '';
  const versions: Partial<Record<HostRole, string>> = {};
  const maxOffset = need.maxClockOffsetMs ?? 500;
  await Promise.all(
    (['src', 'dst', 'nas'] as const).map(async (role) => {
      const spec = tb.hosts[role];
      const who = `${role} ${spec.name} (${spec.ssh.host}:${spec.ssh.port})`;
      const fail = (l: string) => failures.push(`${tag}${who}: ${l}`);
      let host: SshHost;
      try {
        host = await SshHost.connect(spec.name, spec.ssh, {
          controllerNetns: tb.controllerNetns,
          timeoutMs: need.connectTimeoutMs ?? 10000,
        });
      } catch (err) {
        // the ssh error already names the host
        failures.push(`${tag}${errorMessage(err)}`);
        return;
      }
      try {
        if (role === 'nas') {
          const disk = posix.join(tb.nas.localPath, 'images', need.image.id, 'data.raw');
          if (!(await ok(host, `test -d ${sh([tb.nas.localPath])}`)))
            fail(`NAS directory ${tb.nas.localPath} does not exist (nas role)`);
          else if (tb.kind === 'lab' && !(await ok(host, `test -r ${sh([disk])}`)))
            fail(`guest disk ${disk} is missing (guest_image role)`);
        } else {
          versions[role] = await checkKvmHost(host, role, tb, need, fail);
        }
        const clock = clockProblem(await clockOffset(host), maxOffset);
        if (clock) fail(clock);
      } catch (err) {
        fail(errorMessage(err));
      } finally {
        host.close();
      }
    }),
  );
  const qemu = qemuVersionProblems(
    { name: tb.hosts.src.name, version: versions.src },
    { name: tb.hosts.dst.name, version: versions.dst },
  );
  failures.push(...qemu.map((l) => `${tag}${l}`));
  return failures.sort();
}

/** Runs the preflight on every pair; throws one UserError listing every failure, one per line. */
export async function assertPreflight(
  testbeds: TestbedSpec[],
  need: PreflightNeeds,
  log: (l: string) => void = () => undefined,
): Promise<void> {
  const t0 = Date.now();
  const failures = (await Promise.all(testbeds.map((tb) => preflight(tb, need)))).flat();
  if (failures.length) {
    throw new UserError(
      `preflight found ${failures.length} problem(s):\n  ${failures.join('\n  ')}`,
      'fix these (the ansible/ roles provision them) or pass --skip-preflight',
    );
  }
  log(`preflight: ${testbeds.length} pair(s) ready (${Date.now() - t0} ms)`);
}
