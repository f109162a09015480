/**
 * Counters read on a testbed host in one exec around a migration: NIC byte counters, the QEMU
 * process's CPU seconds and the host's busy CPU time; and what two reads say about the window.
 */
import { sh, type SshHost } from '../hosts/ssh.js';
import { processCpuSeconds } from '../util/procStat.js';

/** What `readHostCounters` reads on a host in one exec. */
export interface HostCounters {
  nic: Record<string, { rx: number; tx: number }>;
  /** CPU seconds of the QEMU process so far. */
  cpuS?: number;
  /**
   * The QEMU's vCPU threads (named `CPU <n>/TCG`, `CPU <n>/KVM`…) so far, summed: seconds on a CPU and
   * seconds runnable but waiting for one (the scheduler's run-queue wait, /proc/<pid>/task/<tid>/schedstat).
   */
  vcpuRunS?: number;
  vcpuWaitS?: number;
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
  if (pid) parts.push(`cat /proc/${pid}/stat 2>/dev/null || echo gone`, vcpuSchedCommand(pid));
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
  const vcpu = pid ? parseVcpuSched(lines.slice(2 * nics.length + 1)) : undefined;
  return {
    nic,
    cpuS,
    ...(vcpu ? { vcpuRunS: vcpu.runS, vcpuWaitS: vcpu.waitS } : {}),
    ...hostCpu(statLine, nproc),
    at,
  };
}

/** Prints `vcpu <schedstat>` for each of the process's vCPU threads (a QEMU names them `CPU <n>/<accel>`). */
export function vcpuSchedCommand(pid: number): string {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`vcpuSchedCommand: bad pid ${pid}`);
  return (
    `for t in /proc/${pid}/task/*; do case "$(cat $t/comm 2>/dev/null)" in "CPU "*) ` +
    `echo "vcpu $(cat $t/schedstat 2>/dev/null)";; esac; done; true`
  );
}

/** The `vcpu <run ns> <wait ns> <slices>` lines summed: seconds run and seconds waited (none: undefined). */
export function parseVcpuSched(lines: string[]): { runS: number; waitS: number } | undefined {
  let run = 0;
  let wait = 0;
  let seen = 0;
  for (const l of lines) {
    const f = l.trim().split(/\s+/);
    if (f[0] !== 'vcpu' || f.length < 3) continue;
    const [r, w] = [Number(f[1]), Number(f[2])];
    if (!Number.isFinite(r) || !Number.isFinite(w)) continue;
    run += r;
    wait += w;
    seen++;
  }
  return seen ? { runS: run / 1e9, waitS: wait / 1e9 } : undefined;
}

/** Run-queue wait of the vCPU threads between two reads (ms), undefined when either read missed them. */
export function vcpuWaitMs(a: HostCounters, b: HostCounters): number | undefined {
  return a.vcpuWaitS !== undefined && b.vcpuWaitS !== undefined
    ? Math.round((b.vcpuWaitS - a.vcpuWaitS) * 1000)
    : undefined;
}

/** CPU seconds the vCPU threads ran between two reads (the guest's own work), undefined when either read missed them. */
export function vcpuCpuSeconds(a: HostCounters, b: HostCounters): number | undefined {
  return secondsBetween(a.vcpuRunS, b.vcpuRunS);
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

/** Bytes a NIC received and sent between two reads. */
export function nicDelta(a: HostCounters, b: HostCounters, nic: string): { rx: number; tx: number } {
  return { rx: b.nic[nic].rx - a.nic[nic].rx, tx: b.nic[nic].tx - a.nic[nic].tx };
}

export const sumBytes = (c: { rx: number; tx: number }) => c.rx + c.tx;

/** CPU seconds the QEMU process used between two reads (undefined when either read missed it). */
export function qemuCpuSeconds(a: HostCounters, b: HostCounters): number | undefined {
  return secondsBetween(a.cpuS, b.cpuS);
}

/** later − earlier, to 0.01 s; undefined when either read is missing. */
function secondsBetween(earlier: number | undefined, later: number | undefined): number | undefined {
  return earlier !== undefined && later !== undefined ? Number((later - earlier).toFixed(2)) : undefined;
}
