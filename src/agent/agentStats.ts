import { getPriority } from 'node:os';
import { sha256Native } from '../codec/sha256.js';
import type { SourceStats, TargetStats } from './protocol.js';

/** A source agent's stats before anything happened (status failed until the stream completes). */
export function newSourceStats(streamWindowBytes: number): SourceStats {
  return {
    role: 'source',
    status: 'failed',
    bytes_in: 0,
    bytes_out: 0,
    qemu_crc32: 0,
    full_pages: 0,
    ref_pages: 0,
    zero_pages: 0,
    hashed_pages: 0,
    index_blocks: 0,
    index_build_ms: 0,
    index_nas_read_bytes: 0,
    fallback_requests: 0,
    backchannel_frames: 0,
    end_sent: false,
    retention_peak_pages: 0,
    stream_window_bytes: streamWindowBytes,
    stream_window_waits: 0,
    stream_window_peak_bytes: 0,
    stream_timeline: [],
    warmup_ms: 0,
    native_sha256: sha256Native,
    nice: getPriority(),
    cpu_s: 0,
    elapsed_ms: 0,
  };
}

/** A target agent's stats before anything happened (status failed until the stream completes). */
export function newTargetStats(): TargetStats {
  return {
    role: 'target',
    status: 'failed',
    bytes_in: 0,
    bytes_out: 0,
    qemu_crc32: 0,
    ref_pages: 0,
    nas_read_bytes: 0,
    nas_reads: 0,
    verify_mismatches: 0,
    fallback_pages: 0,
    nas_unavailable_pages: 0,
    refused_peers: 0,
    channel_bytes: 0,
    end_seen: false,
    native_sha256: sha256Native,
    nice: getPriority(),
    cpu_s: 0,
    elapsed_ms: 0,
    socket_reads: 0,
    batches: 0,
    warmup_ms: 0,
  };
}
