import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pidRunning, waitFor } from '../../util/exec.js';
import { readPid, startNsDaemon, stopPid } from './daemons.js';
import { ganeshaConfig } from './ganeshaConfig.js';
import { inNs } from './netns.js';
import { localPaths } from './paths.js';
import { NFS_EXPORT_PSEUDO, hostAddress, nsName } from './topology.js';

type Log = (line: string) => void;

function nasGaneshaConfig(): string {
  const p = localPaths();
  return ganeshaConfig({
    bindAddr: hostAddress('nas', 'sto'),
    exportPath: p.nasExport,
    pseudo: NFS_EXPORT_PSEUDO,
    recoveryRoot: join(p.hostDir('nas'), 'ganesha-recovery'),
  });
}

const listening = async (): Promise<boolean> =>
  (await inNs(nsName('nas'), ['ss', '-Hltn', 'sport = :2049'], { allowFail: true })).stdout.includes('2049');

/** The NAS: rpcbind + nfs-ganesha in the nas namespace, serving the export every pair shares. */
export async function ensureNas(log: Log): Promise<void> {
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
  await waitFor('nfs-ganesha to listen on 2049', 20000, listening);
  log(`nfs-ganesha on nas (${hostAddress('nas', 'sto')}:${NFS_EXPORT_PSEUDO}) pid ${started}`);
}

/** Whether ganesha runs and listens, in words for `testbed status`. */
export async function nasState(): Promise<{ ok: boolean; detail: string }> {
  const pid = await readPid(join(localPaths().hostDir('nas'), 'ganesha.pid'));
  const alive = !!pid && (await pidRunning(pid, 'ganesha'));
  if (!alive) return { ok: false, detail: 'not running' };
  if (!(await listening())) return { ok: false, detail: 'running but not listening on 2049' };
  return { ok: true, detail: `pid ${pid}, nfs://${hostAddress('nas', 'sto')}${NFS_EXPORT_PSEUDO}` };
}
