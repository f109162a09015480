/**
 * Rows about the runner process and the testbed: the runner signalled mid-migration (SIGINT,
 * SIGINT twice, SIGHUP, SIGTERM-like exits; SIGKILL then `testbed down`/up), each followed by
 * --resume where it applies; a second session on the busy testbed; the results disk filling up.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { pofbenchCommand } from '../util/paths.js';
import { sleep } from '../util/exec.js';
import { pofbenchNamespaces } from './leftovers.js';
import {
  leftoversAfter,
  newLeftovers,
  recordText,
  row,
  type ExtraRow,
  type FaultRow,
  type SuiteContext,
} from './row.js';
import { rerun, scenarioFile, sessionRecords, startRunner } from './runnerChild.js';
import { DISK_FULL_ROW, SECOND_SESSION_ROW } from './testbedRows.js';

interface SignalPlan {
  signal: 'SIGINT' | 'SIGHUP' | 'SIGKILL';
  /** Signal again 300 ms later (a second Ctrl-C: stop waiting, but still clean up). */
  twice?: boolean;
  /** Send to an unreachable InfluxDB: the interrupted run's points must be spooled. */
  influx?: boolean;
  /** Continue the session with --resume afterwards (it must complete the interrupted run). */
  resume: boolean;
}

const rowName = (p: SignalPlan) => `runner-${p.signal.toLowerCase()}${p.twice ? '-twice' : ''}`;

/** Kills a SIGKILLed runner's orphans with `testbed down`, checks nothing is left, brings the testbed up again. */
async function afterSigkill(c: SuiteContext, leftovers: string[]): Promise<{ leftovers: string[]; src: string }> {
  const src = leftovers.some((l) => /-name pofbench-src/.test(l)) ? 'running (orphaned until testbed down)' : 'gone';
  const [node, main] = pofbenchCommand();
  await execa(node, [main, 'testbed', 'down'], { reject: false });
  const after = [...newLeftovers(c), ...pofbenchNamespaces().map((n) => `netns ${n}`)];
  c.testbed = await c.bringUp();
  return { leftovers: after, src };
}

/** `--resume` of the interrupted session: it must complete the interrupted run. */
async function resumeSession(c: SuiteContext, file: string, session: string, out: string, problems: string[]) {
  const res = await rerun(file, ['--resume', session]);
  const leftovers = await leftoversAfter(c);
  const done = (await sessionRecords(out)).records.find((x) => x.status === 'completed');
  if (!done || res.exitCode !== 0) problems.push(`--resume did not complete it: ${String(res.all ?? '').slice(-300)}`);
  const said = done
    ? `completed (${done.passes} passes, RAM ${done.ram_identical ? 'identical' : 'not compared'})`
    : 'NOT completed';
  return { leftovers, said };
}

async function signalRow(c: SuiteContext, p: SignalPlan): Promise<FaultRow> {
  const name = rowName(p);
  c.log(`${name} (stock): the runner gets ${p.signal}${p.twice ? ' twice' : ''} mid-migration`);
  const { dir, file } = scenarioFile(c.outDir, name);
  const out = join(dir, 'results');
  const r = startRunner(
    file,
    out,
    p.influx ? ['--influx-url', 'http://127.0.0.1:9', '--influx-org', 'pofbench', '--influx-bucket', 'faults'] : [],
  );
  const migrating = await r.migrating;
  let signalledAt = 0;
  if (migrating && !c.skipInjection) {
    await sleep(1500);
    signalledAt = Date.now();
    r.child.kill(p.signal);
    if (p.twice) setTimeout(() => r.child.kill(p.signal), 300);
  }
  const exit = await r.child;
  const exitS = signalledAt ? ((Date.now() - signalledAt) / 1000).toFixed(1) : '-';
  const { session, records } = await sessionRecords(out);
  const hit = records.find((x) => x.scenario === `fault-${name}`);
  // before any teardown: a runner that cleaned up left nothing; a SIGKILLed one leaves its run (testbed down cleans)
  let leftovers = (await leftoversAfter(c)).map((l) => `after ${p.signal}: ${l}`);
  let src = '(runner gone)';
  if (p.signal === 'SIGKILL') ({ leftovers, src } = await afterSigkill(c, leftovers));
  const problems: string[] = [];
  if (!signalledAt) problems.push(`not signalled (${migrating ? 'skipped' : 'the runner never migrated'})`);
  // SIGKILL: the provisional record stays; twice: the record may be written before or after the run's own failure
  const reason = p.signal === 'SIGKILL' || p.twice ? /interrupted/ : new RegExp(`interrupted by ${p.signal}`);
  if (hit?.status !== 'failed' || !reason.test(hit.error ?? ''))
    problems.push(`the record does not say ${reason.source}: ${hit ? `${hit.status} ${hit.error}` : 'no record'}`);
  if (p.signal !== 'SIGKILL' && exit.exitCode !== 130) problems.push(`runner exit code ${exit.exitCode} (not 130)`);
  if (p.twice && signalledAt && Number(exitS) > 20) problems.push(`the second signal did not cut the wait: ${exitS} s`);
  const spooled = hit ? existsSync(join(session, hit.run_id, 'influx-spool.lp')) : false;
  if (p.influx && !spooled) problems.push("the interrupted run's points were not spooled");
  let resumed = '';
  if (p.resume) {
    const res = await resumeSession(c, file, session, out, problems);
    leftovers = [...leftovers, ...res.leftovers];
    resumed = `; --resume → ${res.said}`;
  }
  const observed =
    `exit ${exit.exitCode ?? exit.signal} ${exitS} s after the signal; record ${recordText(hit, 50)}` +
    `${p.influx ? (spooled ? '; points spooled' : '; points NOT spooled') : ''}${resumed}`;
  const expected =
    `record failed "${reason.source}"${p.signal !== 'SIGKILL' ? '; exit 130; clean-up before exit' : ''}` +
    `${p.influx ? '; points spooled' : ''}${p.resume ? '; --resume completes it' : ''}`;
  return row({ fault: name, strategy: 'stock', expected, observed, src_vm_after: src }, leftovers, problems);
}

const SIGNAL_PLANS: SignalPlan[] = [
  { signal: 'SIGINT', resume: true },
  { signal: 'SIGINT', twice: true, resume: false },
  { signal: 'SIGHUP', influx: true, resume: false },
  { signal: 'SIGKILL', resume: true },
];

export const RUNNER_ROWS: ExtraRow[] = [
  ...SIGNAL_PLANS.map((p) => ({ name: rowName(p), run: (c: SuiteContext) => signalRow(c, p) })),
  SECOND_SESSION_ROW,
  DISK_FULL_ROW,
];
