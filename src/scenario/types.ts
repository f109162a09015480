/** A validated scenario (schema: scenarios/schema/scenario.schema.json), defaults filled in. */
/**
 * The strategies, in reading order (the baseline first): stock QEMU; pof with the I/O-monitoring index; pof-scan:
 * pof with the whole image indexed (the oracle). The one list (scenarios/schema/scenario.schema.json repeats it, and
 * a unit test holds the two equal).
 */
export const STRATEGY_NAMES = ['stock', 'pof', 'pof-scan'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** "stock, pof and/or pof-scan": the strategies in a sentence. */
export const strategyNamesText = (): string =>
  `${STRATEGY_NAMES.slice(0, -1).join(', ')} and/or ${STRATEGY_NAMES[STRATEGY_NAMES.length - 1]}`;

export type WorkloadSpec =
  | { type: 'idle'; warmup_s: number; ready_timeout_s: number }
  | { type: 'pagecache'; warmup_s: number; ready_timeout_s: number; dataset_mib: number; reread_interval_s: number }
  | { type: 'anon'; warmup_s: number; ready_timeout_s: number; size_mib: number; workers: number; method: string }
  | {
      type: 'mixed';
      warmup_s: number;
      ready_timeout_s: number;
      dataset_mib: number;
      reread_interval_s: number;
      size_mib: number;
      workers: number;
      method: string;
    }
  | {
      type: 'sysbench-memory';
      warmup_s: number;
      ready_timeout_s: number;
      block_size_mib: number;
      threads: number;
      oper: 'write' | 'read';
      time_s: number;
    }
  | {
      type: 'sysbench-fileio';
      warmup_s: number;
      ready_timeout_s: number;
      file_total_mib: number;
      mode: SysbenchFileioMode;
      threads: number;
      time_s: number;
    }
  | {
      type: 'rewrite';
      warmup_s: number;
      ready_timeout_s: number;
      file_mib: number;
      rate_mib_s: number;
      direct: boolean;
      fsync: boolean;
    }
  | {
      type: 'web';
      warmup_s: number;
      ready_timeout_s: number;
      connections: number;
      files: number;
      order: 'round-robin' | 'random';
      object_kib: number;
      dataset_mib: number;
      timeout_s: number;
    };

/** sysbench fileio --file-test-mode values. */
export type SysbenchFileioMode = 'seqwr' | 'seqrewr' | 'seqrd' | 'rndrd' | 'rndwr' | 'rndrw';

/** A value of a swept parameter (whatever the sweep list holds). */
export type SweepValue = unknown;

/**
 * One configuration to run: a scenario document with `extends` resolved and, when it has a
 * `sweep:`, one point of its grid applied (see src/scenario/sweep.ts).
 */
export interface Scenario {
  name: string;
  file: string;
  /** `short=value,...` of the sweep point in sweep order (src/scenario/sweep.ts); "" when nothing is swept. */
  config_id: string;
  /** The swept values of this configuration: dotted path → value, in sweep order; {} when nothing is swept. */
  sweep: Record<string, SweepValue>;
  description?: string;
  strategies: StrategyName[];
  repeat: number;
  guest: { memory_mib: number; vcpus: number; boot_timeout_s: number };
  workload: WorkloadSpec;
  migration: {
    link_cap_mbit: number;
    max_bandwidth_mbit: number;
    downtime_limit_ms: number;
    timeout_s: number;
    capabilities: Record<string, boolean>;
    /** multifd channels (0 = multifd off) and their compression (stock only; pof refuses multifd). */
    multifd_channels: number;
    multifd_compression: 'none' | 'zlib' | 'zstd';
    /** QEMU's zero-page detection (absent: QEMU's default). */
    zero_page_detection?: 'none' | 'legacy' | 'multifd';
    /** Bandwidth QEMU may assume for the switchover phase (avail-switchover-bandwidth); absent: its estimate. */
    avail_switchover_bandwidth_mbit?: number;
    /** dirty-limit: throttle each vCPU's dirty rate to this (MB/s) during migration; needs KVM's dirty ring. */
    vcpu_dirty_limit_mbps?: number;
    dirty_limit_period_ms?: number;
    /** Switch to post-copy once this many pre-copy passes have run (stock only). */
    postcopy_after_passes?: number;
    /** The pof agents' nice value (absent: DEFAULT_AGENT_NICE, src/strategy/pof.ts). */
    pof_agent_nice?: number;
  };
}
