/** A `pofbench run` child process for the runner rows: started on a scenario, watched until it migrates. */
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listSessions } from '../results/session.js';
import { readRecords } from '../results/runReader.js';
import type { RunRecord } from '../results/record.js';
import { pofbenchCommand } from '../util/paths.js';

export interface RunnerChild {
  child: ResultPromise<{ reject: false; all: true }>;
  /** The scenario file (for --resume). */
  file: string;
  /** The results root it writes its session under. */
  out: string;
  /** True once it says it migrates; false if it exited first. */
  migrating: Promise<boolean>;
}

/**
 * An idle guest, 2 s downtime budget, 150 Mbit/s: the migration runs long enough (≈8 s) to be hit.
 * Under the suite's results directory: its records stay with the other fault runs.
 */
export function scenarioFile(outDir: string, name: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(outDir, `${name}-`));
  const file = join(dir, `fault-${name}.yaml`);
  writeFileSync(
    file,
    `name: fault-${name}\nguest: { memory_mib: 256 }\nworkload: { type: idle, warmup_s: 1 }\nmigration: { ` +
      `link_cap_mbit: 150, downtime_limit_ms: 2000, timeout_s: 90 }\n`,
  );
  return { dir, file };
}

export function startRunner(file: string, out: string, extra: string[] = []): RunnerChild {
  const [node, main] = pofbenchCommand();
  const args = [main, 'run', file, '--strategies', 'stock', '--verify-ram', '--out', out, '--seed', '1', ...extra];
  const child = execa(node, args, { reject: false, all: true });
  const migrating = new Promise<boolean>((resolve) => {
    child.stderr?.on('data', (d: Buffer) => {
      if (/migrating src -> dst/.test(String(d))) resolve(true);
    });
    void child.finally(() => resolve(false));
  });
  return { child, file, out, migrating };
}

/** `pofbench run` again on the same scenario (--resume SESSION, or --out ROOT). */
export function rerun(file: string, args: string[]) {
  const [node, main] = pofbenchCommand();
  return execa(node, [main, 'run', file, '--strategies', 'stock', '--verify-ram', '--seed', '1', '--quiet', ...args], {
    reject: false,
    all: true,
  });
}

/** The one session a `pofbench run` made under `out`, and its records (from disk). */
export async function sessionRecords(out: string): Promise<{ session: string; records: RunRecord[] }> {
  const session = (await listSessions(out).catch(() => [])).find((x) => x.manifest)?.dir ?? out;
  return { session, records: await readRecords(session) };
}
