import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { controllerHostCommand, imagesDir } from '../../util/paths.js';
import { requireCommands } from '../../util/exec.js';
import type { TestbedSpec, HostSpec } from '../spec.js';
import { knownHostsLine } from '../../hosts/knownHosts.js';
import { listOurNamespaces } from './netns.js';
import { deleteNamespace, ensureNetwork, removePairsBeyond, stopNamespaceProcesses } from './network.js';
import { ensureKeys, ensureSshd, hostPublicKey } from './sshd.js';
import { ensureNas } from './nas.js';
import { waitReaped } from './daemons.js';
import { pairsInNamespaces } from './status.js';
import { localPaths } from './paths.js';
import {
  MAX_PAIRS,
  NFS_EXPORT_PSEUDO,
  TAP,
  guestCidr,
  guestMac,
  hostAddress,
  localHosts,
  nicName,
  nsName,
  pairHost,
  pairLabel,
  type LocalHost,
} from './topology.js';

export { localPaths } from './paths.js';
export { localStatus, type StatusLine } from './status.js';

const REQUIRED = {
  ip: 'iproute2',
  tc: 'iproute2',
  unshare: 'util-linux',
  sshd: 'openssh-server',
  'ssh-keygen': 'openssh-client',
  'ganesha.nfsd': 'nfs-ganesha nfs-ganesha-vfs',
  rpcbind: 'rpcbind',
  socat: 'socat',
  'qemu-system-x86_64': 'qemu-system-x86',
  ping: 'iputils-ping',
  fping: 'fping',
};

type Log = (line: string) => void;

export interface LocalUpOptions {
  /** Host pairs to bring up (1..MAX_PAIRS); default: as many as are up now, at least 1. */
  pairs?: number;
}

async function hostSpec(h: LocalHost, role: HostSpec['role']): Promise<HostSpec> {
  return {
    name: h,
    role,
    ssh: {
      host: hostAddress(h, 'mgmt'),
      port: 22,
      username: 'root',
      privateKeyPath: localPaths().clientKey,
      hostPublicKey: await hostPublicKey(h),
    },
    nics:
      role === 'nas'
        ? { storage: nicName('sto') }
        : { migration: nicName('mig'), storage: nicName('sto'), vm: nicName('vm') },
    migrationAddress: role === 'nas' ? undefined : hostAddress(h, 'mig'),
  };
}

/**
 * Pair `pair`'s testbed (1-based): its src and dst, the shared NAS and controller, its own guest
 * address and MAC. `pairs` > 1 labels it (`local`, `local2`, ...: records carry the label).
 */
export async function localSpec(pair = 1, pairs = 1): Promise<TestbedSpec> {
  const p = localPaths();
  return {
    kind: 'local',
    ...(pairs > 1 ? { pair: pairLabel(pair) } : {}),
    accel: 'tcg',
    // this VM backs memory lazily (first touch ~10-16 µs a page): see TestbedSpec.sourceRam, destinationRam
    sourceRam: 'prealloc',
    destinationRam: 'prealloc',
    hosts: {
      src: await hostSpec(pairHost('src', pair), 'src'),
      dst: await hostSpec(pairHost('dst', pair), 'dst'),
      nas: await hostSpec('nas', 'nas'),
    },
    nas: { server: hostAddress('nas', 'sto'), exportPath: NFS_EXPORT_PSEUDO, localPath: p.nasExport },
    vm: { guestCidr: guestCidr(pair), tap: TAP, mac: guestMac(pair) },
    guestFilesDir: imagesDir(),
    hostRunDir: p.hostRunDir,
    controllerNetns: nsName('ctl'),
    hostPofbench: controllerHostCommand(),
  };
}

async function pairCount(o: LocalUpOptions): Promise<number> {
  const n = o.pairs ?? pairsInNamespaces(await listOurNamespaces());
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAIRS)
    throw new Error(`the local testbed has 1 to ${MAX_PAIRS} host pairs, not ${n}`);
  return n;
}

/**
 * Brings the local testbed up with every host pair; idempotent (repairs what is missing, leaves what
 * works; pairs beyond `pairs` are removed). Returns one spec per pair, pair 1 first.
 */
export async function localUpPairs(log: Log = () => undefined, o: LocalUpOptions = {}): Promise<TestbedSpec[]> {
  if (process.getuid?.() !== 0) throw new Error('the local testbed needs root (network namespaces, bridges, sshd)');
  await requireCommands(REQUIRED);
  const pairs = await pairCount(o);
  await mkdir(localPaths().root, { recursive: true });
  await removePairsBeyond(pairs, log);
  await ensureNetwork(pairs, log);
  const sshHosts = localHosts(pairs).filter((h) => h !== 'ctl');
  await ensureKeys(sshHosts, log);
  for (const h of sshHosts) await ensureSshd(h, log);
  await ensureNas(log);
  const specs: TestbedSpec[] = [];
  for (let k = 1; k <= pairs; k++) specs.push(await localSpec(k, pairs));
  await writeFile(localPaths().specFile, JSON.stringify(specs[0], null, 2));
  // the same keys as a known_hosts file, for lab mode (--testbed testbed/local-inventory.yaml) and Ansible
  const knownHosts = await Promise.all(
    sshHosts.map(async (h) => knownHostsLine(hostAddress(h, 'mgmt'), 22, await hostPublicKey(h))),
  );
  await writeFile(localPaths().knownHosts, `${knownHosts.join('\n')}\n`);
  return specs;
}

/** Brings the local testbed up (every pair: see localUpPairs) and returns pair 1's spec. */
export async function localUp(log: Log = () => undefined, o: LocalUpOptions = {}): Promise<TestbedSpec> {
  return (await localUpPairs(log, o))[0];
}

/**
 * Removes everything the local testbed made: every process living in one of our namespaces
 * (sshd, ganesha, rpcbind, QEMU, agents — found by namespace, so it works after a crash), then
 * the namespaces themselves, every pair's, and waits until init has reaped what it stopped. Leaves keys and
 * the NAS export on disk.
 */
export async function localDown(log: Log = () => undefined): Promise<void> {
  const namespaces = await listOurNamespaces();
  const stopped: number[] = [];
  for (const ns of namespaces) stopped.push(...(await stopNamespaceProcesses(ns, log)));
  for (const ns of namespaces) await deleteNamespace(ns, log);
  await waitReaped(stopped);
  await rm(localPaths().specFile, { force: true });
  // what killed runners leave besides processes: NAS copies of run disks, --verify-ram dumps
  await rm(join(localPaths().nasExport, 'runs'), { recursive: true, force: true });
  for (const f of await readdir('/var/tmp').catch(() => [] as string[]))
    if (f.startsWith('pofbench-ram-')) await rm(join('/var/tmp', f), { force: true });
}
