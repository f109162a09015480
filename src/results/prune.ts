import { rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { listSessions, type SessionSummary } from './session.js';

/** Retention of the sessions under a results root (the nightly's `results prune`). */
export interface RetentionPolicy {
  /** Always keep the newest N sessions (by start time). */
  keep: number;
  /** Of the others, remove only those started more than this many days ago (undefined: remove them all). */
  maxAgeDays?: number;
}

export interface PruneDecision {
  dir: string;
  session_id?: string;
  started_at?: string;
  remove: boolean;
  why: string;
}

const DAY_MS = 86_400_000;

/**
 * Which sessions go: everything but the newest `keep` (by started_at) that is older than
 * `maxAgeDays` when given. Never a session still `running` (unless older than maxAgeDays: a runner
 * that died), never a directory whose manifest cannot be read, never runs outside a session.
 */
export function retentionDecisions(
  sessions: readonly SessionSummary[],
  p: RetentionPolicy,
  now: Date,
): PruneDecision[] {
  const withManifest = sessions
    .filter((s) => s.manifest && s.dir !== undefined)
    .sort((a, b) => (a.manifest!.started_at < b.manifest!.started_at ? 1 : -1));
  const out: PruneDecision[] = [];
  withManifest.forEach((s, i) => {
    const m = s.manifest!;
    const base = { dir: s.dir, session_id: m.session_id, started_at: m.started_at };
    const ageDays = (now.getTime() - Date.parse(m.started_at)) / DAY_MS;
    if (i < p.keep) out.push({ ...base, remove: false, why: `one of the newest ${p.keep}` });
    else if (p.maxAgeDays !== undefined && !(ageDays > p.maxAgeDays))
      out.push({ ...base, remove: false, why: `started ${ageDays.toFixed(1)} days ago (max ${p.maxAgeDays})` });
    else if (m.status === 'running' && p.maxAgeDays === undefined)
      out.push({ ...base, remove: false, why: 'still running' });
    else out.push({ ...base, remove: true, why: `beyond the newest ${p.keep}` });
  });
  for (const s of sessions.filter((x) => !x.manifest))
    out.push({
      dir: s.dir,
      remove: false,
      why: s.problem ? `unreadable session.json (${s.problem})` : 'not a session',
    });
  return out;
}

/** Applies the policy to the sessions under `root` (nothing is removed with dryRun). */
export async function pruneSessions(
  root: string,
  p: RetentionPolicy,
  o: { dryRun?: boolean; now?: Date } = {},
): Promise<PruneDecision[]> {
  const top = resolve(root);
  const decisions = retentionDecisions(await listSessions(top), p, o.now ?? new Date());
  // only session directories right under the root, never the root itself
  for (const d of decisions) if (d.remove && dirname(d.dir) !== top) d.remove = false;
  if (!o.dryRun) for (const d of decisions) if (d.remove) await rm(d.dir, { recursive: true, force: true });
  return decisions;
}
