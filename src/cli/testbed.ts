import type { Command } from 'commander';
import { localUp, localDown, localStatus } from '../testbed/local/localTestbed.js';
import { table } from 'table';
import { writeFile } from 'node:fs/promises';
import { localInventoryYaml } from '../testbed/local/inventory.js';

/** `pofbench testbed up|down|status` — the local namespace testbed. */
export function registerTestbedCommand(program: Command): void {
  const tb = program.command('testbed').description('manage the local namespace testbed (ctl, src, dst, nas)');
  tb.command('up')
    .description('create namespaces, networks, per-host sshd and the NFS NAS (idempotent)')
    .option('--quiet', 'print only the summary line')
    .option('--verbose', 'debug output, and the stack of an internal error')
    .action(async (o: { quiet?: boolean }) => {
      const t0 = Date.now();
      const spec = await localUp((l) => {
        if (!o.quiet) console.error(`  ${l}`);
      });
      console.log(
        `testbed up in ${Date.now() - t0} ms: src ${spec.hosts.src.ssh.host}, dst ${spec.hosts.dst.ssh.host}, nas ` +
          `nfs://${spec.nas.server}${spec.nas.exportPath}, guest ${spec.vm.guestCidr}`,
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
    .action(async (o: { out?: string }) => {
      const text = localInventoryYaml();
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
