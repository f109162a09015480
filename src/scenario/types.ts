/** A validated scenario (schema: scenarios/schema/scenario.schema.json), defaults filled in. */
export type StrategyName = 'stock' | 'pof';

export type WorkloadSpec =
  | { type: 'idle'; warmup_s: number; ready_timeout_s: number }
  | { type: 'pagecache'; warmup_s: number; ready_timeout_s: number; dataset_mib: number; reread_interval_s: number }
  | { type: 'anon'; warmup_s: number; ready_timeout_s: number; size_mib: number; workers: number; method: string };

export interface Scenario {
  name: string;
  file: string;
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
  };
}
