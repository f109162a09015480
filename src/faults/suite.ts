/**
 * `pofbench faults`: every fault of ./catalog.ts on the local testbed, then the rows about the
 * runner, InfluxDB and the testbed (./runnerRows.ts, ./influxRows.ts). Each row says what was
 * expected (the reason a failure must give included), what happened (judged on the run.json on
 * disk), the source VM's state after a failed migration, and what was left behind (there must be
 * nothing, looked at before any teardown).
 */
import type { TestbedSpec } from '../testbed/spec.js';
import type { GuestImage } from '../image/build.js';
import { parseScenario } from '../scenario/load.js';
import { runSession } from '../runner/session.js';
import type { MigratingContext } from '../runner/migrationRun.js';
import { errorMessage } from '../util/errors.js';
import { FAULTS, type MigrationFault } from './catalog.js';
import { midStream } from './inject.js';
import { runLeftovers } from './leftovers.js';
import { expectedText, judgeRun, recordOnDisk, type Injection } from './judge.js';
import { leftoversAfter, row, type ExtraRow, type FaultRow, type SuiteContext } from './row.js';
import { INFLUX_ROWS } from './influxRows.js';
import { RUNNER_ROWS } from './runnerRows.js';

export type { FaultRow } from './row.js';

/** The rows besides the catalog's, in the order they run. */
export const EXTRA_ROWS: ExtraRow[] = [...INFLUX_ROWS, ...RUNNER_ROWS];

/** Every row name `--only` accepts. */
export const faultNames = (): string[] => [...FAULTS.map((f) => f.name), ...EXTRA_ROWS.map((r) => r.name)];

const scenarioYaml = (name: string, linkCap: number, timeoutS: number) =>
  `name: ${name}\nguest: { memory_mib: 256 }\nworkload: { type: pagecache, dataset_mib: 96, warmup_s: 1 ` +
  `}\nmigration: { link_cap_mbit: ${linkCap}, timeout_s: ${timeoutS} }\n`;

/** Injects the fault once `atRamShare` of RAM is sent (or, skipping injection, only waits for that point). */
async function inject(f: MigrationFault, m: MigratingContext, inj: Injection, skip: boolean): Promise<void> {
  try {
    const prepared = await f.prepare?.(m);
    inj.point = await midStream(m, f.atRamShare);
    if (skip) inj.error = 'skipped (--skip-injection)';
    else inj.did = await f.act(m, prepared);
  } catch (err) {
    inj.error ??= errorMessage(err);
    throw err;
  }
}

/** One fault with one strategy: a session of `runs` runs, the fault in the first; judged from disk. */
async function migrationFaultRow(c: SuiteContext, f: MigrationFault, strategy: string): Promise<FaultRow> {
  c.log(`${f.name} (${strategy}): ${f.description}`);
  const scenario = parseScenario(
    scenarioYaml(`fault-${f.name}`, f.linkCapMbit ?? 200, f.timeoutS ?? 90),
    `fault-${f.name}.yaml`,
  );
  const inj: Injection = {};
  let first = true;
  const records = await runSession({
    scenarios: [scenario],
    strategies: [strategy],
    repeat: f.runs ?? 1,
    testbed: c.testbed,
    image: c.image,
    outDir: c.outDir,
    seed: 1,
    quiet: true,
    verifyRam: true,
    onMigrating: async (m) => {
      if (!first) return;
      first = false;
      await inject(f, m, inj, c.skipInjection);
    },
  });
  const leftovers = await leftoversAfter(c);
  const [r, ...later] = await Promise.all(records.map((x) => recordOnDisk(c.outDir, x.run_id)));
  const v = judgeRun(f, r, inj);
  for (const l of later)
    if (l?.status !== 'completed') v.problems.push(`a later run did not complete: ${l?.error ?? 'no run.json'}`);
  const observed = `${v.observed}${later.length ? `; later runs: ${later.map((l) => l?.status).join(', ')}` : ''}`;
  const srcAfter = r?.status === 'completed' ? '(moved)' : (r?.src_vm_status_after ?? '?');
  const out = row({ fault: f.name, strategy, expected: expectedText(f), observed, src_vm_after: srcAfter }, leftovers, [
    ...v.problems,
  ]);
  c.log(`  → ${out.ok ? 'ok' : 'NOT OK'}: ${observed}${out.detail ? ` [${out.detail}]` : ''}`);
  return out;
}

export interface FaultSuiteOptions {
  testbed: TestbedSpec;
  /** Brings the local testbed up again (after the SIGKILL row's `testbed down`). */
  bringUp: () => Promise<TestbedSpec>;
  image: GuestImage;
  outDir: string;
  only?: string[];
  log?: (line: string) => void;
  /** Run every row without injecting its fault (each row's judge must then fail). */
  skipInjection?: boolean;
}

export async function runFaultSuite(o: FaultSuiteOptions): Promise<FaultRow[]> {
  const want = (name: string) => !o.only || o.only.includes(name);
  const c: SuiteContext = {
    testbed: o.testbed,
    bringUp: o.bringUp,
    image: o.image,
    outDir: o.outDir,
    log: o.log ?? (() => undefined),
    skipInjection: o.skipInjection ?? false,
    baseline: new Set(runLeftovers()),
  };
  if (c.baseline.size) c.log(`left over before the suite (not held against any row): ${[...c.baseline].join('; ')}`);
  const rows: FaultRow[] = [];
  for (const f of FAULTS.filter((x) => want(x.name)))
    for (const strategy of f.strategies) rows.push(await migrationFaultRow(c, f, strategy));
  for (const extra of EXTRA_ROWS.filter((x) => want(x.name))) {
    const r = await extra.run(c);
    c.log(`  → ${r.ok ? 'ok' : 'NOT OK'}: ${r.observed}${r.detail ? ` [${r.detail}]` : ''}`);
    rows.push(r);
  }
  return rows;
}
