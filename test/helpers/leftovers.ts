import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Processes on this machine that pofbench may have started (QEMU guests named pofbench-*, NAS, sshd of the testbed, agents). */
export function pofbenchProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (/qemu-system.*-name pofbench-|ganesha\.nfsd|\/var\/lib\/pofbench\/testbed\/.*sshd_config|pofbench.* agent |pofbench.* host sample/.test(cmd)) found.push(`${pid} ${cmd.slice(0, 120)}`);
  }
  return found;
}

export function pofbenchNamespaces(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith('pofb-'));
}
