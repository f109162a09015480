/**
 * The pof data path's cost: CPU seconds of both agents and the NAS access path (the hosts' NAS
 * views; not the NFS server) during the migration, per GB (10^9 bytes) of QEMU stream they carried.
 */
export function pofPathCost(r: {
  source_agent_cpu_s?: number;
  target_agent_cpu_s?: number;
  src_nas_view_cpu_s?: number;
  dst_nas_view_cpu_s?: number;
  pof_qemu_stream_bytes?: number;
}): number | undefined {
  if (r.source_agent_cpu_s === undefined || r.target_agent_cpu_s === undefined || !r.pof_qemu_stream_bytes)
    return undefined;
  const cpu = r.source_agent_cpu_s + r.target_agent_cpu_s + (r.src_nas_view_cpu_s ?? 0) + (r.dst_nas_view_cpu_s ?? 0);
  return Number((cpu / (r.pof_qemu_stream_bytes / 1e9)).toFixed(2));
}
