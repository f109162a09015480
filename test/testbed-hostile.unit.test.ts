/**
 * Testbed input that reaches host shells and SSH (issue 15): NIC names are interface names,
 * interpolated only through sh(); a host without a pinned key is an error naming it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { inventoryTestbeds } from '../src/testbed/inventory.js';
import { loadTestbedFile } from '../src/testbed/testbedFile.js';
import { SshHost, type ExecResult } from '../src/hosts/ssh.js';
import { readHostCounters } from '../src/metrics/hostCounters.js';
import type { TestbedSpec } from '../src/testbed/spec.js';
import { projectRoot } from '../src/util/paths.js';
import { UserError } from '../src/util/errors.js';
import { waitFor } from '../src/util/exec.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1';
const dir = mkdtempSync(join(tmpdir(), 'pofbench-tb-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const example = () => parse(readFileSync(join(projectRoot, 'ansible', 'inventory.example.yaml'), 'utf8'));
const withKeys = { baseDir: '/', hostKeys: () => [KEY] };

function userError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UserError && re.test(e.message), String(re));
}

type Inv = ReturnType<typeof example>;
const kvm = (d: Inv) => d.all.children.kvm_hosts;

test('inventory: NIC names and the tap must be interface names, naming host and variable', () => {
  assert.equal(inventoryTestbeds(example(), withKeys).length, 2, 'the example is fine');
  const bad: [(d: Inv) => void, RegExp][] = [
    [
      (d) => {
        kvm(d).vars.pofbench_nic_migration = 'eth0;reboot';
      },
      /pofbench_nic_migration of host kvm-a1: "eth0;reboot"/,
    ],
    [
      (d) => {
        kvm(d).hosts['kvm-b2'].pofbench_nic_storage = '$(id)';
      },
      /pofbench_nic_storage of host kvm-b2/,
    ],
    [
      (d) => {
        d.all.children.nas.hosts['bench-nas'].pofbench_nic_storage = '..';
      },
      /pofbench_nic_storage of host bench-nas/,
    ],
    [
      (d) => {
        kvm(d).vars.pofbench_nic_vm = 'a-very-long-name0';
      },
      /pofbench_nic_vm of host kvm-a1/,
    ],
    [
      (d) => {
        kvm(d).vars.pofbench_vm_tap = 'tap0,script=/x';
      },
      /pofbench_vm_tap of host kvm-a1/,
    ],
    [
      (d) => {
        kvm(d).hosts['kvm-a1'].pofbench_guest_mac = '52:54:00:00:00:01,x=y';
      },
      /pofbench_guest_mac of host kvm-a1/,
    ],
  ];
  for (const [edit, re] of bad) {
    const d = example();
    edit(d);
    userError(() => inventoryTestbeds(d, withKeys), re);
  }
});

test('inventory: a host without a key in known_hosts is an error naming it and the file', () => {
  const opts = { baseDir: '/', hostKeys: (_f: string, host: string) => (host === '10.20.0.12' ? [] : [KEY]) };
  const re = /host kvm-a2 \(10\.20\.0\.12:22\) has no key in known_hosts \/etc\/pofbench\/known_hosts/;
  userError(() => inventoryTestbeds(example(), opts), re);
});

function specFile(name: string, edit: (s: TestbedSpec) => void): string {
  const host = (n: string, role: 'src' | 'dst' | 'nas') => ({
    name: n,
    role,
    ssh: { host: '127.0.0.1', port: 22, username: 'root', privateKeyPath: '/nonexistent', hostPublicKey: KEY },
    nics: role === 'nas' ? { storage: 'sto0' } : { migration: 'mig0', storage: 'sto0', vm: 'vm0' },
  });
  const spec = {
    kind: 'lab',
    accel: 'kvm',
    hosts: { src: host('h-src', 'src'), dst: host('h-dst', 'dst'), nas: host('h-nas', 'nas') },
    nas: { server: '10.0.0.1', exportPath: '/x', localPath: '/x' },
    vm: { guestCidr: '10.1.0.2/24', tap: 'tap0', mac: '52:54:00:00:00:01' },
    guestFilesDir: '/x',
    hostRunDir: '/run/x',
    hostPofbench: ['node', 'main.js'],
  } as unknown as TestbedSpec;
  edit(spec);
  const file = join(dir, name);
  writeFileSync(file, stringify(spec));
  return file;
}

test('testbed file: an empty or missing host key, a bad NIC name or RAM mode: errors name host and field', async () => {
  assert.equal((await loadTestbedFile(specFile('ok.yaml', () => undefined)))[0].hosts.dst.name, 'h-dst');
  const pre = (s: TestbedSpec) => {
    s.sourceRam = 'prealloc';
  };
  assert.equal((await loadTestbedFile(specFile('prealloc.yaml', pre)))[0].sourceRam, 'prealloc');
  const bad: [string, (s: TestbedSpec) => void, RegExp][] = [
    [
      'empty.yaml',
      (s) => {
        s.hosts.dst.ssh.hostPublicKey = '';
      },
      /host h-dst \(hosts\.dst\): ssh\.hostPublicKey is empty or missing/,
    ],
    [
      'missing.yaml',
      (s) => {
        delete (s.hosts.nas.ssh as { hostPublicKey?: string }).hostPublicKey;
      },
      /host h-nas \(hosts\.nas\): ssh\.hostPublicKey is empty or missing/,
    ],
    [
      'junk.yaml',
      (s) => {
        s.hosts.src.ssh.hostPublicKey = 'yes';
      },
      /host h-src \(hosts\.src\): ssh\.hostPublicKey is not a public key/,
    ],
    [
      'nic.yaml',
      (s) => {
        s.hosts.src.nics.migration = 'mig0 $(id)';
      },
      /host h-src \(hosts\.src\): nics\.migration "mig0 \$\(id\)" is not an interface/,
    ],
    [
      'tap.yaml',
      (s) => {
        s.vm.tap = 'tap0,script=/tmp/x';
      },
      /vm: tap "tap0,script=\/tmp\/x" is not an interface name/,
    ],
    [
      'source-ram.yaml',
      (s) => {
        (s as { sourceRam?: string }).sourceRam = 'eager';
      },
      /testbed: sourceRam "eager" is not one of on-demand, prealloc/,
    ],
    [
      'destination-ram.yaml',
      (s) => {
        (s as { destinationRam?: string }).destinationRam = 'lazy';
      },
      /testbed: destinationRam "lazy" is not one of on-demand, prealloc/,
    ],
  ];
  for (const [name, edit, re] of bad) {
    const named = (e: unknown) => e instanceof UserError && re.test(e.message);
    await assert.rejects(loadTestbedFile(specFile(name, edit)), named, name);
  }
});

test('ssh: a target without a pinned key is refused before connecting (it used to accept any key)', async () => {
  const keyFile = join(dir, 'client_key');
  writeFileSync(keyFile, 'not used');
  const target = { host: '127.0.0.1', port: 9, username: 'root', privateKeyPath: keyFile, hostPublicKey: '' };
  const named = (e: unknown) => e instanceof UserError && /host h-dst .*no host key pinned/.test(e.message);
  await assert.rejects(SshHost.connect('h-dst', target, { timeoutMs: 300 }), named);
});

/** A host whose exec runs the command in a local sh, in `cwd`. */
function localHost(cwd: string): SshHost {
  const exec = (command: string) =>
    new Promise<ExecResult>((resolve) => {
      execFile('sh', ['-c', command], { cwd }, (err, stdout, stderr) => {
        resolve({ stdout, stderr, code: err ? 1 : 0 });
      });
    });
  return { name: 'local', exec } as unknown as SshHost;
}

test('readHostCounters quotes NIC names for the remote shell', async () => {
  const r = await readHostCounters(localHost(dir), ['lo']);
  assert.ok(Number.isFinite(r.nic.lo.rx) && Number.isFinite(r.nic.lo.tx), 'counters of lo are read');
  const hostile = ['x;touch PWNED1;x', 'x$(touch PWNED2)', '`touch PWNED3`', "x'; touch PWNED4; '"];
  await readHostCounters(localHost(dir), hostile).catch(() => undefined);
  for (const f of ['PWNED1', 'PWNED2', 'PWNED3', 'PWNED4']) {
    assert.ok(!existsSync(join(dir, f)), `${f}: the NIC name ran as a command`);
  }
});

test('readHostCounters: run-queue figures of vCPU threads (named `CPU <n>/…`), none for other processes', async () => {
  // a busy process whose thread is named like a QEMU vCPU thread
  const vcpu = spawn('python3', [
    '-c',
    "import ctypes,time\nctypes.CDLL(None).prctl(15, b'CPU 0/TEST', 0, 0, 0)\nt=time.time()\nwhile time.time()-t<20: pass",
  ]);
  try {
    // python names its thread once it has started (slow on a loaded machine): read until it has
    const counters = () => readHostCounters(localHost(dir), [], vcpu.pid);
    const a = await waitFor('the vCPU thread named CPU 0/TEST', 15_000, async () => {
      const c = await counters();
      return c.vcpuRunS !== undefined && c;
    });
    assert.ok(a.vcpuRunS !== undefined, 'the vCPU thread is found');
    const b = await waitFor('the vCPU thread to run 50 ms', 15_000, async () => {
      const c = await counters();
      return c.vcpuRunS! - a.vcpuRunS! > 0.05 && c;
    });
    assert.ok(b.vcpuRunS! - a.vcpuRunS! > 0.05, `it ran between the reads: ${b.vcpuRunS! - a.vcpuRunS!} s`);
    assert.ok(b.vcpuWaitS! >= a.vcpuWaitS!, 'waits only grow');
    const plain = await readHostCounters(localHost(dir), [], process.pid);
    assert.equal(plain.vcpuRunS, undefined, 'a process without vCPU threads has no such figures');
    assert.ok(plain.cpuS !== undefined, 'its CPU seconds are still read');
  } finally {
    vcpu.kill();
  }
});
