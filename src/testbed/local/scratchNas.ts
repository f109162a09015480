/**
 * A throwaway NAS for tests and benchmarks of NFS clients: rpcbind + nfs-ganesha (the testbed's
 * settings) in a network namespace of its own (`pofnfs-<name>`, never the testbed's `pofb-`),
 * reached from the root namespace over one veth pair in 198.19.250.0/24. Everything it starts is
 * stopped by PID and the namespace deleted by `stop()`.
 *
 * The daemons run under link names (`pofnfs-ganesha`, `pofnfs-portmap`) so that the testbed's own
 * leftover checks, which look for `ganesha.nfsd` and `rpcbind -f` command lines, do not mistake them
 * for the testbed's while both run on one machine.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, waitFor } from '../../util/exec.js';
import { readPid, startNsDaemon, stopPid } from './daemons.js';
import { ganeshaConfig } from './ganeshaConfig.js';

export const SCRATCH_NS_PREFIX = 'pofnfs-';

export interface ScratchNas {
  ns: string;
  /** ganesha's address (inside the namespace). */
  server: string;
  /** The root namespace's end of the veth. */
  client: string;
  /** The exported directory (a local path: write the test files here). */
  exportDir: string;
  /** The export's name for MOUNT. */
  exportPath: string;
  dir: string;
  ganeshaPid: number;
  rpcbindPid?: number;
  stop(): Promise<void>;
}

export interface ScratchNasOptions {
  /** Short name: the namespace is `pofnfs-<name>`. */
  name: string;
  /** 0..63: picks the /30 of 198.19.250.0/24 and the veth name, so that two scratch NASes can coexist. */
  slot: number;
  log?: (line: string) => void;
}

async function nsExists(ns: string): Promise<boolean> {
  const r = await run('ip', ['netns', 'list'], { allowFail: true });
  return r.stdout.split('\n').some((l) => l.split(' ')[0] === ns);
}

/** Stops every process in `ns` (ours: we made it) and deletes it and the veth. */
async function removeNs(ns: string, veth: string): Promise<void> {
  if (await nsExists(ns)) {
    const r = await run('ip', ['netns', 'pids', ns], { allowFail: true });
    const pids = r.stdout
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => n > 1 && n !== process.pid);
    await Promise.all(pids.map((pid) => stopPid(pid, 2000)));
    await run('ip', ['netns', 'del', ns], { allowFail: true });
  }
  await run('ip', ['link', 'del', veth], { allowFail: true });
}

async function makeNetwork(ns: string, veth: string, server: string, client: string): Promise<void> {
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'sto0', 'netns', ns]);
  await run('ip', ['addr', 'add', `${client}/30`, 'dev', veth]);
  await run('ip', ['link', 'set', veth, 'up']);
  await run('ip', ['-n', ns, 'addr', 'add', `${server}/30`, 'dev', 'sto0']);
  await run('ip', ['-n', ns, 'link', 'set', 'sto0', 'up']);
}

export async function startScratchNas(o: ScratchNasOptions): Promise<ScratchNas> {
  if (!/^[a-z0-9-]{1,12}$/.test(o.name)) throw new Error(`scratch NAS name "${o.name}": 1-12 of [a-z0-9-]`);
  if (!Number.isInteger(o.slot) || o.slot < 0 || o.slot > 63) throw new Error(`scratch NAS slot ${o.slot}: 0..63`);
  const log = o.log ?? (() => undefined);
  const ns = `${SCRATCH_NS_PREFIX}${o.name}`;
  const veth = `pofnfs${o.slot}`;
  const client = `198.19.250.${o.slot * 4 + 1}`;
  const server = `198.19.250.${o.slot * 4 + 2}`;
  await removeNs(ns, veth);
  const dir = await mkdtemp(join(tmpdir(), `${ns}-`));
  const exportDir = join(dir, 'export');
  let ganeshaPid = 0;
  const stop = async (): Promise<void> => {
    const rpcbindPid = await readPid(join(dir, 'rpcbind.pid'));
    if (ganeshaPid) await stopPid(ganeshaPid, 5000);
    if (rpcbindPid) await stopPid(rpcbindPid, 2000);
    await removeNs(ns, veth);
    await rm(dir, { recursive: true, force: true });
    log(`scratch NAS ${ns} removed`);
  };
  try {
    await makeNetwork(ns, veth, server, client);
    await Promise.all([mkdir(exportDir), mkdir(join(dir, 'recovery')), mkdir(join(dir, 'bin'))]);
    await symlink('/usr/bin/ganesha.nfsd', join(dir, 'bin', 'pofnfs-ganesha'));
    await symlink('/usr/sbin/rpcbind', join(dir, 'bin', 'pofnfs-portmap'));
    const conf = join(dir, 'ganesha.conf');
    const recoveryRoot = join(dir, 'recovery');
    await writeFile(conf, ganeshaConfig({ bindAddr: server, exportPath: exportDir, pseudo: '/export', recoveryRoot }));
    ganeshaPid = await startNsDaemon({
      ns,
      prelude:
        `mkdir -p /run/ganesha /run/rpcbind && { ${join(dir, 'bin', 'pofnfs-portmap')} -f & ` +
        `echo $! > ${join(dir, 'rpcbind.pid')}; } && sleep 0.3 &&`,
      exec:
        `${join(dir, 'bin', 'pofnfs-ganesha')} -F -f ${conf} -L ${join(dir, 'ganesha.log')} ` +
        '-p /run/ganesha/ganesha.pid',
      logPath: join(dir, 'ganesha.stdout.log'),
      pidPath: join(dir, 'ganesha.pid'),
      exeName: 'pofnfs-ganesha',
    });
    await waitFor('scratch nfs-ganesha to listen on 2049', 20000, async () => {
      const r = await run('ip', ['netns', 'exec', ns, 'ss', '-Hltn', 'sport = :2049'], { allowFail: true });
      return r.stdout.includes('2049');
    });
    log(`scratch NAS ${ns}: ganesha pid ${ganeshaPid} on ${server}, export ${exportDir} as /export`);
    const rpcbindPid = await readPid(join(dir, 'rpcbind.pid'));
    return { ns, server, client, exportDir, exportPath: '/export', dir, ganeshaPid, rpcbindPid, stop };
  } catch (err) {
    const tail = (await readFile(join(dir, 'ganesha.log'), 'utf8').catch(() => '')).trim().split('\n').slice(-5);
    await stop();
    throw new Error(`${(err as Error).message}${tail.length ? `; ganesha.log: ${tail.join(' | ')}` : ''}`);
  }
}
