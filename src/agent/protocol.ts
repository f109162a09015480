/**
 * The contract between the pof controller (strategy/pof.ts, on the runner's side) and the agents
 * (`pofbench agent source|target` on the hosts): the flags the controller builds and the agent
 * parses, the index status file the source agent keeps, and the stats each agent writes when it
 * exits, with their mapping to run-record fields. Each is defined here once.
 */
import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { formatEndpoint, parseEndpoint, type Endpoint } from './endpoint.js';

const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// flags

/**
 * How the source agent knows which NAS blocks hold which pages: it follows the source QEMU's block
 * trace log (I/O monitoring: strategy `pof`), or hashes the whole image once (the oracle:
 * strategy `pof-scan`, flag `--index scan`).
 */
export type IndexMode = 'trace' | 'scan';
export type SourceIndex = { mode: 'trace'; traceLog: string } | { mode: 'scan' };

/** What the controller tells the target agent (`pofbench agent target`). */
export interface TargetAgentFlags {
  listen: Endpoint;
  qemu: Endpoint;
  /** The guest's disk image: a path (a kernel NFS mount) or nfs://HOST/EXPORT/PATH (the agent's own NFS client). */
  nasImage: string;
  /** Deadline of one NAS read (nfs:// images); a NAS slower than this counts as unreachable. */
  nasTimeoutMs?: number;
  secretFile: string;
  label: string;
  statsJson?: string;
  /** NAS reads in flight, so NAS latency does not stall the stream. */
  concurrency?: number;
  /** Most blocks per NAS request: refs to consecutive blocks that arrive together are read at once. */
  maxReadBlocks?: number;
  /** Unauthenticated connections held at once (gate.ts; default 4), and how long each may take (default 3 s). */
  maxPending?: number;
  handshakeMs?: number;
}

/** What the controller tells the source agent (`pofbench agent source`). */
export interface SourceAgentFlags {
  listen: Endpoint;
  target: Endpoint;
  /** The guest's disk image: a path (a kernel NFS mount) or nfs://HOST/EXPORT/PATH (the agent's own NFS client). */
  nasImage: string;
  secretFile: string;
  label: string;
  index: SourceIndex;
  statsJson?: string;
  /** Index status (IndexStatus), written atomically: while following the trace log, or once the scan is done. */
  statusFile?: string;
  /** Pages sent by reference and kept until the target confirms them (the fallback window). */
  retentionPages?: number;
  /**
   * QEMU stream bytes read from QEMU and not yet handed to the destination QEMU (the target reports
   * DELIVERED): QEMU is read only while fewer are in the pipeline (default 8 MiB). So QEMU's own
   * bandwidth estimate is the pipeline's delivery rate, and at switchover at most one window is
   * still in the agents, the link and the NAS reads. On the command line in whole MiB.
   */
  streamWindowBytes?: number;
}

/** One flag: its name, the placeholder of its value, help, and the default commander fills in. */
interface FlagSpec {
  flag: string;
  value: string;
  help: string;
  default?: string;
  required?: true;
}

const NAS_IMAGE_HELP =
  "the guest disk image on the NAS: a path (the host's NFS mount) or nfs://HOST/EXPORT/PATH (read with the agent's " +
  'own NFSv3 client)';

/** The target agent's flags; each key is the property commander parses the flag into. */
export const TARGET_FLAGS = {
  listen: {
    flag: '--listen',
    value: '<tcp:HOST:PORT>',
    help: 'where the source agent connects (migration network)',
    required: true,
  },
  qemu: {
    flag: '--qemu',
    value: '<unix:PATH|tcp:HOST:PORT>',
    help: "the destination QEMU's incoming migration socket",
    required: true,
  },
  nasImage: { flag: '--nas-image', value: '<IMG>', help: NAS_IMAGE_HELP, required: true },
  nasTimeoutMs: {
    flag: '--nas-timeout-ms',
    value: '<ms>',
    help:
      'deadline of one NAS read (nfs:// images): past it the NAS counts as unreachable and pages come from the ' +
      'source',
    default: '2000',
  },
  secretFile: {
    flag: '--secret-file',
    value: '<F>',
    help: 'per-run secret shared with the source agent',
    required: true,
  },
  label: { flag: '--label', value: '<run>', help: 'run label both agents must agree on', default: 'pofbench' },
  statsJson: { flag: '--stats-json', value: '<F>', help: "write the agent's stats here on exit" },
  concurrency: { flag: '--concurrency', value: '<n>', help: 'NAS reads in flight', default: '64' },
  maxReadBlocks: {
    flag: '--max-read-blocks',
    value: '<n>',
    help: 'most blocks per NAS read (refs to consecutive blocks are read together)',
    default: '64',
  },
  maxPending: {
    flag: '--max-pending',
    value: '<n>',
    help: 'unauthenticated connections held at once; more are closed on arrival',
    default: '4',
  },
  handshakeMs: {
    flag: '--handshake-ms',
    value: '<ms>',
    help: 'how long a connection has to authenticate',
    default: '3000',
  },
} as const satisfies Record<string, FlagSpec>;

/** The source agent's flags; each key is the property commander parses the flag into. */
export const SOURCE_FLAGS = {
  listen: {
    flag: '--listen',
    value: '<unix:PATH|tcp:HOST:PORT>',
    help: 'where the source QEMU migrates to (migrate uri)',
    required: true,
  },
  target: { flag: '--target', value: '<tcp:HOST:PORT>', help: 'the target agent', required: true },
  nasImage: { flag: '--nas-image', value: '<IMG>', help: NAS_IMAGE_HELP, required: true },
  secretFile: {
    flag: '--secret-file',
    value: '<F>',
    help: 'per-run secret shared with the target agent',
    required: true,
  },
  label: { flag: '--label', value: '<run>', help: 'run label both agents must agree on', default: 'pofbench' },
  traceLog: { flag: '--trace-log', value: '<LOG>', help: 'QEMU block trace log to follow (I/O monitoring index)' },
  index: { flag: '--index', value: '<scan>', help: 'index the whole image instead (the oracle)' },
  statsJson: { flag: '--stats-json', value: '<F>', help: "write the agent's stats here on exit" },
  statusFile: {
    flag: '--status-file',
    value: '<F>',
    help: 'keep the index status here (JSON; caught_up: the trace log is indexed, or the scan is done)',
  },
  retentionPages: {
    flag: '--retention-pages',
    value: '<n>',
    help: 'pages sent by reference kept until the target confirms them (4 KiB each)',
    default: '16384',
  },
  streamWindowMib: {
    flag: '--stream-window-mib',
    value: '<n>',
    help: 'QEMU stream MiB in the pipeline at most (read, not yet handed to the destination QEMU)',
    default: '8',
  },
} as const satisfies Record<string, FlagSpec>;

/** The flag values commander hands the agent command (defaults filled in). */
export type RawFlags<F> = { [K in keyof F]?: string };

/** Declares `flags` on an agent command. */
export function declareFlags(cmd: Command, flags: Record<string, FlagSpec>): Command {
  for (const f of Object.values(flags)) {
    if (f.required) cmd.requiredOption(`${f.flag} ${f.value}`, f.help, f.default);
    else cmd.option(`${f.flag} ${f.value}`, f.help, f.default);
  }
  return cmd;
}

/** argv of `pofbench agent target` (after the role). */
export function targetAgentArgv(f: TargetAgentFlags): string[] {
  const F = TARGET_FLAGS;
  return [
    ...[F.listen.flag, formatEndpoint(f.listen), F.qemu.flag, formatEndpoint(f.qemu), F.nasImage.flag, f.nasImage],
    ...[F.secretFile.flag, f.secretFile, F.label.flag, f.label],
    ...optional(F.nasTimeoutMs.flag, f.nasTimeoutMs),
    ...optional(F.concurrency.flag, f.concurrency),
    ...optional(F.maxReadBlocks.flag, f.maxReadBlocks),
    ...optional(F.maxPending.flag, f.maxPending),
    ...optional(F.handshakeMs.flag, f.handshakeMs),
    ...optional(F.statsJson.flag, f.statsJson),
  ];
}

/** argv of `pofbench agent source` (after the role). */
export function sourceAgentArgv(f: SourceAgentFlags): string[] {
  const F = SOURCE_FLAGS;
  return [
    ...[F.listen.flag, formatEndpoint(f.listen), F.target.flag, formatEndpoint(f.target), F.nasImage.flag, f.nasImage],
    ...[F.secretFile.flag, f.secretFile, F.label.flag, f.label],
    ...(f.index.mode === 'scan' ? [F.index.flag, 'scan'] : [F.traceLog.flag, f.index.traceLog]),
    ...optional(F.statusFile.flag, f.statusFile),
    ...optional(F.retentionPages.flag, f.retentionPages),
    ...optional(F.streamWindowMib.flag, f.streamWindowBytes === undefined ? undefined : f.streamWindowBytes / MiB),
    ...optional(F.statsJson.flag, f.statsJson),
  ];
}

const optional = (flag: string, v: string | number | undefined): string[] => (v === undefined ? [] : [flag, String(v)]);

function positiveInt(v: string | undefined, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} must be a positive integer, got "${v}"`);
  return n;
}

/** Numbers taken as given (no check beyond Number()), as the agent always has. */
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

export function parseTargetFlags(o: RawFlags<typeof TARGET_FLAGS>): TargetAgentFlags {
  const F = TARGET_FLAGS;
  const listen = parseEndpoint(o.listen ?? '', F.listen.flag);
  if (listen.kind !== 'tcp') throw new UserError('--listen must be tcp:HOST:PORT for the target agent');
  return {
    listen,
    qemu: parseEndpoint(o.qemu ?? '', F.qemu.flag),
    nasImage: o.nasImage ?? '',
    nasTimeoutMs: num(o.nasTimeoutMs),
    secretFile: o.secretFile ?? '',
    label: o.label ?? F.label.default,
    statsJson: o.statsJson,
    concurrency: num(o.concurrency),
    maxReadBlocks: num(o.maxReadBlocks),
    maxPending: positiveInt(o.maxPending ?? F.maxPending.default, F.maxPending.flag),
    handshakeMs: positiveInt(o.handshakeMs ?? F.handshakeMs.default, F.handshakeMs.flag),
  };
}

export function parseSourceFlags(o: RawFlags<typeof SOURCE_FLAGS>): SourceAgentFlags {
  const F = SOURCE_FLAGS;
  if (o.index !== undefined && o.index !== 'scan') throw new UserError(`--index must be "scan", got "${o.index}"`);
  if (!o.traceLog && !o.index) throw new UserError('the source agent needs --trace-log LOG or --index scan');
  return {
    listen: parseEndpoint(o.listen ?? '', F.listen.flag),
    target: parseEndpoint(o.target ?? '', F.target.flag),
    nasImage: o.nasImage ?? '',
    secretFile: o.secretFile ?? '',
    label: o.label ?? F.label.default,
    // a trace log wins over --index scan, as it always has
    index: o.traceLog ? { mode: 'trace', traceLog: o.traceLog } : { mode: 'scan' },
    statsJson: o.statsJson,
    statusFile: o.statusFile,
    retentionPages: num(o.retentionPages),
    streamWindowBytes: positiveInt(o.streamWindowMib ?? F.streamWindowMib.default, F.streamWindowMib.flag) * MiB,
  };
}

// ---------------------------------------------------------------------------------------------
// the index status file and the agents' stats

/** The index status the controller waits on before `migrate` (the source agent writes it atomically). */
export interface IndexStatus {
  caught_up: boolean;
  index_blocks: number;
  trace_bytes: number;
  busy_ms: number;
  nas_read_bytes: number;
}

/** How an agent's one migration ended. */
export type AgentStatus = 'completed' | 'failed';

/** The target agent's stats (its --stats-json, and the DONE frame's payload to the source agent). */
export interface TargetStats {
  role: 'target';
  status: AgentStatus;
  error?: string;
  bytes_in: number;
  bytes_out: number;
  /** CRC-32 of the stream handed to the destination QEMU. */
  qemu_crc32: number;
  ref_pages: number;
  nas_read_bytes: number;
  /** NAS read requests (a batch's refs sorted by block: one request per run of adjacent blocks). */
  nas_reads: number;
  verify_mismatches: number;
  fallback_pages: number;
  /** Referenced pages fetched from the source because the NAS could not be read in time (graceful degradation). */
  nas_unavailable_pages: number;
  /** The first NAS failure, when there was one (the source then sent every page in full). */
  nas_error?: string;
  refused_peers: number;
  /** Bytes of agent-channel frames parsed after authentication (headers included). */
  channel_bytes: number;
  /** The END frame was reached and the stream decoded to its end (the CRC check comes after). */
  end_seen: boolean;
  /** SHA-256 through native/pofhot.c (false: Node's crypto, same hashes, ~2x the CPU). */
  native_sha256: boolean;
  /** The agent's nice value, as it ran (os.getPriority()). */
  nice: number;
  cpu_s: number;
  /** CPU seconds from the source agent's authentication (the migration's start) to the end of the stream. */
  migration_cpu_s?: number;
  elapsed_ms: number;
  /** Reads from the source agent's connection, and the batches they were decoded in. */
  socket_reads: number;
  batches: number;
  /** Start-up run of the hot paths over a synthetic stream (agent/warmup.ts), before listening. */
  warmup_ms: number;
  /** When the destination QEMU was handed the stream's last byte (ms since epoch). */
  last_byte_to_qemu_at?: number;
}

/** The source agent's stats (its --stats-json). */
export interface SourceStats {
  role: 'source';
  status: AgentStatus;
  error?: string;
  bytes_in: number;
  bytes_out: number;
  /** CRC-32 of the QEMU stream received (the target reports the same of what it handed on). */
  qemu_crc32: number;
  /** The target handed the destination QEMU exactly the bytes the source QEMU sent (length and CRC-32). */
  stream_identical?: boolean;
  full_pages: number;
  ref_pages: number;
  zero_pages: number;
  /** Pages hashed with SHA-256: those whose fingerprint some indexed block shares (the rest cannot be on the NAS). */
  hashed_pages: number;
  index_blocks: number;
  index_build_ms: number;
  index_nas_read_bytes: number;
  fallback_requests: number;
  /** The target said the NAS was unreachable: pages went in full from then on (ms after the stream started). */
  nas_down_after_ms?: number;
  /** Frames read from the target after authentication (ACK, NEED, DONE, ...). */
  backchannel_frames: number;
  /** The END frame went out: QEMU's whole stream was sent. */
  end_sent: boolean;
  retention_peak_pages: number;
  /** The stream window (bytes) and how often it stopped QEMU (reading paused until the target caught up). */
  stream_window_bytes: number;
  stream_window_waits: number;
  /** Most QEMU stream bytes in the pipeline at once (read from QEMU, not yet handed to the destination QEMU). */
  stream_window_peak_bytes: number;
  /** Every 100 ms: [epoch ms, QEMU bytes read, POF bytes sent, QEMU bytes delivered, refs, held] (pofStreamRows). */
  stream_timeline: number[][];
  /** Start-up run of the hot paths over a synthetic stream (agent/warmup.ts), before QEMU connects. */
  warmup_ms: number;
  /** SHA-256 through native/pofhot.c (false: Node's crypto, same hashes, ~2x the CPU). */
  native_sha256: boolean;
  /** The agent's nice value, as it ran (os.getPriority()). */
  nice: number;
  cpu_s: number;
  /** CPU seconds from QEMU's connection (the migration's start) to the end of the stream. */
  migration_cpu_s?: number;
  elapsed_ms: number;
  migration_ms?: number;
  /** When the END frame (the stream's last byte) went to the link (ms since epoch). */
  last_byte_out_at?: number;
  /** The target's stats, from its DONE frame. */
  target?: TargetStats;
}

/** A pof migration's run-record fields from both agents' stats (fields an agent did not write are left out). */
export function agentRecordFields(s: Partial<SourceStats>, t: Partial<TargetStats>): Record<string, number> {
  const out: Record<string, number | undefined> = {
    pof_full_pages: s.full_pages,
    pof_ref_pages: s.ref_pages,
    pof_zero_pages: s.zero_pages,
    nas_read_bytes: t.nas_read_bytes,
    pof_verify_mismatches: t.verify_mismatches,
    pof_fallback_pages: t.fallback_pages,
    index_blocks: s.index_blocks,
    index_build_ms: s.index_build_ms,
    index_nas_read_bytes: s.index_nas_read_bytes,
    pof_stream_bytes: s.bytes_out,
    pof_stream_identical: s.stream_identical === undefined ? undefined : 1,
    agent_cpu_s: s.cpu_s !== undefined && t.cpu_s !== undefined ? Number((s.cpu_s + t.cpu_s).toFixed(2)) : undefined,
    src_agent_cpu_s: s.cpu_s,
    dst_agent_cpu_s: t.cpu_s,
    pof_nas_unavailable_pages: t.nas_unavailable_pages,
    pof_nas_down_after_ms: s.nas_down_after_ms,
    source_agent_cpu_s: s.migration_cpu_s,
    target_agent_cpu_s: t.migration_cpu_s,
    pof_qemu_stream_bytes: s.bytes_in,
    pof_nas_reads: t.nas_reads,
    pof_stream_window_mib: s.stream_window_bytes === undefined ? undefined : s.stream_window_bytes / MiB,
    pof_stream_window_waits: s.stream_window_waits,
    // 1: both agents hashed with the native SHA-256 (native/pofhot.c); 0: one fell back to Node's crypto
    pof_native_sha256: s.native_sha256 === undefined ? undefined : Number(s.native_sha256 && t.native_sha256 === true),
    pof_agent_nice: s.nice,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Record<string, number>;
}
