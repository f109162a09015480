import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { localUp, localDown } from '../src/testbed/local/localTestbed.js';
import { localKnownHostsFile } from '../src/testbed/local/inventory.js';
import { buildImage, type GuestImage } from '../src/image/build.js';
import { loadTestbedFile } from '../src/testbed/testbedFile.js';
import { preflight } from '../src/testbed/preflight.js';
import { projectRoot } from '../src/util/paths.js';
import { pofbenchProcesses, pofbenchNamespaces } from './helpers/leftovers.js';

// Lab mode on the local testbed: the same inventory format as a lab (testbed/local-inventory.yaml)
// drives Ansible and the runner; host keys are checked against the known_hosts file testbed up writes.
const inventory = join(projectRoot, 'testbed', 'local-inventory.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'pofbench-lab-'));
const cli = join(projectRoot, 'dist', 'src', 'cli', 'main.js');
const hasAnsible = spawnSync('sh', ['-c', 'command -v ansible-playbook']).status === 0;
let image: GuestImage;

before(
  async () => {
    image = await buildImage({ log: (l) => console.log(`image: ${l}`) });
    await localUp((l) => console.log(`testbed: ${l}`));
  },
  { timeout: 600_000 },
);

after(
  async () => {
    await localDown();
    rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(pofbenchNamespaces(), [], 'no namespace left');
    assert.deepEqual(pofbenchProcesses(), [], 'no process left');
  },
  { timeout: 120_000 },
);

/** A copy of the local inventory with some all.vars changed. */
function inventoryWith(name: string, vars: Record<string, unknown>): string {
  const doc = parse(readFileSync(inventory, 'utf8'));
  Object.assign(doc.all.vars, vars);
  const file = join(tmp, name);
  writeFileSync(file, stringify(doc));
  return file;
}

const need = () => ({ image: { id: image.id, kernel: image.kernel, initrd: image.initrd }, memoryMib: 256 });

test('Ansible applies kvm_host, pofbench and guest_image to the namespace hosts; the second run changes nothing', {
  skip: hasAnsible ? false : 'ansible-playbook not installed (scripts/setup.sh installs ansible-core)',
  timeout: 300_000,
}, () => {
  const bundle = join(tmp, 'bundle.tar.gz');
  // one build for both runs: others may rebuild dist/ meanwhile
  execFileSync(join(projectRoot, 'scripts', 'bundle.sh'), [bundle]);
  const extra = {
    pofbench_install_dir: join(tmp, 'opt'),
    pofbench_bundle: bundle,
    pofbench_bundle_build: false,
    guest_image_hosts_dir: join(tmp, 'images'),
    guest_image_nas_dir: join(tmp, 'nas'),
    // the namespace hosts share this machine's /var/lib/apt: setup.sh installed the packages, no apt update here
    kvm_host_apt_update_cache: false,
  };
  const play = () => {
    const t0 = Date.now();
    const r = spawnSync(
      'ansible-playbook',
      [
        '-i',
        inventory,
        join(projectRoot, 'ansible', 'site.yml'),
        '--tags',
        'kvm_host,pofbench,guest_image',
        '--forks',
        '1',
        '-e',
        JSON.stringify(extra),
      ],
      {
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, ANSIBLE_CONFIG: join(projectRoot, 'ansible', 'ansible.cfg'), ANSIBLE_NOCOLOR: '1' },
      },
    );
    const recap = r.stdout.slice(r.stdout.lastIndexOf('PLAY RECAP'));
    console.log(`ansible-playbook exit ${r.status} in ${Date.now() - t0} ms\n${recap.trim()}`);
    assert.equal(r.status, 0, `${r.stdout.slice(-3000)}${r.stderr}`);
    const hosts = [...recap.matchAll(/^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)].map(
      (m) => ({ host: m[1], ok: +m[2], changed: +m[3], unreachable: +m[4], failed: +m[5] }),
    );
    assert.deepEqual(hosts.map((h) => h.host).sort(), ['localhost', 'pofb-dst', 'pofb-nas', 'pofb-src']);
    return hosts;
  };
  const first = play();
  assert.ok(first.find((h) => h.host === 'pofb-src')!.changed > 0, 'first run installs on src');
  assert.ok(first.find((h) => h.host === 'pofb-nas')!.changed > 0, 'first run copies the data disk to the NAS');
  const second = play();
  for (const h of second) assert.equal(h.changed, 0, `${h.host}: second run changed=${h.changed}`);
  // what the roles put there works: the CLI from the bundle, the image files
  const v = spawnSync(process.execPath, [join(tmp, 'opt', 'app', 'dist', 'src', 'cli', 'main.js'), '--version'], {
    encoding: 'utf8',
  });
  assert.equal(v.stdout.trim(), '0.1.0');
  assert.deepEqual(
    readFileSync(join(tmp, 'nas', 'images', image.id, 'data.raw')).subarray(0, 1 << 20),
    readFileSync(image.dataDisk).subarray(0, 1 << 20),
  );
  assert.ok(readFileSync(join(tmp, 'images', image.id, 'vmlinuz')).equals(readFileSync(image.kernel)));
});

test('pofbench run --testbed testbed/local-inventory.yaml: preflight, then one stock migration in lab mode', {
  timeout: 600_000,
}, () => {
  const scen = join(tmp, 'lab-idle.yaml');
  writeFileSync(
    scen,
    'name: lab-idle\nguest: { memory_mib: 192 }\nworkload: { type: idle, warmup_s: 0 }\nmigration: { ' +
      'link_cap_mbit: 0 }\n',
  );
  const out = join(tmp, 'results');
  const t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    [cli, 'run', scen, '--testbed', inventory, '--strategies', 'stock', '--repeat', '1', '--out', out, '--json'],
    { encoding: 'utf8', timeout: 540_000 },
  );
  console.log(`pofbench run exit ${r.status} in ${Date.now() - t0} ms`);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, /preflight: 1 pair\(s\) ready/);
  const [rec] = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.equal(rec.status, 'completed', String(rec.error));
  assert.equal(rec.pair, 'local');
  assert.equal(rec.src_host, 'pofb-src');
  assert.equal(rec.dst_host, 'pofb-dst');
  assert.equal(rec.guest_on_dst, true);
  console.log(`lab-mode run: total ${rec.total_time_ms} ms, downtime ${rec.downtime_ms} ms`);
});

test('preflight: a wrong host key fails with one clear line naming the host', { timeout: 60_000 }, async () => {
  const keyFile = join(tmp, 'other_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
  const other = readFileSync(`${keyFile}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const lines = readFileSync(localKnownHostsFile(), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (l.startsWith('198.18.0.11 ') ? `198.18.0.11 ${other}` : l));
  const known = join(tmp, 'known_hosts_wrong');
  writeFileSync(known, `${lines.join('\n')}\n`);
  const [tb] = await loadTestbedFile(inventoryWith('wrong-key.yaml', { pofbench_known_hosts: known }));
  const failures = await preflight(tb, need());
  console.log(failures.join('\n'));
  assert.equal(failures.length, 1, failures.join('\n'));
  assert.match(
    failures[0],
    /^pair local: host pofb-src \(198\.18\.0\.11:22\): SSH host key does not match known_hosts .*known_hosts_wrong$/,
  );
});

test('preflight: an unmounted NAS fails on both hosts, and pofbench run stops before anything starts', {
  timeout: 120_000,
}, async () => {
  const absent = join(tmp, 'nas-not-mounted');
  const file = inventoryWith('unmounted.yaml', { pofbench_nas_mount_path: absent });
  const [tb] = await loadTestbedFile(file);
  const failures = await preflight(tb, need());
  assert.deepEqual(
    failures,
    ['dst', 'src'].map(
      (r) =>
        `pair local: ${r} pofb-${r} (198.18.0.${r === 'src' ? 11 : 12}:22): NAS export is not mounted at ${absent} ` +
        `(nfs_client role)`,
    ),
  );
  const scen = join(tmp, 'lab-idle.yaml');
  const r = spawnSync(
    process.execPath,
    [cli, 'run', scen, '--testbed', file, '--strategies', 'stock', '--out', join(tmp, 'results-unmounted')],
    { encoding: 'utf8', timeout: 100_000 },
  );
  console.log(r.stderr.trim().split('\n').slice(-4).join('\n'));
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /preflight found 2 problem\(s\):\n {2}pair local: dst pofb-dst .*\n {2}pair local: src pofb-src .*NAS export is not mounted at/,
  );
});
