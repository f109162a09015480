/** A run directory's record file. */
export const RUN_FILE = 'run.json';

/**
 * One record per migration run (run.json): the fields every run has (RunRecordBase), and what a
 * strategy (PofRunFields) and a workload (WorkloadRunFields) add. snake_case; units in the names.
 * Fields that could not be measured are absent, never zero. Fields read by a name given at run time
 * (`compare --fields`) go through recordField.
 */
export type RunRecord = RunRecordBase & PofRunFields & WorkloadRunFields;

/** The fields of every run, whatever its strategy and workload. */
export type RunRecordBase = {
  run_id: string;
  scenario: string;
  /**
   * the sweep point (`short=value,...`, see src/scenario/sweep.ts); "" when the scenario is not
   * swept. The runner always sets it (and sweep, warmup); records from before sweeps lack them.
   */
  config_id?: string;
  /** the swept values of this configuration: dotted path → value ({} when not swept) */
  sweep?: Record<string, unknown>;
  strategy: string;
  repeat: number;
  /** one of the first --warmup-runs runs of its configuration and strategy: statistics discard it */
  warmup?: boolean;
  status: 'completed' | 'failed';
  error?: string;
  started_at: string;
  testbed: string;
  /** host pair that ran it (inventory `pair`; set when the testbed comes from an inventory) */
  pair?: string;
  src_host: string;
  dst_host: string;
  qemu_version?: string;
  pofbench_rev: string;
  params: Record<string, unknown>;
  /** 12 hex digits of the SHA-256 of `params` (canonical JSON): runs with equal hashes ran the same experiment. */
  params_hash?: string;
  // times
  total_time_ms?: number;
  /**
   * From `migrate` until the destination holds the whole state (its incoming migration completed; it then runs at once,
   * or stays paused under --verify-ram). For pof this includes draining the agents' pipeline, which the source's QMP
   * times do not see.
   */
  wall_time_ms?: number;
  setup_time_ms?: number;
  downtime_ms?: number;
  expected_downtime_ms?: number;
  app_downtime_ms?: number;
  passes?: number;
  /** post-copy (migration.postcopy_after_passes): the pass and time (ms after migrate) it was started at */
  postcopy_at_pass?: number;
  postcopy_at_ms?: number;
  // bytes
  migration_link_bytes?: number;
  migration_link_tx_bytes?: number;
  migration_link_rx_bytes?: number;
  storage_link_bytes?: number;
  warmup_storage_link_bytes?: number;
  qmp_transferred_bytes?: number;
  qmp_normal_pages?: number;
  qmp_normal_bytes?: number;
  qmp_duplicate_pages?: number;
  qmp_total_bytes?: number;
  // cpu
  src_qemu_cpu_s?: number;
  dst_qemu_cpu_s?: number;
  /** Busy CPU seconds of each host (all processes, all cores) from just before `migrate` to completion. */
  src_host_cpu_busy_s?: number;
  dst_host_cpu_busy_s?: number;
  /** The same as a share of the host's cores over that time (%): near 100 means the run was CPU-bound. */
  src_host_cpu_util_pct?: number;
  dst_host_cpu_util_pct?: number;
  /**
   * Run-queue wait of the source guest's vCPU threads from `migrate` to completion (ms): time the guest could have
   * run but had no CPU (on a machine without spare cores the migration's own work takes it; stopped, it does not run).
   */
  src_vcpu_wait_ms?: number;
  /** CPU seconds the source guest's vCPU threads ran in that window (the guest's work, not the migration's) */
  src_vcpu_cpu_s?: number;
  /** the source QEMU without its vCPU threads: migration thread, main loop, I/O (src_qemu_cpu_s − src_vcpu_cpu_s) */
  src_qemu_non_vcpu_cpu_s?: number;
  /**
   * The migration's own CPU: src_qemu_non_vcpu_cpu_s + dst_qemu_cpu_s + the pof agents + the NAS views + the NFS
   * server (src/metrics/migrationCpu.ts); the guest's vCPUs and the harness are not in it.
   */
  migration_cpu_s?: number;
  /** CPU seconds from `migrate` until the destination holds the whole state, per component (pof: agents, NAS views). */
  source_agent_cpu_s?: number;
  target_agent_cpu_s?: number;
  src_nas_view_cpu_s?: number;
  dst_nas_view_cpu_s?: number;
  /** the NAS host's NFS server (ganesha or kernel nfsd) */
  nfs_server_cpu_s?: number;
  /** the harness itself: the runner and its children (probe, tunnels), host samplers, the SSH sessions serving it */
  harness_cpu_s?: number;
  /** its parts: the runner's process tree (controller), the host samplers, the sshd sessions serving the runner */
  harness_runner_cpu_s?: number;
  harness_sampler_cpu_s?: number;
  harness_sshd_cpu_s?: number;
  /** harness_cpu_s as a share of one core over the same window (%) */
  harness_core_pct?: number;
  /**
   * Hosts whose CPU snapshot could not be read (e.g. `nas (close): … timed out after 10000 ms`): the components
   * that need them, the harness and migration_cpu_s are left out of the record; the run itself stands.
   */
  cpu_snapshot_error?: string;
  /** the switchover, ms after the guest stopped on src (QEMU's STOP event): src QEMU sent its last byte, the
   * source agent's last byte left (pof), dst QEMU had the last byte, dst ran the guest, the probe saw it again */
  switchover_src_sent_ms?: number;
  /** the avail-switchover-bandwidth in effect (the scenario's, or pof's: the link's rate); absent: QEMU's estimate */
  switchover_bandwidth_mbit?: number;
  switchover_agent_out_ms?: number;
  switchover_dst_loaded_ms?: number;
  switchover_dst_running_ms?: number;
  switchover_first_reply_ms?: number;
  /** probe gaps: across the switchover (last reply before the stop to the first after), and the largest before it */
  app_switchover_gap_ms?: number;
  app_live_gap_ms?: number;
  // workload / checks
  workload_ready_ms?: number;
  guest_on_dst?: boolean;
  /** --verify-ram: source and destination RAM were byte-identical at switchover. */
  ram_identical?: boolean;
  ram_compare_ms?: number;
  /** Failed runs: the source VM's QEMU status afterwards (`running` = the guest kept running there). */
  src_vm_status_after?: string;
  /**
   * Failed runs: the source had handed the guest over but the destination did not run it, so the runner resumed it on
   * the source.
   */
  src_resumed?: boolean;
  /** Fault injection (pofbench faults): what went wrong injecting, if anything. */
  fault_error?: string;
  probe_rate_hz?: number;
  /** The probe (fping) ran at real-time priority, so its own scheduling did not add to app downtime. */
  probe_realtime?: boolean;
  qmp_sample_hz?: number;
  /** From starting the VMs until the guest answered on the source. */
  boot_ms?: number;
};

/** What the pof strategy adds (src/strategy/pof.ts: beforeMigrate and collect, from the agents' stats). */
export type PofRunFields = {
  /** Waiting for the source agent's disk index to catch up before `migrate`; 1 when it did. */
  index_wait_ms?: number;
  index_caught_up?: number;
  /** Pages the source agent sent whole, as references to NAS blocks, as zero pages. */
  pof_full_pages?: number;
  pof_ref_pages?: number;
  pof_zero_pages?: number;
  /** Bytes the target agent read from the NAS, and in how many reads. */
  nas_read_bytes?: number;
  pof_nas_reads?: number;
  /** Referenced blocks whose NAS content did not match, and pages the target then fetched from the source. */
  pof_verify_mismatches?: number;
  pof_fallback_pages?: number;
  /** The source agent's disk index: blocks, build time, NAS bytes read to build it. */
  index_blocks?: number;
  index_build_ms?: number;
  index_nas_read_bytes?: number;
  /** Bytes the source agent sent to the target agent; 1 when the target handed on exactly the source QEMU's stream. */
  pof_stream_bytes?: number;
  pof_stream_identical?: number;
  /** Both agents' CPU seconds over the whole run, and each agent's. */
  agent_cpu_s?: number;
  src_agent_cpu_s?: number;
  dst_agent_cpu_s?: number;
  /** NAS outage: pages the target could not read from it; ms after `migrate` the source saw it go down. */
  pof_nas_unavailable_pages?: number;
  pof_nas_down_after_ms?: number;
  /** QEMU stream the pof agents carried, and their + the NAS views' CPU per GB of it */
  pof_qemu_stream_bytes?: number;
  pof_path_core_s_per_gb?: number;
  /** The source agent's send window (MiB) and how often it was full. */
  pof_stream_window_mib?: number;
  pof_stream_window_waits?: number;
  /** 1: both agents hashed with the native SHA-256 (native/pofhot.c); 0: one fell back to Node's crypto. */
  pof_native_sha256?: number;
  /** The nice value the agents ran at (migration.pof_agent_nice), as the source agent read it itself. */
  pof_agent_nice?: number;
};

/** What the web workload's controller load adds (src/metrics/webSummary.ts). */
export type WebRunFields = {
  /** Successful responses, failed requests and timeouts over the whole load. */
  web_requests?: number;
  web_errors?: number;
  web_timeouts?: number;
  /** Mean requests per second of each phase (before, during, after the migration). */
  web_rps_before?: number;
  web_rps_during?: number;
  web_rps_after?: number;
  /** p99 latency of each phase's responses (nearest rank). */
  web_p99_ms_before?: number;
  web_p99_ms_during?: number;
  web_p99_ms_after?: number;
  /** The largest latency during the migration. */
  web_max_latency_ms?: number;
  /** The largest gap between successful responses that ends after `migrate`. */
  web_stall_ms?: number;
};

/**
 * What a workload adds: the web load's summary, and the medians of the workload's own metrics per
 * phase (`workload_<metric>_<phase>`, `workload_samples_<phase>`; src/metrics/workloadPhases.ts).
 */
export type WorkloadRunFields = WebRunFields & { [phaseMetric: `workload_${string}`]: number | undefined };

/** A field of `r` by a name known only at run time (e.g. `compare --fields`); undefined when absent. */
export function recordField(r: RunRecord, name: string): unknown {
  return (r as Record<string, unknown>)[name];
}
