import { mkdir, readFile, readdir, rm, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { pofbenchHome, pofbenchCommand, imagesDir } from '../../util/paths.js';
import { requireCommands, run, pidRunning, waitFor } from '../../util/exec.js';
import type { TestbedSpec, HostRole, HostSpec } from '../spec.js';
import { ensureNamespace, ipIn, linkExists, inNs, listOurNamespaces, pidsInNamespace } from './netns.js';
import { startNsDaemon, readPid, stopPid } from './daemons.js';
import { ganeshaConfig } from './ganeshaConfig.js';
import { knownHostsLine } from '../../hosts/knownHosts.js';
import {
  HOSTS,
  NETWORKS,
  SWITCH_NS,
  TAP,
  HOST_VM_BRIDGE,
  GUEST_CIDR,
  GUEST_MAC,
  NFS_EXPORT_PSEUDO,
  nsName,
  nicName,
  switchPort,
  hostAddress,
  hasAddress,
  type LocalHost,
  type NetName,
} from './topology.js';

/** Where the local testbed keeps its state (keys, configs, pid files, logs) and the NAS export. */
export function localPaths() {
  const root = join(pofbenchHome(), 'testbed');
  return {
    root,
    specFile: join(root, 'testbed.json'),
    clientKey: join(root, 'ssh', 'id_ed25519'),
    authorizedKeys: join(root, 'ssh', 'authorized_keys'),
    hostDir: (h: LocalHost) => join(root, h),
    nasExport: join(pofbenchHome(), 'nas', 'export'),
    hostRunDir: '/run/pofbench',
  };
}

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
const SSH_HOSTS: LocalHost[] = ['src', 'dst', 'nas'];

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

async function ensureNetwork(log: Log): Promise<void> {
  if (await ensureNamespace(SWITCH_NS)) log(`namespace ${SWITCH_NS} created`);
  for (const [net, { bridge }] of Object.entries(NETWORKS)) {
    if (!(await linkExists(SWITCH_NS, bridge))) {
      await ipIn(SWITCH_NS, ['link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      log(`bridge ${bridge} (${net}) created`);
    }
    await ipIn(SWITCH_NS, ['link', 'set', bridge, 'up']);
  }
  for (const host of Object.keys(HOSTS) as LocalHost[]) {
    const ns = nsName(host);
    if (await ensureNamespace(ns)) log(`namespace ${ns} created`);
    for (const net of HOSTS[host].nets) {
      const nic = nicName(net as NetName);
      const port = switchPort(host, net);
      if (!(await linkExists(ns, nic))) {
        await ipIn(SWITCH_NS, ['link', 'del', port], { allowFail: true });
        await ipIn(SWITCH_NS, ['link', 'add', port, 'type', 'veth', 'peer', 'name', nic, 'netns', ns]);
        await ipIn(SWITCH_NS, ['link', 'set', port, 'master', NETWORKS[net].bridge, 'up']);
      }
      await ipIn(ns, ['link', 'set', nic, 'up']);
      if (hasAddress(host, net)) {
        const cidr = `${hostAddress(host, net)}/24`;
        await ipIn(ns, ['addr', 'replace', cidr, 'dev', nic]);
      }
    }
    if (host === 'src' || host === 'dst') {
      if (!(await linkExists(ns, HOST_VM_BRIDGE))) {
        await ipIn(ns, ['link', 'add', HOST_VM_BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      }
      if (!(await linkExists(ns, TAP))) await ipIn(ns, ['tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
      await ipIn(ns, ['link', 'set', nicName('vm'), 'master', HOST_VM_BRIDGE]);
      await ipIn(ns, ['link', 'set', TAP, 'master', HOST_VM_BRIDGE, 'up']);
      await ipIn(ns, ['link', 'set', HOST_VM_BRIDGE, 'up']);
    }
  }
}

async function ensureKeys(log: Log): Promise<void> {
  const p = localPaths();
  await mkdir(join(p.root, 'ssh'), { recursive: true, mode: 0o700 });
  if (!(await exists(p.clientKey))) {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pofbench-runner', '-f', p.clientKey]);
    log('client key generated');
  }
  await writeFile(p.authorizedKeys, await readFile(`${p.clientKey}.pub`, 'utf8'), { mode: 0o600 });
  for (const h of SSH_HOSTS) {
    const dir = p.hostDir(h);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const key = join(dir, 'ssh_host_ed25519_key');
    if (!(await exists(key)))
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `pofbench-${h}`, '-f', key]);
  }
}

function sshdConfig(h: LocalHost): string {
  const p = localPaths();
  const dir = p.hostDir(h);
  return [
    `Port 22`,
    `ListenAddress ${hostAddress(h, 'mgmt')}`,
    `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
    `PidFile ${join(dir, 'sshd.pid.own')}`,
    `AuthorizedKeysFile ${p.authorizedKeys}`,
    `PermitRootLogin prohibit-password`,
    `PasswordAuthentication no`,
    `KbdInteractiveAuthentication no`,
    `UsePAM no`,
    `StrictModes no`,
    `UseDNS no`,
    `AllowStreamLocalForwarding yes`,
    `AllowTcpForwarding yes`,
    `MaxSessions 100`,
    `MaxStartups 100`,
    `PrintMotd no`,
    `LogLevel ERROR`,
    '',
  ].join('\n');
}

async function ensureSshd(h: LocalHost, log: Log): Promise<void> {
  const dir = localPaths().hostDir(h);
  const pidPath = join(dir, 'sshd.pid');
  const pid = await readPid(pidPath);
  if (pid && (await pidRunning(pid, 'sshd'))) return;
  const conf = join(dir, 'sshd_config');
  await writeFile(conf, sshdConfig(h));
  const started = await startNsDaemon({
    ns: nsName(h),
    prelude: `mkdir -p /run/sshd ${localPaths().hostRunDir} && /usr/sbin/sshd -t -f ${conf} &&`,
    exec: `/usr/sbin/sshd -D -e -f ${conf}`,
    logPath: join(dir, 'sshd.log'),
    pidPath,
    exeName: 'sshd',
  });
  log(`sshd on ${h} (${hostAddress(h, 'mgmt')}:22) pid ${started}`);
}

function nasGaneshaConfig(): string {
  const p = localPaths();
  return ganeshaConfig({
    bindAddr: hostAddress('nas', 'sto'),
    exportPath: p.nasExport,
    pseudo: NFS_EXPORT_PSEUDO,
    recoveryRoot: join(p.hostDir('nas'), 'ganesha-recovery'),
  });
}

async function ensureNas(log: Log): Promise<void> {
  const p = localPaths();
  const dir = p.hostDir('nas');
  await mkdir(join(dir, 'ganesha-recovery'), { recursive: true });
  await mkdir(p.nasExport, { recursive: true });
  const pidPath = join(dir, 'ganesha.pid');
  const pid = await readPid(pidPath);
  if (pid && (await pidRunning(pid, 'ganesha'))) return;
  // a half-dead NAS (rpcbind left over) is cleared before a fresh start
  const rpcPid = await readPid(join(dir, 'rpcbind.pid'));
  if (rpcPid && (await pidRunning(rpcPid, 'rpcbind'))) await stopPid(rpcPid);
  const conf = join(dir, 'ganesha.conf');
  await writeFile(conf, nasGaneshaConfig());
  const started = await startNsDaemon({
    ns: nsName('nas'),
    prelude:
      `mkdir -p /run/ganesha /run/rpcbind && { /usr/sbin/rpcbind -f & echo $! > ${join(dir, 'rpcbind.pid')}; ` +
      `} && sleep 0.3 &&`,
    exec: `/usr/bin/ganesha.nfsd -F -f ${conf} -L ${join(dir, 'ganesha.log')} -p /run/ganesha/ganesha.pid`,
    logPath: join(dir, 'ganesha.stdout.log'),
    pidPath,
    exeName: 'ganesha.nfsd',
  });
  await waitFor('nfs-ganesha to listen on 2049', 20000, async () => {
    const r = await inNs(nsName('nas'), ['ss', '-Hltn', 'sport = :2049'], { allowFail: true });
    return r.stdout.includes('2049');
  });
  log(`nfs-ganesha on nas (${hostAddress('nas', 'sto')}:${NFS_EXPORT_PSEUDO}) pid ${started}`);
}

async function hostPublicKey(h: LocalHost): Promise<string> {
  const line = await readFile(join(localPaths().hostDir(h), 'ssh_host_ed25519_key.pub'), 'utf8');
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}

export async function localSpec(): Promise<TestbedSpec> {
  const p = localPaths();
  const host = async (h: 'src' | 'dst' | 'nas'): Promise<HostSpec> => ({
    name: h,
    role: h as HostRole,
    ssh: {
      host: hostAddress(h, 'mgmt'),
      port: 22,
      username: 'root',
      privateKeyPath: p.clientKey,
      hostPublicKey: await hostPublicKey(h),
    },
    nics:
      h === 'nas'
        ? { storage: nicName('sto') }
        : { migration: nicName('mig'), storage: nicName('sto'), vm: nicName('vm') },
    migrationAddress: h === 'nas' ? undefined : hostAddress(h, 'mig'),
  });
  return {
    kind: 'local',
    accel: 'tcg',
    hosts: { src: await host('src'), dst: await host('dst'), nas: await host('nas') },
    nas: { server: hostAddress('nas', 'sto'), exportPath: NFS_EXPORT_PSEUDO, localPath: p.nasExport },
    vm: { guestCidr: GUEST_CIDR, tap: TAP, mac: GUEST_MAC },
    guestFilesDir: imagesDir(),
    hostRunDir: p.hostRunDir,
    controllerNetns: nsName('ctl'),
    hostPofbench: pofbenchCommand(),
  };
}

/** Brings the local testbed up; idempotent (repairs what is missing, leaves what works). */
export async function localUp(log: Log = () => undefined): Promise<TestbedSpec> {
  if (process.getuid?.() !== 0) throw new Error('the local testbed needs root (network namespaces, bridges, sshd)');
  await requireCommands(REQUIRED);
  await mkdir(localPaths().root, { recursive: true });
  await ensureNetwork(log);
  await ensureKeys(log);
  for (const h of SSH_HOSTS) await ensureSshd(h, log);
  await ensureNas(log);
  const spec = await localSpec();
  await writeFile(localPaths().specFile, JSON.stringify(spec, null, 2));
  // the same keys as a known_hosts file, for lab mode (--testbed testbed/local-inventory.yaml) and Ansible
  const knownHosts = SSH_HOSTS.map((h) =>
    knownHostsLine(spec.hosts[h as HostRole].ssh.host, 22, spec.hosts[h as HostRole].ssh.hostPublicKey),
  );
  await writeFile(join(localPaths().root, 'known_hosts'), `${knownHosts.join('\n')}\n`);
  return spec;
}

/**
 * Removes everything the local testbed made: every process living in one of our namespaces
 * (sshd, ganesha, rpcbind, QEMU, agents — found by namespace, so it works after a crash), then
 * the namespaces themselves. Leaves keys and the NAS export on disk.
 */
export async function localDown(log: Log = () => undefined): Promise<void> {
  const namespaces = await listOurNamespaces();
  for (const ns of namespaces) {
    const pids = await pidsInNamespace(ns);
    await Promise.all(
      pids.map(async (pid) => {
        await stopPid(pid, 2000);
        log(`stopped pid ${pid} in ${ns}`);
      }),
    );
  }
  for (const ns of namespaces) {
    await run('ip', ['netns', 'del', ns], { allowFail: true });
    log(`namespace ${ns} removed`);
  }
  await rm(localPaths().specFile, { force: true });
  // what killed runners leave besides processes: NAS copies of run disks, --verify-ram dumps
  await rm(join(localPaths().nasExport, 'runs'), { recursive: true, force: true });
  for (const f of await readdir('/var/tmp').catch(() => [] as string[]))
    if (f.startsWith('pofbench-ram-')) await rm(join('/var/tmp', f), { force: true });
}

export interface StatusLine {
  component: string;
  ok: boolean;
  detail: string;
}

export async function localStatus(): Promise<StatusLine[]> {
  const lines: StatusLine[] = [];
  const namespaces = await listOurNamespaces();
  for (const ns of [SWITCH_NS, ...Object.keys(HOSTS).map((h) => nsName(h as LocalHost))]) {
    lines.push({
      component: `namespace ${ns}`,
      ok: namespaces.includes(ns),
      detail: namespaces.includes(ns) ? 'present' : 'missing',
    });
  }
  if (!namespaces.includes(SWITCH_NS)) return lines;
  for (const h of SSH_HOSTS) {
    if (!namespaces.includes(nsName(h))) continue;
    const pid = await readPid(join(localPaths().hostDir(h), 'sshd.pid'));
    const alive = !!pid && (await pidRunning(pid, 'sshd'));
    lines.push({
      component: `sshd ${h}`,
      ok: alive,
      detail: alive ? `pid ${pid}, ${hostAddress(h, 'mgmt')}:22` : 'not running',
    });
  }
  if (namespaces.includes(nsName('nas'))) {
    const pid = await readPid(join(localPaths().hostDir('nas'), 'ganesha.pid'));
    const alive = !!pid && (await pidRunning(pid, 'ganesha'));
    const listening =
      alive &&
      (await inNs(nsName('nas'), ['ss', '-Hltn', 'sport = :2049'], { allowFail: true })).stdout.includes('2049');
    lines.push({
      component: 'nfs-ganesha nas',
      ok: listening,
      detail: listening
        ? `pid ${pid}, nfs://${hostAddress('nas', 'sto')}${NFS_EXPORT_PSEUDO}`
        : alive
          ? 'running but not listening on 2049'
          : 'not running',
    });
  }
  for (const h of ['src', 'dst'] as const) {
    if (!namespaces.includes(nsName(h))) continue;
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
