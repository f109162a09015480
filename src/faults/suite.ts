/**
 * `pofbench faults`: every fault of ./catalog.ts on the local testbed, plus an unreachable
 * InfluxDB and the runner itself killed mid-migration (SIGINT, SIGKILL → testbed down → --resume).
 * Each row says what was expected, what happened, the source VM's state after a failed migration,
 * and which per-run processes were left behind (there must be none).
 */
import { execa } from 'execa';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestbedSpec } from '../testbed/spec.js';
import type { GuestImage } from '../image/build.js';
import { parseScenario } from '../scenario/load.js';
import { runSession } from '../runner/session.js';
import type { RunRecord } from '../results/record.js';
import { readRecords } from '../results/runReader.js';
import { listSessions } from '../results/session.js';
import { InfluxSink } from '../sinks/influx.js';
import { pofbenchCommand } from '../util/paths.js';
import { sleep } from '../util/exec.js';
import { FAULTS, type Expectation, type MigrationFault } from './catalog.js';
import { runLeftovers, pofbenchNamespaces } from './leftovers.js';

export interface FaultRow {
  fault: string;
  strategy: string;
  expected: Expectation | string;
  observed: string;
  src_vm_after: string;
  leftovers: string[];
  ok: boolean;
  detail?: string;
}

async function leftoversAfter(): Promise<string[]> {
  for (let i = 0; i < 25; i++) {
    const l = runLeftovers();
    if (l.length === 0) return [];
    await sleep(200);
  }
  return runLeftovers();
}

const scenarioYaml = (name: string, linkCap: number, timeoutS: number) =>
  `name: ${name}\nguest: { memory_mib: 256 }\nworkload: { type: pagecache, dataset_mib: 96, warmup_s: 1 ` +
  `}\nmigration: { link_cap_mbit: ${linkCap}, timeout_s: ${timeoutS} }\n`;

function judge(
  fault: Pick<MigrationFault, 'expect' | 'checkCompleted' | 'checkFailed'>,
  r: RunRecord,
): { ok: boolean; observed: string; detail?: string } {
  if (r.status === 'completed') {
    const extra = fault.checkCompleted?.(r);
    const ramOk = r.ram_identical === true;
    return {
      ok: fault.expect !== 'fail' && ramOk && !extra,
      observed: `completed${ramOk ? ', RAM identical' : ', RAM DIFFERS'}`,
      detail: extra ?? (typeof r.fault_error === 'string' ? `injection: ${r.fault_error}` : undefined),
    };
  }
  const running = r.src_vm_status_after === 'running';
  const extra = fault.checkFailed?.(r);
  return {
    ok: fault.expect !== 'complete' && running && !extra,
    observed: `failed: ${(r.error ?? '').slice(0, 90)}`,
    detail: extra ?? (typeof r.fault_error === 'string' ? `injection: ${r.fault_error}` : undefined),
  };
}

export interface FaultSuiteOptions {
  testbed: TestbedSpec;
  /** Brings the local testbed up again (after the SIGKILL row's `testbed down`). */
  bringUp: () => Promise<TestbedSpec>;
  image: GuestImage;
  outDir: string;
  only?: string[];
  log?: (line: string) => void;
}

export async function runFaultSuite(o: FaultSuiteOptions): Promise<FaultRow[]> {
  const log = o.log ?? (() => undefined);
  const rows: FaultRow[] = [];
  const want = (name: string) => !o.only || o.only.includes(name);
  let testbed = o.testbed;

  for (const fault of FAULTS.filter((f) => want(f.name))) {
    for (const strategy of fault.strategies) {
      log(`${fault.name} (${strategy}): ${fault.description}`);
      const scenario = parseScenario(
        scenarioYaml(`fault-${fault.name}`, fault.linkCapMbit ?? 200, fault.timeoutS ?? 90),
        `fault-${fault.name}.yaml`,
      );
      const [r] = await runSession({
        scenarios: [scenario],
        strategies: [strategy],
        testbed,
        image: o.image,
        outDir: o.outDir,
        seed: 1,
        quiet: true,
        verifyRam: true,
        onMigrating: (m) => fault.inject(m),
      });
      const j = judge(fault, r);
      const leftovers = await leftoversAfter();
      rows.push({
        fault: fault.name,
        strategy,
        expected: fault.expect,
        observed: j.observed,
        src_vm_after: r.status === 'completed' ? '(moved)' : (r.src_vm_status_after ?? '?'),
        leftovers,
        ok: j.ok && leftovers.length === 0,
        detail: j.detail,
      });
      log(`  → ${rows[rows.length - 1].ok ? 'ok' : 'NOT OK'}: ${j.observed}`);
    }
  }

  if (want('influx-unreachable')) {
    log('influx-unreachable (stock): InfluxDB down for the whole run');
    const scenario = parseScenario(
      'name: fault-influx\nguest: { memory_mib: 192 }\nworkload: { type: idle, warmup_s: 0 }\n',
      'fault-influx.yaml',
    );
    const sink = new InfluxSink(
      { url: 'http://127.0.0.1:9', org: 'pofbench', bucket: 'faults' },
      (l) => log(`  ${l}`),
      { batchSize: 5000, maxRetries: 1, minRetryDelayMs: 100, maxRetryDelayMs: 200, timeoutMs: 2000 },
    );
    const [r] = await runSession({
      scenarios: [scenario],
      strategies: ['stock'],
      testbed,
      image: o.image,
      outDir: o.outDir,
      seed: 1,
      quiet: true,
      onRecord: async (rec, dir) => {
        await sink.writeRun(rec, dir);
      },
    });
    const spooled = existsSync(join(o.outDir, r.run_id, 'influx-spool.lp'));
    const leftovers = await leftoversAfter();
    rows.push({
      fault: 'influx-unreachable',
      strategy: 'stock',
      expected: 'complete, points spooled',
      observed: `${r.status}${spooled ? ', spooled' : ', NOT spooled'}`,
      src_vm_after: '(moved)',
      leftovers,
      ok: r.status === 'completed' && spooled && leftovers.length === 0,
    });
  }

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    const name = `runner-${signal.toLowerCase()}`;
    if (!want(name)) continue;
    log(
      `${name} (stock): the runner killed with ${signal} mid-migration, then ` +
        `${signal === 'SIGKILL' ? 'testbed down, up and ' : ''}--resume`,
    );
    // under the suite's results directory: its records stay with the other fault runs (and go with them)
    const dir = mkdtempSync(join(o.outDir, `${name}-`));
    const file = join(dir, `fault-${name}.yaml`);
    // idle guest, --verify-ram (no NIC: the resumed run's RAM is checked too), 2 s downtime budget:
    // the migration runs long enough to be killed in (≈8 s at 150 Mbit/s)
    writeFileSync(
      file,
      `name: fault-${name}\nguest: { memory_mib: 256 }\nworkload: { type: idle, warmup_s: 1 }\nmigration: { ` +
        `link_cap_mbit: 150, downtime_limit_ms: 2000, timeout_s: 90 }\n`,
    );
    const out = join(dir, 'results');
    const [node, main] = pofbenchCommand();
    const child = execa(
      node,
      [main, 'run', file, '--strategies', 'stock', '--verify-ram', '--out', out, '--seed', '1'],
      { reject: false, all: true },
    );
    let sawMigrating = false;
    child.stderr?.on('data', (d: Buffer) => {
      if (!sawMigrating && /migrating src -> dst/.test(String(d))) {
        sawMigrating = true;
        setTimeout(() => {
          if (child.pid) process.kill(child.pid, signal);
        }, 1500);
      }
    });
    await child;
    // `pofbench run` made one session under `out`: the records, and what --resume continues
    const session = (await listSessions(out).catch(() => [])).find((x) => x.manifest)?.dir ?? out;
    const after = await readRecords(session);
    const interrupted = after.find((r) => r.scenario === `fault-${name}`);
    // SIGINT: the runner cleans up before it exits, so nothing of the run may be left even before --resume
    let leftovers = (await leftoversAfter()).map((l) => `after ${signal}: ${l}`);
    let srcAfter = '(runner gone)';
    if (signal === 'SIGKILL') {
      // a killed runner cleans nothing: `testbed down` must remove everything, even so
      srcAfter = leftovers.some((l) => /-name pofbench-src/.test(l)) ? 'running (orphaned until testbed down)' : 'gone';
      await execa(node, [main, 'testbed', 'down'], { reject: false });
      leftovers = [...runLeftovers(), ...pofbenchNamespaces().map((n) => `netns ${n}`)];
      testbed = await o.bringUp();
    }
    const resumed = await execa(
      node,
      [main, 'run', file, '--strategies', 'stock', '--verify-ram', '--resume', session, '--seed', '1', '--quiet'],
      { reject: false, all: true },
    );
    leftovers = [...leftovers, ...(await leftoversAfter())];
    const final = (await readRecords(session)).filter((r) => r.scenario === `fault-${name}`);
    const completed = final.filter((r) => r.status === 'completed').length;
    const done = final.find((r) => r.status === 'completed');
    // SIGINT: the runner writes the reason before it exits; SIGKILL: the provisional record stays
    const reason = signal === 'SIGINT' ? /interrupted by SIGINT/ : /interrupted/;
    const kept = interrupted && interrupted.status === 'failed' && reason.test(interrupted.error ?? '');
    rows.push({
      fault: name,
      strategy: 'stock',
      expected: 'record kept as failed; --resume completes it',
      observed:
        `${sawMigrating ? 'killed mid-migration' : 'NOT killed mid-migration'}; record ` +
        `${interrupted ? `${interrupted.status} (${(interrupted.error ?? '').slice(0, 50)})` : 'MISSING'}; resume → ` +
        `${completed} completed` +
        (done ? ` (${done.passes} passes, RAM ${done.ram_identical ? 'identical' : 'not compared'})` : ''),
      src_vm_after: srcAfter,
      leftovers,
      ok: sawMigrating && !!kept && completed === 1 && resumed.exitCode === 0 && leftovers.length === 0,
      detail: resumed.exitCode === 0 ? undefined : resumeFailure(final, String(resumed.all ?? '')),
    });
  }
  return rows;
}

/**
 * Why a `--resume` did not complete: the resumed record's own error (it quotes QEMU's stderr), else the output's tail.
 */
function resumeFailure(records: { status: string; error?: string }[], output: string): string {
  const failed = records.filter((r) => r.status !== 'completed' && r.error && !/interrupted/i.test(r.error));
  return failed.length ? `resumed run: ${failed[failed.length - 1].error}` : output.slice(-300);
}
