/**
 * The verdict on one fault row, from what is on disk: the run's run.json (not the runner's copy in
 * memory), whether the fault was injected where it should land, and what the failure says.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunRecord } from '../results/record.js';
import type { MigrationFault } from './catalog.js';
import { describePoint, type StreamPoint } from './inject.js';

/** What the injector did in one run. */
export interface Injection {
  point?: StreamPoint;
  /** What the fault did (unset: not injected). */
  did?: string;
  /** Why it was not injected (or broke while injecting). */
  error?: string;
}

export interface Verdict {
  ok: boolean;
  observed: string;
  /** Every expectation the run did not meet (empty when ok). */
  problems: string[];
}

/** The run's record as stored in its directory, or undefined when there is none (or it does not parse). */
export async function recordOnDisk(outDir: string, runId: string): Promise<RunRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(outDir, runId, 'run.json'), 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

/** What a row expects, in words (the reason a failure must give included). */
export function expectedText(f: Pick<MigrationFault, 'expect' | 'reason' | 'srcAfter' | 'runs'>): string {
  const parts: string[] = [f.expect];
  if (f.reason && f.expect !== 'complete') parts.push(`error ~ /${f.reason.source}/`);
  if (f.expect !== 'complete') parts.push(`source VM ${f.srcAfter ?? 'running'} after a failure`);
  if ((f.runs ?? 1) > 1) parts.push('later runs complete');
  return parts.join('; ');
}

const injectionText = (i: Injection) =>
  i.did ? `${i.did}${i.point ? ` ${describePoint(i.point)}` : ''}` : `NOT injected (${i.error ?? 'no migration seen'})`;

/** The verdict on the injected run: the fault landed, and the outcome and its reason are what the row expects. */
export function judgeRun(
  f: Pick<MigrationFault, 'expect' | 'reason' | 'srcAfter' | 'checkCompleted'>,
  r: RunRecord | undefined,
  inj: Injection,
): Verdict {
  const problems: string[] = [];
  if (!inj.did) problems.push(`the fault was not injected: ${inj.error ?? 'the run never migrated'}`);
  if (!r) return { ok: false, observed: 'no run.json on disk', problems: [...problems, 'no run.json on disk'] };
  let observed: string;
  if (r.status === 'completed') {
    observed = `completed${r.ram_identical === true ? ', RAM identical' : ', RAM NOT identical'}`;
    if (f.expect === 'fail') problems.push('expected the run to fail, it completed');
    if (r.ram_identical !== true) problems.push('RAM not shown identical');
    const extra = f.checkCompleted?.(r);
    if (extra) problems.push(extra);
  } else {
    observed = `failed: ${(r.error ?? '').slice(0, 90)}`;
    if (f.expect === 'complete') problems.push('expected the run to complete, it failed');
    if (f.reason && !f.reason.test(r.error ?? ''))
      problems.push(`the error does not give the expected reason /${f.reason.source}/: ${r.error ?? '(none)'}`);
    const src = r.src_vm_status_after ?? '?';
    const want = f.srcAfter ?? 'running';
    if (want === 'running' && src !== 'running') problems.push(`source VM ${src} after the failure (expected running)`);
    if (want === 'gone' && src === 'running') problems.push('source VM still running (its QEMU was killed)');
  }
  return { ok: problems.length === 0, observed: `${injectionText(inj)} → ${observed}`, problems };
}
