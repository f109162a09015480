import type { Scenario, WorkloadSpec } from '../scenario/types.js';

/**
 * The duration model of `pofbench plan` and the run ETA (seconds unless named otherwise). Rough
 * on purpose: the ETA corrects it by the measured durations as runs finish.
 */
export const ESTIMATE_MODEL = {
  /** NAS disk copy, tc link cap, destination QEMU start */
  setup_s: 3,
  /** guest boot until its control channel answers (TCG) */
  boot_s: 10,
  /** readiness: fixed part, plus the workload's MiB at the rate of its type */
  ready_s: 2,
  ready_mib_per_s: { pagecache: 50, web: 50 } as Record<string, number>,
  /** readiness rate of any other workload type (filling anonymous memory) */
  default_ready_mib_per_s: 200,
  /** non-zero memory of an idle guest (kernel, initramfs, agent) */
  guest_base_mib: 64,
  /** what an uncapped migration link (link_cap_mbit 0) is assumed to carry */
  uncapped_link_mbit: 2000,
  /** migration setup before pages flow */
  migration_setup_s: 1,
  /** checks on the destination, consoles, QEMU stop, cleanup */
  teardown_s: 4,
} as const;

/** MiB the workload fills: every `*_mib` number of its spec (dataset_mib, size_mib, ...). */
export function workloadMib(spec: WorkloadSpec): number {
  return Object.entries(spec).reduce((sum, [k, v]) => sum + (k.endsWith('_mib') && typeof v === 'number' ? v : 0), 0);
}

export interface RunEstimate {
  setup_s: number;
  boot_s: number;
  ready_s: number;
  warmup_s: number;
  migration_s: number;
  teardown_s: number;
  total_s: number;
  /** the memory assumed to cross the link */
  nonzero_mib: number;
}

/**
 * One migration run: setup + boot + readiness (workload MiB at its type's rate) + warm-up +
 * migration (non-zero memory = min(guest, base + workload MiB) over the link cap, at most the
 * migration timeout) + teardown. The same for every strategy, so an upper bound for pof (whose
 * pages found on the NAS do not cross the link).
 */
export function estimateRun(s: Scenario): RunEstimate {
  const m = ESTIMATE_MODEL;
  const wlMib = workloadMib(s.workload);
  const rate = m.ready_mib_per_s[s.workload.type] ?? m.default_ready_mib_per_s;
  const nonzero = Math.min(s.guest.memory_mib, m.guest_base_mib + wlMib);
  const linkMbit = s.migration.link_cap_mbit > 0 ? s.migration.link_cap_mbit : m.uncapped_link_mbit;
  const transfer = (nonzero * 8 * 1.048576) / linkMbit;
  const e = {
    setup_s: m.setup_s,
    boot_s: m.boot_s,
    ready_s: m.ready_s + wlMib / rate,
    warmup_s: s.workload.warmup_s,
    migration_s: Math.min(s.migration.timeout_s, m.migration_setup_s + transfer),
    teardown_s: m.teardown_s,
    nonzero_mib: nonzero,
  };
  const total = e.setup_s + e.boot_s + e.ready_s + e.warmup_s + e.migration_s + e.teardown_s;
  return { ...e, total_s: Math.round(total * 10) / 10 };
}

/** The model in words, for --help. */
export function describeModel(): string {
  const m = ESTIMATE_MODEL;
  return [
    'Estimated duration per run = setup + boot + readiness + warm-up + migration + teardown:',
    `  setup ${m.setup_s} s, boot ${m.boot_s} s, teardown ${m.teardown_s} s;`,
    `  readiness ${m.ready_s} s + the workload's MiB (its *_mib fields) at ${Object.entries(m.ready_mib_per_s)
      .map(([t, r]) => `${r} MiB/s (${t})`)
      .join(', ')}, ${m.default_ready_mib_per_s} MiB/s (others);`,
    '  warm-up = workload.warmup_s;',
    `  migration ${m.migration_setup_s} s + non-zero memory / link cap, non-zero memory = min(guest.memory_mib, ` +
      `${m.guest_base_mib} MiB + workload MiB),`,
    `  an uncapped link (0) taken as ${m.uncapped_link_mbit} Mbit/s, at most migration.timeout_s.`,
    'The same for both strategies (an upper bound for pof). pofbench run corrects the ETA by measured durations.',
  ].join('\n');
}

/**
 * Seconds left: the remaining runs' estimate, scaled by how long the finished runs really took
 * compared with their estimate (no correction before the first run finishes).
 */
export function etaSeconds(remainingEstimateS: number, doneEstimateS: number, doneMeasuredS: number): number {
  const factor = doneEstimateS > 0 && doneMeasuredS > 0 ? doneMeasuredS / doneEstimateS : 1;
  return remainingEstimateS * factor;
}

/** 45 s, 12 min, 2 h 05 min */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}
