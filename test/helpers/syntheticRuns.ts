import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunRecord } from '../../src/results/record.js';
import { mulberry32 as prng } from '../../src/util/prng.js';

/**
 * A synthetic but plausible result set for report tests: a pagecache scenario at two link caps,
 * stock vs pof, a few repeats each, with run.json, series/qmp.jsonl (20 Hz) and, optionally,
 * series/web.jsonl (10 Hz). pof sends the RAM pages that match disk blocks by reference, so it
 * needs far fewer migration-link bytes and more storage-link bytes. Deterministic (seeded).
 */

const MiB = 1024 * 1024;
const MEM_MIB = 512;
const DISK_BACKED_MIB = 300;

const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

export interface SyntheticOptions {
  repeats?: number;
  web?: boolean;
  failedRun?: boolean;
  warmupRun?: boolean;
  linkCaps?: number[];
}

interface Sim {
  qmp: object[];
  totalMs: number;
  transferredMiB: number;
  linkMiB: number;
  passes: number;
  endT: number;
}

/** Pre-copy at `rateMiBs` of stream: pass 1 sends all RAM, later passes the re-dirtied pages. */
function simulate(t0: number, rateMiBs: number, dirtyMiB: number[], linkFraction: number, rand: () => number): Sim {
  const qmp: object[] = [{ t: t0, status: 'setup' }];
  let transferred = 0;
  let t = t0 + 50;
  const passes = [MEM_MIB, ...dirtyMiB];
  passes.forEach((size, i) => {
    let remaining = size;
    while (remaining > 0) {
      const step = Math.min(remaining, rateMiBs * 0.05 * (0.9 + 0.2 * rand()));
      remaining -= step;
      transferred += step;
      const last = i === passes.length - 1 && remaining <= 0;
      qmp.push({
        t,
        status: last ? 'completed' : 'active',
        ram: {
          transferred: Math.round(transferred * MiB),
          remaining: Math.round(remaining * MiB),
          total: MEM_MIB * MiB,
          mbps: rateMiBs * 8.39,
          'dirty-sync-count': i + 1,
        },
      });
      t += 50;
    }
  });
  return {
    qmp,
    totalMs: t - t0,
    transferredMiB: transferred,
    linkMiB: transferred * linkFraction,
    passes: passes.length,
    endT: t - 50,
  };
}

function webSeries(t0: number, endT: number, downtimeMs: number, rand: () => number): object[] {
  const rows: object[] = [];
  for (let t = t0 - 5000; t <= endT + 5000; t += 100) {
    const during = t >= t0 && t <= endT;
    const blackout = t >= endT - 100 && t < endT + downtimeMs;
    const p50 = (during ? 2.2 : 1.4) * (0.85 + 0.3 * rand());
    const p99 = blackout ? downtimeMs * (0.9 + 0.2 * rand()) : (during ? 9 : 3.5) * (0.8 + 0.4 * rand());
    rows.push({
      t,
      p50_ms: Number(p50.toFixed(2)),
      p99_ms: Number(p99.toFixed(2)),
      max_ms: Number((p99 * 1.3).toFixed(2)),
      rps: blackout ? 20 : Math.round(380 + 40 * rand()),
      errors: blackout ? 2 : 0,
    });
  }
  return rows;
}

/** Writes the run directories under `root` and returns their records. */
export async function writeSyntheticRuns(root: string, o: SyntheticOptions = {}): Promise<RunRecord[]> {
  const repeats = o.repeats ?? 3;
  const caps = o.linkCaps ?? [1000, 500];
  const rand = prng(42);
  const records: RunRecord[] = [];
  let t = Date.parse('2025-03-01T10:00:00Z');
  const swept = caps.length > 1;
  const configOf = (cap: number) =>
    swept
      ? { config_id: `link_cap_mbit=${cap}`, sweep: { 'migration.link_cap_mbit': cap } }
      : { config_id: '', sweep: {} };
  const warmupFirst = o.warmupRun ?? true;
  for (const cap of caps) {
    for (const strategy of ['stock', 'pof']) {
      for (
        let repeat = 0;
        repeat < repeats + (warmupFirst && cap === caps[0] && strategy === 'stock' ? 1 : 0);
        repeat++
      ) {
        const warmup = warmupFirst && cap === caps[0] && strategy === 'stock' && repeat === 0;
        t += 120_000;
        const linkMiBs = (cap / 8) * 0.94 * (1e6 / MiB);
        const pof = strategy === 'pof';
        // pof: the disk-backed pages cost a reference on the link, so the stream moves faster
        const linkFraction = pof ? (MEM_MIB - DISK_BACKED_MIB) / MEM_MIB + 0.01 : 1.02;
        // a warm-up run is slower (cold caches): the report must leave it out
        const sim = simulate(
          t,
          (linkMiBs / linkFraction) * (warmup ? 0.5 : 1),
          [36 * (0.8 + 0.4 * rand()), 6 * (0.8 + 0.4 * rand())],
          linkFraction,
          rand,
        );
        const downtime = Math.round((pof ? 95 : 140) * (0.8 + 0.4 * rand()));
        const runId = `20250301T10${String(records.length).padStart(4, '0')}-pagecache-${strategy}-r${repeat}`;
        const rec: RunRecord = {
          run_id: runId,
          scenario: 'pagecache',
          ...configOf(cap),
          strategy,
          repeat,
          warmup,
          status: 'completed',
          started_at: new Date(t - 40_000).toISOString(),
          testbed: 'local',
          src_host: 'pofb-src',
          dst_host: 'pofb-dst',
          qemu_version: '7.2.15 (Debian 1:7.2+dfsg-7+deb12u12)',
          pofbench_rev: '3f2c1ab',
          params: {
            memory_mib: MEM_MIB,
            vcpus: 1,
            accel: 'tcg',
            link_cap_mbit: cap,
            max_bandwidth_mbit: 100000,
            downtime_limit_ms: 300,
            workload: { type: 'pagecache', dataset_mib: 300 },
          },
          total_time_ms: sim.totalMs,
          wall_time_ms: sim.totalMs + 180,
          setup_time_ms: 12,
          downtime_ms: downtime,
          app_downtime_ms: Math.round(downtime * 1.3 + 20 * rand()),
          passes: sim.passes,
          migration_link_bytes: Math.round(sim.linkMiB * MiB),
          storage_link_bytes: Math.round((pof ? DISK_BACKED_MIB * 1.05 : 3) * MiB * (0.95 + 0.1 * rand())),
          qmp_transferred_bytes: Math.round(sim.transferredMiB * MiB),
          src_qemu_cpu_s: Number(((pof ? 6 : 4.5) * (0.9 + 0.2 * rand())).toFixed(2)),
          qmp_sample_hz: 20,
          probe_rate_hz: 100,
          guest_on_dst: true,
        };
        const dir = join(root, runId);
        await mkdir(join(dir, 'series'), { recursive: true });
        await writeFile(join(dir, 'run.json'), `${JSON.stringify(rec, null, 2)}\n`);
        await writeFile(join(dir, 'series', 'qmp.jsonl'), jsonl(sim.qmp));
        if (o.web ?? true)
          await writeFile(join(dir, 'series', 'web.jsonl'), jsonl(webSeries(t, sim.endT, downtime, rand)));
        records.push(rec);
      }
    }
  }
  if (o.failedRun ?? true) {
    t += 600_000;
    const runId = '20250301T109999-pagecache-stock-r9';
    const rows = Array.from({ length: 60 }, (_, i) => ({
      t: t + i * 1000,
      status: 'active',
      ram: {
        transferred: (i * 60 + 10) * MiB,
        remaining: Math.max(150, 512 - i * 60) * MiB,
        total: MEM_MIB * MiB,
        mbps: 480,
        'dirty-sync-count': 1 + Math.max(0, Math.floor((i - 8) / 2)),
      },
    }));
    const rec: RunRecord = {
      run_id: runId,
      scenario: 'pagecache',
      ...configOf(caps[caps.length - 1]),
      strategy: 'stock',
      repeat: 9,
      warmup: false,
      status: 'failed',
      error:
        'migration did not complete within migration.timeout_s=60 s (status active); cancelled, guest stays on ' +
        'pofb-src',
      started_at: new Date(t - 40_000).toISOString(),
      testbed: 'local',
      src_host: 'pofb-src',
      dst_host: 'pofb-dst',
      qemu_version: '7.2.15 (Debian 1:7.2+dfsg-7+deb12u12)',
      pofbench_rev: '3f2c1ab',
      params: {
        memory_mib: MEM_MIB,
        vcpus: 1,
        accel: 'tcg',
        link_cap_mbit: caps[caps.length - 1],
        max_bandwidth_mbit: 100000,
        downtime_limit_ms: 300,
        workload: { type: 'pagecache', dataset_mib: 300 },
      },
    };
    const dir = join(root, runId);
    await mkdir(join(dir, 'series'), { recursive: true });
    await writeFile(join(dir, 'run.json'), `${JSON.stringify(rec, null, 2)}\n`);
    await writeFile(join(dir, 'series', 'qmp.jsonl'), jsonl(rows));
    records.push(rec);
  }
  return records;
}
