import { run } from '../../util/exec.js';
import { stopPid, waitReaped } from './daemons.js';
import { ensureNamespace, ipIn, linkExists, listOurNamespaces, pidsInNamespace } from './netns.js';
import {
  HOST_VM_BRIDGE,
  NETWORKS,
  NS_PREFIX,
  SWITCH_NS,
  TAP,
  hasAddress,
  hostAddress,
  hostNets,
  localHosts,
  nicName,
  nsName,
  parsePairHost,
  switchPort,
  type LocalHost,
} from './topology.js';

type Log = (line: string) => void;

async function ensureBridges(log: Log): Promise<void> {
  if (await ensureNamespace(SWITCH_NS)) log(`namespace ${SWITCH_NS} created`);
  for (const [net, { bridge }] of Object.entries(NETWORKS)) {
    if (!(await linkExists(SWITCH_NS, bridge))) {
      await ipIn(SWITCH_NS, ['link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      log(`bridge ${bridge} (${net}) created`);
    }
    await ipIn(SWITCH_NS, ['link', 'set', bridge, 'up']);
  }
}

/** The host's namespace, one veth per network into the switch's bridges, and (src/dst) the guest's tap bridge. */
async function ensureHost(host: LocalHost, log: Log): Promise<void> {
  const ns = nsName(host);
  if (await ensureNamespace(ns)) log(`namespace ${ns} created`);
  for (const net of hostNets(host)) {
    const nic = nicName(net);
    const port = switchPort(host, net);
    if (!(await linkExists(ns, nic))) {
      await ipIn(SWITCH_NS, ['link', 'del', port], { allowFail: true });
      await ipIn(SWITCH_NS, ['link', 'add', port, 'type', 'veth', 'peer', 'name', nic, 'netns', ns]);
      await ipIn(SWITCH_NS, ['link', 'set', port, 'master', NETWORKS[net].bridge, 'up']);
    }
    await ipIn(ns, ['link', 'set', nic, 'up']);
    if (hasAddress(host, net)) await ipIn(ns, ['addr', 'replace', `${hostAddress(host, net)}/24`, 'dev', nic]);
  }
  if (!parsePairHost(host)) return;
  if (!(await linkExists(ns, HOST_VM_BRIDGE))) {
    await ipIn(ns, ['link', 'add', HOST_VM_BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  }
  if (!(await linkExists(ns, TAP))) await ipIn(ns, ['tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
  await ipIn(ns, ['link', 'set', nicName('vm'), 'master', HOST_VM_BRIDGE]);
  await ipIn(ns, ['link', 'set', TAP, 'master', HOST_VM_BRIDGE, 'up']);
  await ipIn(ns, ['link', 'set', HOST_VM_BRIDGE, 'up']);
}

/** The switch, the controller, the NAS and `pairs` host pairs (idempotent: repairs what is missing). */
export async function ensureNetwork(pairs: number, log: Log): Promise<void> {
  await ensureBridges(log);
  for (const host of localHosts(pairs)) await ensureHost(host, log);
}

/** Stops every process in a namespace (all ours: we made it); returns their PIDs (see waitReaped). */
export async function stopNamespaceProcesses(ns: string, log: Log): Promise<number[]> {
  const pids = await pidsInNamespace(ns);
  await Promise.all(
    pids.map(async (pid) => {
      await stopPid(pid, 2000);
      log(`stopped pid ${pid} in ${ns}`);
    }),
  );
  return pids;
}

/** Deletes a namespace (its veths go with it). */
export async function deleteNamespace(ns: string, log: Log): Promise<void> {
  await run('ip', ['netns', 'del', ns], { allowFail: true });
  log(`namespace ${ns} removed`);
}

/** Removes the hosts of pairs beyond `pairs` (a testbed brought up again with fewer pairs). */
export async function removePairsBeyond(pairs: number, log: Log): Promise<void> {
  for (const ns of await listOurNamespaces()) {
    const p = parsePairHost(ns.slice(NS_PREFIX.length));
    if (p && p.pair > pairs) {
      await waitReaped(await stopNamespaceProcesses(ns, log));
      await deleteNamespace(ns, log);
    }
  }
}
