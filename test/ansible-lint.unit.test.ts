import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeSyntheticRuns } from './helpers/syntheticRuns.js';
import { parse as parseYaml } from 'yaml';
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

// ---- site.yml order: a role that writes into a directory runs after the role that creates it ----------------

interface Task {
  name?: string;
  loop?: unknown[];
  [module: string]: unknown;
}
const readYaml = (path: string): unknown => parseYaml(readFileSync(path, 'utf8'));
const roleFile = (role: string, part: string) => join(dir, 'roles', role, part, 'main.yml');

/** Every role's defaults, merged: enough to resolve the paths the roles create and write. */
function allDefaults(roles: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of roles)
    Object.assign(out, existsSync(roleFile(r, 'defaults')) ? readYaml(roleFile(r, 'defaults')) : {});
  return out;
}

/** `{{ var }}` / `{{ var | default(...) }}` replaced by the defaults (a few rounds: defaults name defaults). */
function resolveVars(text: string, vars: Record<string, unknown>): string {
  let s = text;
  for (let i = 0; i < 5; i++)
    s = s.replace(/\{\{\s*(\w+)\s*(\|\s*default\('([^']*)'\))?\s*\}\}/g, (m, v: string, _d, dflt?: string) => {
      const value = vars[v];
      return typeof value === 'string' ? value : dflt !== undefined ? dflt : m;
    });
  return s;
}

/** The directories a role creates (file: state directory) and the files it writes (template/copy dest). */
function roleEffects(role: string, vars: Record<string, unknown>): { creates: string[]; writes: string[] } {
  const tasks = (readYaml(roleFile(role, 'tasks')) as Task[] | null) ?? [];
  const flat = tasks.flatMap((t) => (Array.isArray(t.block) ? (t.block as Task[]) : [t]));
  const creates: string[] = [];
  const writes: string[] = [];
  for (const t of flat) {
    const file = (t['ansible.builtin.file'] ?? t.file) as { path?: string; state?: string } | undefined;
    const items = (p: string) =>
      p.includes('{{ item }}') && Array.isArray(t.loop) ? t.loop.map((x) => p.replace('{{ item }}', String(x))) : [p];
    if (file?.state === 'directory' && file.path) creates.push(...items(file.path).map((p) => resolveVars(p, vars)));
    for (const m of ['ansible.builtin.template', 'ansible.builtin.copy', 'template', 'copy']) {
      const dest = (t[m] as { dest?: string } | undefined)?.dest;
      if (dest) writes.push(...items(dest).map((p) => resolveVars(p, vars)));
    }
  }
  return { creates, writes };
}

test('site.yml applies the role creating a directory before any role writing into it (/etc/pofbench)', () => {
  const plays = readYaml(join(dir, 'site.yml')) as { name: string; roles: { role: string }[] }[];
  const order = plays.flatMap((p) => p.roles.map((r) => r.role));
  const vars = allDefaults([...new Set(order)]);
  const effects = new Map([...new Set(order)].map((r) => [r, roleEffects(r, vars)]));
  let checked = 0;
  for (const [i, role] of order.entries()) {
    for (const w of effects.get(role)!.writes) {
      const parent = w.replace(/\/[^/]+$/, '');
      for (const [creator, e] of effects) {
        if (creator === role || !e.creates.includes(parent)) continue;
        checked++;
        assert.ok(
          order.indexOf(creator) < i,
          `${role} writes ${w} but ${creator}, which creates ${parent}, comes later in site.yml`,
        );
      }
    }
  }
  assert.ok(checked >= 1, 'the influxdb role writes /etc/pofbench/influx.env, created by the nightly role');
});

// ---- the nightly: rendered by Ansible, run with a stand-in `pofbench run` and the real compare/report/prune -----

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Renders the nightly role's script and units into `out` with Ansible's own template module. */
function renderNightly(out: string, vars: Record<string, unknown>): void {
  const role = join(dir, 'roles', 'nightly');
  writeFileSync(join(out, 'vars.json'), JSON.stringify(vars));
  writeFileSync(
    join(out, 'render.yml'),
    '- hosts: localhost\n  connection: local\n  gather_facts: false\n' +
      `  vars_files: [${join(role, 'defaults', 'main.yml')}]\n` +
      '  tasks:\n    - ansible.builtin.template:\n' +
      `        src: "${role}/templates/{{ item }}.j2"\n        dest: "${out}/{{ item }}"\n        mode: "0755"\n` +
      '      loop: [pofbench-nightly.sh, pofbench-nightly.service, pofbench-nightly-alert@.service]\n',
  );
  const r = ansible('ansible-playbook', [
    '-i',
    'localhost,',
    join(out, 'render.yml'),
    '-e',
    `@${join(out, 'vars.json')}`,
  ]);
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
}

test('the nightly writes compare + report next to each session, keeps the newest N, and fails loudly', {
  skip,
  timeout: 180_000,
}, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'pofb-nightly-'));
  try {
    const root = join(tmp, 'results');
    const fixture = join(tmp, 'fixture');
    await writeSyntheticRuns(fixture, { repeats: 3, web: false, failedRun: false, linkCaps: [1000] });
    // a stand-in for `pofbench run` (copies a finished session, prints what run prints); the rest is the real CLI
    const fake = join(tmp, 'pofbench');
    writeFileSync(
      fake,
      '#!/bin/sh\nif [ "$1" = run ]; then\n  echo "$*" > "$FAKE_DIR/run-args"\n' +
        '  [ "${FAKE_RC:-0}" = 2 ] && { echo "pofbench: bad scenario" >&2; exit 2; }\n' +
        '  s="$FAKE_ROOT/2026120${FAKE_NIGHT}T013000-nightly"; mkdir -p "$FAKE_ROOT"; cp -r "$FAKE_FIXTURE" "$s"\n' +
        `  printf '{"session_id":"%s","status":"completed","started_at":"2026-12-0%sT01:30:00Z","runs":{}}' ` +
        '"$(basename "$s")" "$FAKE_NIGHT" > "$s/session.json"\n' +
        '  echo "(the run table)"; echo "session: $s"; exit "${FAKE_RC:-0}"\nfi\n' +
        `exec ${sh(process.execPath)} ${sh(join(projectRoot, 'bin', 'pofbench'))} "$@"\n`,
      { mode: 0o755 },
    );
    renderNightly(tmp, {
      nightly_pofbench: fake,
      nightly_results_dir: root,
      nightly_scenarios: ['/opt/pofbench/app/scenarios/nightly.yaml'],
      nightly_inventory: '/etc/pofbench/inventory.yaml',
      nightly_script: join(tmp, 'pofbench-nightly.sh'),
      nightly_keep_sessions: 2,
      nightly_alert_command: 'echo "$POFBENCH_FAILED_UNIT" | mail lab',
    });
    const night = (n: number, rc = 0) =>
      spawnSync(join(tmp, 'pofbench-nightly.sh'), [], {
        encoding: 'utf8',
        env: {
          ...process.env,
          FAKE_DIR: tmp,
          FAKE_ROOT: root,
          FAKE_FIXTURE: fixture,
          FAKE_NIGHT: String(n),
          FAKE_RC: String(rc),
        },
      });
    for (const n of [1, 2]) assert.equal(night(n).status, 0);
    assert.match(
      readFileSync(join(tmp, 'run-args'), 'utf8'),
      /^run \/opt\/pofbench\/app\/scenarios\/nightly\.yaml --testbed \/etc\/pofbench\/inventory\.yaml --parallel-pairs --quiet --out /,
    );
    const failed = night(3, 1);
    assert.equal(failed.status, 1, 'a failed run fails the night (OnFailure= alerts)');
    const sessions = readdirSync(root).sort();
    assert.deepEqual(sessions, ['20261202T013000-nightly', '20261203T013000-nightly'], 'retention: the newest 2');
    for (const s of sessions) {
      const d = join(root, s);
      assert.match(readFileSync(join(d, 'compare.txt'), 'utf8'), /pof vs stock/);
      assert.ok((JSON.parse(readFileSync(join(d, 'compare.json'), 'utf8')) as { changes: unknown[] }).changes.length);
      assert.match(readFileSync(join(d, 'report.html'), 'utf8'), new RegExp(`<h1>pofbench nightly ${s}</h1>`));
      assert.match(readFileSync(join(d, 'run.txt'), 'utf8'), /session: /);
    }
    const noSession = night(4, 2);
    assert.equal(noSession.status, 2);
    assert.match(noSession.stderr, /the run \(exit 2\) made no session/);

    const service = readFileSync(join(tmp, 'pofbench-nightly.service'), 'utf8');
    assert.match(service, /^OnFailure=pofbench-nightly-alert@%n\.service$/m);
    assert.match(service, new RegExp(`^ExecStart=${join(tmp, 'pofbench-nightly.sh')}$`, 'm'));
    assert.match(service, /^ExecStopPost=-.* results push /m);
    const alert = readFileSync(join(tmp, 'pofbench-nightly-alert@.service'), 'utf8');
    assert.match(alert, /^ExecStart=\/usr\/bin\/logger -t pofbench-nightly -p user\.err "pofbench nightly FAILED: %i/m);
    assert.match(alert, /^ExecStart=\/bin\/sh -c 'echo "\$POFBENCH_FAILED_UNIT" \| mail lab'$/m);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
