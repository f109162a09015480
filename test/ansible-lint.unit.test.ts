import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';

// ansible-core and ansible-lint come from Debian (scripts/setup.sh); without them these checks skip.
const dir = join(projectRoot, 'ansible');
const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const missing = ['ansible-playbook', 'ansible-lint'].filter((b) => !has(b));
const skip = missing.length
  ? `${missing.join(', ')} not installed (scripts/setup.sh installs ansible-core and ansible-lint)`
  : false;

function ansible(cmd: string, args: string[]) {
  // everything ansible and ansible-lint keep goes to the project dir / a temp cache, not to ~
  const cache = mkdtempSync(join(tmpdir(), 'pofbench-lint-'));
  try {
    const t0 = Date.now();
    const r = spawnSync(cmd, args, {
      cwd: dir,
      encoding: 'utf8',
      timeout: 180_000,
      env: {
        ...process.env,
        ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
        XDG_CACHE_HOME: cache,
        NO_COLOR: '1',
        ANSIBLE_NOCOLOR: '1',
      },
    });
    console.log(`${cmd} ${args.join(' ')}: exit ${r.status} in ${Date.now() - t0} ms`);
    return r;
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

test('ansible-playbook --syntax-check passes for site.yml with the example and the local inventory', {
  skip,
  timeout: 120_000,
}, () => {
  for (const inv of ['inventory.example.yaml', '../testbed/local-inventory.yaml']) {
    const r = ansible('ansible-playbook', ['-i', inv, '--syntax-check', 'site.yml']);
    assert.equal(r.status, 0, `${inv}: ${r.stdout}${r.stderr}`);
  }
});

test('ansible-lint passes with the production profile (ansible-lint 6.13, Debian 12)', {
  skip,
  timeout: 180_000,
}, () => {
  const r = ansible('ansible-lint', ['--offline', '--profile', 'production']);
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(`${r.stdout}${r.stderr}`, /Passed with production profile/);
});
