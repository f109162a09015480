import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pidRunning, run } from '../../util/exec.js';
import { readPid, startNsDaemon } from './daemons.js';
import { localPaths } from './paths.js';
import { hostAddress, nsName, type LocalHost } from './topology.js';

type Log = (line: string) => void;

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** The runner's client key (authorized on every host) and a host key per host, made once and kept. */
export async function ensureKeys(hosts: readonly LocalHost[], log: Log): Promise<void> {
  const p = localPaths();
  await mkdir(join(p.root, 'ssh'), { recursive: true, mode: 0o700 });
  if (!(await exists(p.clientKey))) {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pofbench-runner', '-f', p.clientKey]);
    log('client key generated');
  }
  await writeFile(p.authorizedKeys, await readFile(`${p.clientKey}.pub`, 'utf8'), { mode: 0o600 });
  for (const h of hosts) {
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
    // a host of its own, not the controller's root: bash sources ~/.bashrc for every ssh command,
    // and a developer's (pyenv init here: 0.7 s of CPU) would run in each of the harness's commands
    `SetEnv HOME=${hostHome(h)}`,
    '',
  ].join('\n');
}

/** The home directory the host's sshd gives its sessions (empty: no shell profile of the controller's). */
function hostHome(h: LocalHost): string {
  return join(localPaths().hostDir(h), 'home');
}

/** The host's sshd PID when it runs. */
export async function sshdPid(h: LocalHost): Promise<number | undefined> {
  const pid = await readPid(join(localPaths().hostDir(h), 'sshd.pid'));
  return pid && (await pidRunning(pid, 'sshd')) ? pid : undefined;
}

/** The host's own sshd, in its namespace with its own /run (started unless it runs). */
export async function ensureSshd(h: LocalHost, log: Log): Promise<void> {
  if (await sshdPid(h)) return;
  const dir = localPaths().hostDir(h);
  const conf = join(dir, 'sshd_config');
  await mkdir(hostHome(h), { recursive: true });
  await writeFile(conf, sshdConfig(h));
  const started = await startNsDaemon({
    ns: nsName(h),
    prelude: `mkdir -p /run/sshd ${localPaths().hostRunDir} && /usr/sbin/sshd -t -f ${conf} &&`,
    exec: `/usr/sbin/sshd -D -e -f ${conf}`,
    logPath: join(dir, 'sshd.log'),
    pidPath: join(dir, 'sshd.pid'),
    exeName: 'sshd',
  });
  log(`sshd on ${h} (${hostAddress(h, 'mgmt')}:22) pid ${started}`);
}

/** The host's public key line (`ssh-ed25519 AAAA...`), pinned in its spec. */
export async function hostPublicKey(h: LocalHost): Promise<string> {
  const line = await readFile(join(localPaths().hostDir(h), 'ssh_host_ed25519_key.pub'), 'utf8');
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}
