import type { Command } from 'commander';
import { localUpPairs, localDown, localStatus } from '../testbed/local/localTestbed.js';
import { MAX_PAIRS } from '../testbed/local/topology.js';
import { UserError } from '../util/errors.js';
import { table } from 'table';
import { writeFile } from 'node:fs/promises';
import { localInventoryYaml } from '../testbed/local/inventory.js';

/** `--pairs N`: a whole number of host pairs the local testbed can hold. */
function pairsOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAIRS)
    throw new UserError(`--pairs ${v}: the local testbed has 1 to ${MAX_PAIRS} host pairs`, 'e.g. --pairs 2');
  return n;
}

/** `pofbench testbed up|down|status` — the local namespace testbed. */
export function registerTestbedCommand(program: Command): void {
  const tb = program.command('testbed').description('manage the local namespace testbed (ctl, src, dst, nas)');
  tb.command('up')
    .description('create namespaces, networks, per-host sshd and the NFS NAS (idempotent)')
    .option(
      '--pairs <n>',
      `host pairs (src/dst, each host with its own sshd) sharing the one NAS, 1-${MAX_PAIRS}; default: as many as ` +
        'are up (1 on a fresh machine); fewer than are up removes the rest',
    )
    .option('--quiet', 'print only the summary line')
    .option('--verbose', 'debug output, and the stack of an internal error')
    .action(async (o: { pairs?: string; quiet?: boolean }) => {
      const t0 = Date.now();
      const log = (l: string) => {
        if (!o.quiet) console.error(`  ${l}`);
      };
      const specs = await localUpPairs(log, { pairs: pairsOption(o.pairs) });
      const nas = specs[0].nas;
      console.log(
        `testbed up in ${Date.now() - t0} ms: ` +
          specs
            .map(
              (s) =>
                `${s.pair ? `pair ${s.pair}: ` : ''}src ${s.hosts.src.ssh.host}, dst ${s.hosts.dst.ssh.host}, ` +
                `guest ${s.vm.guestCidr}`,
            )
            .join('; ') +
          `; nas nfs://${nas.server}${nas.exportPath}`,
      );
    });
  tb.command('down')
    .description('stop everything running in the testbed namespaces and remove them (works after a crash)')
    .option('--quiet', 'print only the summary line')
    .option('--verbose', 'debug output, and the stack of an internal error')
    .action(async (o: { quiet?: boolean }) => {
      await localDown((l) => {
        if (!o.quiet) console.error(`  ${l}`);
      });
      console.log('testbed down');
    });
  tb.command('inventory')
    .description(
      'print the local testbed as an Ansible inventory (the lab format: pofbench run --testbed FILE, ' +
        'ansible-playbook -i FILE)',
    )
    .option('--out <file>', 'write it to this file instead of stdout')
    .option('--pairs <n>', `host pairs in the inventory (as brought up by testbed up --pairs N), 1-${MAX_PAIRS}`, '1')
    .action(async (o: { out?: string; pairs: string }) => {
      const text = localInventoryYaml(pairsOption(o.pairs));
      if (o.out) {
        await writeFile(o.out, text);
        console.error(`wrote ${o.out}`);
      } else process.stdout.write(text);
    });
  tb.command('status')
    .description('show what is up and what is broken; exit 1 if anything is broken')
    .option('--json', 'print {ok, components: [{component, ok, detail}]} as JSON')
    .action(async (o: { json?: boolean }) => {
      const lines = await localStatus();
      if (o.json)
        console.log(
          JSON.stringify(
            {
              ok: lines.every((l) => l.ok),
              components: lines.map(({ component, ok, detail }) => ({ component, ok, detail })),
            },
            null,
            2,
          ),
        );
      else
        console.log(
          table([
            ['component', 'state', 'detail'],
            ...lines.map((l) => [l.component, l.ok ? 'ok' : 'BROKEN', l.detail]),
          ]),
        );
      if (lines.some((l) => !l.ok)) process.exitCode = 1;
    });
}
