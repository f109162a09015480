import { pidRunning } from '../../util/exec.js';
import { nasState } from './nas.js';
import { listOurNamespaces, pidsInNamespace } from './netns.js';
import { sshdPid } from './sshd.js';
import { NS_PREFIX, SWITCH_NS, hostAddress, localHosts, nsName, parsePairHost } from './topology.js';

export interface StatusLine {
  component: string;
  ok: boolean;
  detail: string;
}

/** The highest pair with any host namespace present (1 when none: the testbed's default shape). */
export function pairsInNamespaces(namespaces: readonly string[]): number {
  let most = 1;
  for (const ns of namespaces) {
    const p = ns.startsWith(NS_PREFIX) ? parsePairHost(ns.slice(NS_PREFIX.length)) : undefined;
    if (p && p.pair > most) most = p.pair;
  }
  return most;
}

/** Every namespace, sshd, the NAS and each pair host's QEMUs: what is up and what is broken. */
export async function localStatus(): Promise<StatusLine[]> {
  const lines: StatusLine[] = [];
  const namespaces = await listOurNamespaces();
  const hosts = localHosts(pairsInNamespaces(namespaces));
  for (const ns of [SWITCH_NS, ...hosts.map(nsName)]) {
    const present = namespaces.includes(ns);
    lines.push({ component: `namespace ${ns}`, ok: present, detail: present ? 'present' : 'missing' });
  }
  if (!namespaces.includes(SWITCH_NS)) return lines;
  const up = hosts.filter((h) => namespaces.includes(nsName(h)));
  const pairHosts = up.filter((h) => parsePairHost(h));
  for (const h of [...pairHosts, ...up.filter((h) => h === 'nas')]) {
    const pid = await sshdPid(h);
    lines.push({
      component: `sshd ${h}`,
      ok: !!pid,
      detail: pid ? `pid ${pid}, ${hostAddress(h, 'mgmt')}:22` : 'not running',
    });
  }
  if (up.includes('nas')) lines.push({ component: 'nfs-ganesha nas', ...(await nasState()) });
  for (const h of pairHosts) {
    const qemus = [];
    for (const pid of await pidsInNamespace(nsName(h))) if (await pidRunning(pid, 'qemu-system')) qemus.push(pid);
    lines.push({
      component: `qemu ${h}`,
      ok: true,
      detail: qemus.length ? `running: pid ${qemus.join(', ')}` : 'none',
    });
  }
  return lines;
}
