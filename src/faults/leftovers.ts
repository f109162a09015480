/**
 * What a run may leave behind on the local testbed, looked at before any teardown: per-run processes
 * (guests, agents, samplers, NAS views, the web load — started from an install or from a checkout),
 * `tc` qdiscs on the testbed's NICs, RAM dumps, the NAS copies of run disks.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { localPaths } from '../testbed/local/localTestbed.js';

/** Command lines of pofbench's per-run processes (the CLI as `pofbench …` or `node …/cli/main.js …`). */
const PER_RUN = new RegExp(
  [
    'qemu-system\\S* .*-name pofbench-',
    'qemu-storage-daemon',
    '(pofbench|/cli/main\\.js) (.* )?(agent (source|target)|host (sample|webload))( |$)',
  ].join('|'),
);
/** The testbed's own daemons (sshd per host, ganesha, rpcbind). */
const TESTBED = /ganesha\.nfsd|\/var\/lib\/pofbench\/testbed\/.*sshd_config|rpcbind -f/;
/** Where `--verify-ram` dumps guest RAM (src/runner/migrationRun.ts). */
const RAM_DUMPS = { dir: '/var/tmp', prefix: 'pofbench-ram-' };

/** `PID command line` of every process whose command line matches `re`. */
export function processes(re: RegExp): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    if (re.test(cmd)) found.push(`${pid} ${cmd.slice(0, 120)}`);
  }
  return found;
}

/** `tc` qdiscs other than the defaults on the testbed namespaces' NICs (a link cap left in place). */
function linkCaps(): string[] {
  const found: string[] = [];
  for (const ns of pofbenchNamespaces()) {
    let out = '';
    try {
      out = execFileSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'show'], { encoding: 'utf8' });
    } catch {
      continue;
    }
    for (const l of out.split('\n')) if (/qdisc (tbf|htb|netem)/.test(l)) found.push(`tc in ${ns}: ${l.trim()}`);
  }
  return found;
}

const listDir = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

/** Files a run keeps only while it runs: RAM dumps, the NAS copy of its disk. */
function runFiles(): string[] {
  const dumps = listDir(RAM_DUMPS.dir)
    .filter((f) => f.startsWith(RAM_DUMPS.prefix))
    .map((f) => `RAM dump ${join(RAM_DUMPS.dir, f)}`);
  const nasRuns = join(localPaths().nasExport, 'runs');
  return [...dumps, ...listDir(nasRuns).map((f) => `NAS run copy ${join(nasRuns, f)}`)];
}

/** Per-run processes only (the local testbed's hosts share this machine's PID space). */
export const runProcesses = (): string[] => processes(PER_RUN);

/** Everything a finished run must not leave: per-run processes, link caps, RAM dumps, NAS run copies. */
export const runLeftovers = (): string[] => [...runProcesses(), ...linkCaps(), ...runFiles()];

/** Every process pofbench may have started, testbed daemons included. */
export const allPofbenchProcesses = (): string[] => processes(new RegExp(`${PER_RUN.source}|${TESTBED.source}`));

export function pofbenchNamespaces(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith('pofb-'));
}
