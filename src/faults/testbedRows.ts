/**
 * Rows about the session around the runs: a second `pofbench run` on a busy testbed (refused by the
 * session lock, naming the holder), and the results directory filling up mid-migration (a small
 * tmpfs as --out, filled once the run migrates: the run fails with the reason, everything is
 * cleaned up, the runner exits).
 */
import { execa } from 'execa';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../util/exec.js';
import { leftoversAfter, recordText, row, type ExtraRow, type FaultRow, type SuiteContext } from './row.js';
import { rerun, scenarioFile, sessionRecords, startRunner } from './runnerChild.js';

async function secondSession(c: SuiteContext): Promise<FaultRow> {
  c.log('second-session (stock): a second `pofbench run` while one migrates');
  const { dir, file } = scenarioFile(c.outDir, 'second-session');
  const first = startRunner(file, join(dir, 'results'));
  const migrating = await first.migrating;
  const problems: string[] = [];
  let observed = 'the first session never migrated';
  if (migrating && !c.skipInjection) {
    const t0 = Date.now();
    const second = await rerun(file, ['--out', join(dir, 'second')]);
    const said = String(second.all ?? '');
    const s = ((Date.now() - t0) / 1000).toFixed(1);
    observed = `second: exit ${second.exitCode} after ${s} s: ${said.trim().split('\n')[0]?.slice(0, 110)}`;
    if (second.exitCode !== 2) problems.push(`the second session exited ${second.exitCode} (expected 2, refused)`);
    if (!said.includes(`session pid ${first.child.pid}`)) problems.push('the refusal does not name the holder');
  } else problems.push(migrating ? 'no second session started (skipped)' : observed);
  first.child.kill('SIGINT');
  const exit = await first.child;
  const leftovers = await leftoversAfter(c);
  if (exit.exitCode !== 130) problems.push(`the first session exited ${exit.exitCode} after SIGINT (expected 130)`);
  return row(
    {
      fault: 'second-session',
      strategy: 'stock',
      expected: 'the second refused (exit 2), naming the holder pid; the first unharmed',
      observed,
      src_vm_after: '(first session interrupted)',
    },
    leftovers,
    problems,
  );
}

/** Fills the tmpfs at `mnt` to the last block. */
const fill = (mnt: string) => execa('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=64k'], { reject: false });

async function diskFull(c: SuiteContext): Promise<FaultRow> {
  c.log('disk-full (stock): the results directory (a 16 MiB tmpfs) fills up mid-migration');
  const { dir, file } = scenarioFile(c.outDir, 'disk-full');
  const mnt = join(dir, 'tmpfs');
  mkdirSync(mnt);
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'pofb-disk-full', mnt]);
  const problems: string[] = [];
  try {
    const r = startRunner(file, mnt);
    const migrating = await r.migrating;
    if (migrating && !c.skipInjection) {
      await sleep(1000);
      await fill(mnt);
    } else problems.push(migrating ? 'the disk was not filled (skipped)' : 'the runner never migrated');
    const exit = await r.child;
    const leftovers = await leftoversAfter(c);
    const { records } = await sessionRecords(mnt);
    const hit = records[0];
    if (exit.exitCode === 0) problems.push('the runner exited 0');
    if (hit?.status !== 'failed' || !/ENOSPC|no space/i.test(hit.error ?? ''))
      problems.push(`the record does not give the full disk as the reason: ${hit ? hit.error : 'no record'}`);
    return row(
      {
        fault: 'disk-full',
        strategy: 'stock',
        expected: 'record failed "ENOSPC"; exit non-zero; clean-up ran',
        observed: `exit ${exit.exitCode}; record ${recordText(hit, 70)}`,
        src_vm_after: '(runner exited)',
      },
      leftovers,
      problems,
    );
  } finally {
    await execa('umount', [mnt], { reject: false });
  }
}

export const SECOND_SESSION_ROW: ExtraRow = { name: 'second-session', run: secondSession };
export const DISK_FULL_ROW: ExtraRow = { name: 'disk-full', run: diskFull };
