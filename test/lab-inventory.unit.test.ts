import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { inventoryTestbeds } from '../src/testbed/inventory.js';
import { knownHostKeys } from '../src/hosts/knownHosts.js';
import { localInventoryYaml } from '../src/testbed/local/inventory.js';
import { shardRuns } from '../src/runner/shard.js';
import { projectRoot } from '../src/util/paths.js';

const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1';
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2';

test('known_hosts: plain, port, hashed, revoked entries', () => {
  const salt = Buffer.from('0123456789abcdef0123');
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('10.0.0.5').digest('base64')}`;
  const text = [
    '# comment',
    `10.0.0.1,kvm-a ssh-ed25519 ${K1}`,
    `[10.0.0.2]:2222 ssh-ed25519 ${K2}`,
    `${hashed} ssh-rsa ${K2}`,
    `10.0.0.9 ssh-ed25519 ${K1}`,
    `@revoked 10.0.0.9 ssh-ed25519 ${K1}`,
    `10.0.0.1* ecdsa-sha2-nistp256 ${K2}`,
  ].join('\n');
  assert.deepEqual(knownHostKeys(text, '10.0.0.1', 22), [`ssh-ed25519 ${K1}`, `ecdsa-sha2-nistp256 ${K2}`]);
  assert.deepEqual(knownHostKeys(text, '10.0.0.2', 22), []);
  assert.deepEqual(knownHostKeys(text, '10.0.0.2', 2222), [`ssh-ed25519 ${K2}`]);
  assert.deepEqual(knownHostKeys(text, '10.0.0.5', 22), [`ssh-rsa ${K2}`]);
  assert.deepEqual(knownHostKeys(text, '10.0.0.9', 22), []);
});

test('the example inventory gives one testbed per pair', () => {
  const doc = parse(readFileSync(join(projectRoot, 'ansible', 'inventory.example.yaml'), 'utf8'));
  const seen: string[] = [];
  const hostKeys = (file: string, host: string) => {
    seen.push(`${file} ${host}`);
    return [`ssh-ed25519 ${K1}`];
  };
  const tbs = inventoryTestbeds(doc, { baseDir: '/etc', hostKeys });
  assert.deepEqual(
    tbs.map((t) => [t.pair, t.hosts.src.name, t.hosts.dst.name]),
    [
      ['a', 'kvm-a1', 'kvm-a2'],
      ['b', 'kvm-b1', 'kvm-b2'],
    ],
  );
  const a = tbs[0];
  assert.equal(a.kind, 'lab');
  assert.equal(a.accel, 'kvm');
  assert.equal(a.sourceRam, 'on-demand', 'a lab backs source RAM on first touch unless told');
  assert.equal(a.destinationRam, 'on-demand', 'a lab backs destination RAM on first touch unless told');
  assert.deepEqual(a.hosts.src.nics, { migration: 'enp65s0f0', storage: 'enp65s0f1', vm: 'enp1s0' });
  assert.equal(a.hosts.dst.migrationAddress, '10.21.0.12');
  assert.equal(a.hosts.src.ssh.username, 'root');
  assert.match(a.hosts.src.ssh.privateKeyPath, /\/\.ssh\/pofbench_ed25519$/);
  assert.equal(a.hosts.src.ssh.knownHostsFile, '/etc/pofbench/known_hosts');
  assert.deepEqual(a.hosts.dst.ssh.knownHostKeys, [`ssh-ed25519 ${K1}`]);
  assert.equal(a.hosts.dst.ssh.hostPublicKey, `ssh-ed25519 ${K1}`);
  assert.deepEqual(a.nas, {
    server: '10.22.0.20',
    exportPath: '/srv/pofbench',
    localPath: '/srv/pofbench',
    hostMountPath: '/srv/pofbench-nas',
  });
  assert.equal(a.vm.guestCidr, '10.23.0.100/24');
  assert.equal(tbs[1].vm.mac, '52:54:00:50:4f:47');
  assert.deepEqual(a.hostPofbench, ['/usr/bin/node', '--no-memory-reducer', '/opt/pofbench/app/dist/src/cli/main.js']);
  assert.ok(seen.includes('/etc/pofbench/known_hosts 10.20.0.20'), 'the NAS host key is looked up too');
});

test('inventory errors name the host and the variable', () => {
  const base = () => parse(readFileSync(join(projectRoot, 'ansible', 'inventory.example.yaml'), 'utf8'));
  const opts = { baseDir: '/', hostKeys: () => [`ssh-ed25519 ${K1}`] };
  const noNic = base();
  delete noNic.all.children.kvm_hosts.vars.pofbench_nic_migration;
  assert.throws(() => inventoryTestbeds(noNic, opts), /host kvm-a1 has no pofbench_nic_migration/);
  const odd = base();
  delete odd.all.children.kvm_hosts.hosts['kvm-b2'];
  assert.throws(() => inventoryTestbeds(odd, opts), /pair b has 1 host\(s\) \(kvm-b1\)/);
  const tmpl = base();
  tmpl.all.vars.pofbench_accel = '{{ accel }}';
  assert.throws(() => inventoryTestbeds(tmpl, opts), /Jinja template/);
  const ram = base();
  ram.all.vars.pofbench_destination_ram = 'eager';
  assert.throws(
    () => inventoryTestbeds(ram, opts),
    /pofbench_destination_ram of host kvm-a1: "eager" is not one of on-demand, prealloc/,
  );
  const srcRam = base();
  srcRam.all.children.kvm_hosts.hosts['kvm-b1'].pofbench_source_ram = 'lazy'; // a host var: that host named
  assert.throws(
    () => inventoryTestbeds(srcRam, opts),
    /pofbench_source_ram of host kvm-b1: "lazy" is not one of on-demand, prealloc/,
  );
});

test('testbed/local-inventory.yaml is what "pofbench testbed inventory" generates', {
  skip: process.env.POFBENCH_HOME ? 'POFBENCH_HOME is set: the file names the default paths' : false,
}, () => {
  assert.equal(readFileSync(join(projectRoot, 'testbed', 'local-inventory.yaml'), 'utf8'), localInventoryYaml());
  const tbs = inventoryTestbeds(parse(localInventoryYaml()), { baseDir: '/', hostKeys: () => ['ssh-ed25519 X'] });
  assert.equal(tbs.length, 1);
  assert.equal(tbs[0].kind, 'local');
  assert.equal(tbs[0].controllerNetns, 'pofb-ctl');
  assert.equal(tbs[0].sourceRam, 'prealloc', 'local: as the namespace testbed (this VM backs RAM lazily)');
  assert.equal(tbs[0].destinationRam, 'prealloc', 'local: as the namespace testbed (this VM backs RAM lazily)');
  assert.equal(tbs[0].nas.hostMountPath, undefined, 'local: QEMU reaches the NAS with libnfs, no kernel mount');
});

test('shardRuns: every run once, balanced by estimate, plan order kept per pair, one pair = as today', () => {
  const runs = [30, 10, 10, 20, 5, 5, 40, 10].map((estimate_s, i) => ({ i, estimate_s }));
  assert.deepEqual(shardRuns(runs, 1), [runs]);
  const two = shardRuns(runs, 2);
  assert.deepEqual(
    two
      .flat()
      .map((r) => r.i)
      .sort((a, b) => a - b),
    runs.map((r) => r.i),
  );
  for (const s of two)
    assert.deepEqual(
      s.map((r) => r.i),
      [...s.map((r) => r.i)].sort((a, b) => a - b),
    );
  const loads = two.map((s) => s.reduce((t, r) => t + r.estimate_s, 0));
  assert.ok(Math.abs(loads[0] - loads[1]) <= 40, `loads ${loads}`);
  assert.deepEqual(shardRuns(runs, 2), two, 'deterministic');
  const many = shardRuns(runs.slice(0, 2), 4);
  assert.deepEqual(
    many.map((s) => s.length),
    [1, 1, 0, 0],
  );
  assert.throws(() => shardRuns(runs, 0));
});
