/**
 * The migration's own CPU, apart from the guest's. A guest that keeps running through a migration
 * takes whatever CPU its vCPU threads can get, so a source QEMU's CPU seconds mix the guest's work
 * with the migration's: on a machine without spare cores the two strategies' source QEMUs can show
 * the same seconds while the guest got less of them under one. The source QEMU's vCPU threads
 * (`src_vcpu_cpu_s`) are taken out; what is left of that QEMU (migration thread, main loop, I/O) and
 * every other component that does the migration's work add up to `migration_cpu_s`: the
 * destination QEMU (its guest does not run before the switchover), the pof agents, the hosts' NAS
 * views and the NAS host's NFS server (which also serves the guests' disks). The harness is not in it.
 */
import { round2 } from './processCpu.js';

export interface MigrationCpuInput {
  src_qemu_cpu_s?: number;
  src_vcpu_cpu_s?: number;
  dst_qemu_cpu_s?: number;
  source_agent_cpu_s?: number;
  target_agent_cpu_s?: number;
  src_nas_view_cpu_s?: number;
  dst_nas_view_cpu_s?: number;
  nfs_server_cpu_s?: number;
  /** a host's CPU snapshot could not be read: some components are missing, so there is no sum */
  cpu_snapshot_error?: string;
}

export interface MigrationCpu {
  /** the source QEMU without its vCPU threads */
  src_qemu_non_vcpu_cpu_s?: number;
  /** every component's CPU for the migration's work, the guest's vCPUs and the harness left out */
  migration_cpu_s?: number;
}

/**
 * Both fields, when the source QEMU's CPU, its vCPU threads' and the destination QEMU's are known
 * (`migration_cpu_s` only when every host's CPU snapshot was read: a partial sum would look low).
 * The vCPU figure (scheduler run time, ns) and the process's (clock ticks) differ in resolution: a
 * difference below zero is 0.
 */
export function migrationCpu(r: MigrationCpuInput): MigrationCpu {
  if (r.src_qemu_cpu_s === undefined || r.src_vcpu_cpu_s === undefined || r.dst_qemu_cpu_s === undefined) return {};
  const srcRest = Math.max(0, r.src_qemu_cpu_s - r.src_vcpu_cpu_s);
  if (r.cpu_snapshot_error) return { src_qemu_non_vcpu_cpu_s: round2(srcRest) };
  const others = [
    r.dst_qemu_cpu_s,
    r.source_agent_cpu_s,
    r.target_agent_cpu_s,
    r.src_nas_view_cpu_s,
    r.dst_nas_view_cpu_s,
    r.nfs_server_cpu_s,
  ].reduce<number>((sum, v) => sum + (v ?? 0), 0);
  return { src_qemu_non_vcpu_cpu_s: round2(srcRest), migration_cpu_s: round2(srcRest + others) };
}
