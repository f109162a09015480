import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Command lines of pofbench's per-run processes: guests, agents, NAS views, host samplers, the web load. */
const PER_RUN =
  /qemu-system.*-name pofbench-|qemu-storage-daemon.*nas-view|pofbench.* agent (source|target)|pofbench.* host sample|cli\/main\.js host webload/;
/** The testbed's own daemons (sshd per host, ganesha, rpcbind). */
const TESTBED = /ganesha\.nfsd|\/var\/lib\/pofbench\/testbed\/.*sshd_config|rpcbind -f/;

function processes(re: RegExp): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (re.test(cmd)) found.push(`${pid} ${cmd.slice(0, 120)}`);
  }
  return found;
}

/** Per-run processes still alive on this machine (the local testbed's hosts share its PID space). */
export const runLeftovers = (): string[] => processes(PER_RUN);

/** Every process pofbench may have started, testbed daemons included. */
export const allPofbenchProcesses = (): string[] => processes(new RegExp(`${PER_RUN.source}|${TESTBED.source}`));

export function pofbenchNamespaces(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith('pofb-'));
}
