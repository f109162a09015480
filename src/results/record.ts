/** A run directory's record file. */
export const RUN_FILE = 'run.json';

/**
 * One record per migration run (run.json). snake_case; units in the names. Fields that could not
 * be measured are absent, never zero.
 */
export interface RunRecord {
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
  /** QEMU stream the pof agents carried, and their + the NAS views' CPU per GB of it */
  pof_qemu_stream_bytes?: number;
  pof_path_core_s_per_gb?: number;
  /** the switchover, ms after the guest stopped on src (QEMU's STOP event): src QEMU sent its last byte, the
   * source agent's last byte left (pof), dst QEMU had the last byte, dst ran the guest, the probe saw it again */
  switchover_src_sent_ms?: number;
  /** the avail-switchover-bandwidth in effect (the scenario's, or pof's: the link's rate); absent: QEMU's estimate */
  switchover_bandwidth_mbit?: number;
  switchover_agent_out_ms?: number;
  switchover_dst_loaded_ms?: number;
  switchover_dst_running_ms?: number;
  switchover_first_reply_ms?: number;
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
  qmp_sample_hz?: number;
  [extra: string]: unknown;
}
