/** What a soak's hops add up to: success rate, drift of times from the first hops to the last, what grew on the hosts. */
import { median as medianOf } from '../util/quantile.js';

export interface HostSnapshot {
  processes: number;
  open_files: number;
  mem_available_kb: number;
}

export interface Hop {
  hop: number;
  from: string;
  to: string;
  status: 'completed' | 'failed';
  error?: string;
  total_time_ms?: number;
  downtime_ms?: number;
  wall_time_ms?: number;
  guest_answers?: boolean;
  pof_ref_pages?: number;
  hosts: Record<string, HostSnapshot>;
}

export interface SoakSummary {
  strategy: string;
  hops: number;
  completed: number;
  success_rate: number;
  /** Medians of the first and last (up to) 10 completed hops; absent when none completed. */
  total_time_ms?: { first: number; last: number; drift_pct: number };
  downtime_ms?: { first: number; last: number; drift_pct: number };
  host_drift: Record<string, { processes: number; open_files: number; mem_available_mb: number }>;
  out: string;
}

const median = (xs: number[]) => (xs.length ? medianOf(xs) : Number.NaN);

/** How the host snapshots moved from the first hop to the last. */
function hostDrift(hops: Hop[]): SoakSummary['host_drift'] {
  const drift: SoakSummary['host_drift'] = {};
  if (!hops.length) return drift;
  for (const name of ['src', 'dst']) {
    const a = hops[0].hosts[name];
    const b = hops[hops.length - 1].hosts[name];
    if (a && b)
      drift[name] = {
        processes: b.processes - a.processes,
        open_files: b.open_files - a.open_files,
        mem_available_mb: Math.round((b.mem_available_kb - a.mem_available_kb) / 1024),
      };
  }
  return drift;
}

export function summarizeSoak(strategy: string, hops: Hop[], out: string): SoakSummary {
  const done = hops.filter((h) => h.status === 'completed');
  const n = Math.max(1, Math.min(10, Math.floor(done.length / 2)));
  const drift = (f: (h: Hop) => number | undefined) => {
    const values = (some: Hop[]) => some.map(f).filter((v): v is number => v !== undefined);
    const first = median(values(done.slice(0, n)));
    const last = median(values(done.slice(-n)));
    return Number.isFinite(first) && Number.isFinite(last)
      ? { first, last, drift_pct: Number((100 * (last / first - 1)).toFixed(1)) }
      : undefined;
  };
  return {
    strategy,
    hops: hops.length,
    completed: done.length,
    success_rate: hops.length ? done.length / hops.length : 0,
    total_time_ms: drift((h) => h.total_time_ms),
    downtime_ms: drift((h) => h.downtime_ms),
    host_drift: hostDrift(hops),
    out,
  };
}
