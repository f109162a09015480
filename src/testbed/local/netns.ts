import { run, type RunResult } from '../../util/exec.js';
import { NS_PREFIX } from './topology.js';

/** Runs a command inside a network namespace (`ip netns exec`). */
export function inNs(ns: string, cmd: string[], opts: { allowFail?: boolean } = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, ...cmd], opts);
}

/** `ip ...` inside a namespace (`ip -n NS ...`), the fast path for link/address work. */
export function ipIn(ns: string, args: string[], opts: { allowFail?: boolean } = {}): Promise<RunResult> {
  return run('ip', ['-n', ns, ...args], opts);
}

export async function listOurNamespaces(): Promise<string[]> {
  const r = await run('ip', ['-j', 'netns', 'list'], { allowFail: true });
  if (r.exitCode !== 0 || !r.stdout.trim()) return [];
  const list = JSON.parse(r.stdout) as { name: string }[];
  return list.map((n) => n.name).filter((n) => n.startsWith(NS_PREFIX));
}

export async function ensureNamespace(ns: string): Promise<boolean> {
  if ((await listOurNamespaces()).includes(ns)) return false;
  await run('ip', ['netns', 'add', ns]);
  await ipIn(ns, ['link', 'set', 'lo', 'up']);
  return true;
}

export async function linkExists(ns: string, dev: string): Promise<boolean> {
  return (await ipIn(ns, ['link', 'show', 'dev', dev], { allowFail: true })).exitCode === 0;
}

/** PIDs of every process whose network namespace is `ns` (all of them are ours: we made the namespace). */
export async function pidsInNamespace(ns: string): Promise<number[]> {
  const r = await run('ip', ['netns', 'pids', ns], { allowFail: true });
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => n > 1 && n !== process.pid);
}

/** Reads a NIC's byte counters inside a namespace. */
export async function nicCounters(ns: string, dev: string): Promise<{ rx: number; tx: number } | undefined> {
  const r = await ipIn(ns, ['-j', '-s', 'link', 'show', 'dev', dev], { allowFail: true });
  if (r.exitCode !== 0) return undefined;
  const [link] = JSON.parse(r.stdout) as { stats64: { rx: { bytes: number }; tx: { bytes: number } } }[];
  return { rx: link.stats64.rx.bytes, tx: link.stats64.tx.bytes };
}
