/**
 * Scenario input is data, never a key (issue 15): `extends` reaches only scenario files under the
 * scenario's own directory tree or the project's scenarios/, and no error quotes a foreign file;
 * sweep paths cannot reach Object.prototype; names (also those taken from the file name) are safe.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarios, parseScenarios, SCENARIO_SCHEMA_PATH } from '../src/scenario/load.js';
import { SCENARIO_NAME_RE, makeRunId } from '../src/scenario/runId.js';
import { projectRoot } from '../src/util/paths.js';
import { UserError } from '../src/util/errors.js';

const temps: string[] = [];
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** tmp/{sc,secret}: the scenario directory and a foreign directory next to it. */
function layout(): { sc: string; secret: string } {
  const root = mkdtempSync(join(tmpdir(), 'pofbench-hostile-'));
  temps.push(root);
  const sc = join(root, 'sc');
  const secret = join(root, 'secret');
  mkdirSync(sc);
  mkdirSync(secret);
  // an /etc/shadow look-alike (YAML reads these lines as a mapping!) and a mapping of secrets
  writeFileSync(join(secret, 'shadow'), 'root:$6$SECRETHASH$xyz:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n');
  writeFileSync(join(secret, 'conf.yaml'), 'SECRETKEY: SECRETVALUE\n');
  return { sc, secret };
}

async function errorOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `a UserError, got ${err}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    return `${err.message} ${err.hint ?? ''}`;
  }
  assert.fail('expected an error');
}

const noSecret = (msg: string) => {
  assert.doesNotMatch(msg, /SECRET|\$6\$|19000|99999/, `the error quotes the file's content: ${msg}`);
};

test("extends: a file outside the scenario's tree and scenarios/ is refused, naming the file and field", async () => {
  const { sc, secret } = layout();
  const cases: Record<string, string> = {
    'rel.yaml': 'extends: ../secret/shadow\n',
    'abs.yaml': `extends: ${join(secret, 'conf.yaml')}\n`,
    'etc.yaml': 'workload: { type: idle }\nextends: /etc/shadow\n',
  };
  for (const [name, text] of Object.entries(cases)) {
    writeFileSync(join(sc, name), text);
    const msg = await errorOf(() => loadScenarios(join(sc, name)));
    assert.match(msg, new RegExp(`scenario ${join(sc, name)}:\\d+: field "extends"`), msg);
    assert.match(msg, /outside/, msg);
    noSecret(msg);
  }
});

test('extends: a symlink inside the tree to a foreign file is refused (realpath is checked)', async () => {
  const { sc, secret } = layout();
  symlinkSync(join(secret, 'shadow'), join(sc, 'base.yaml'));
  symlinkSync(secret, join(sc, 'linkdir'));
  writeFileSync(join(sc, 'a.yaml'), 'extends: base.yaml\n');
  writeFileSync(join(sc, 'b.yaml'), 'extends: linkdir/conf.yaml\n');
  for (const f of ['a.yaml', 'b.yaml']) {
    const msg = await errorOf(() => loadScenarios(join(sc, f)));
    assert.match(msg, new RegExp(`${join(sc, f)}:1: field "extends".*outside`), msg);
    noSecret(msg);
  }
});

test('extends: a target inside the tree that is not a scenario mapping is refused without quoting it', async () => {
  const { sc } = layout();
  const bases: Record<string, string> = {
    'list.yaml': '- SECRETITEM\n',
    'scalar.yaml': 'SECRETTOKEN-123\n',
    'broken.yaml': 'a: "SECRET unterminated\n',
    'alias.yaml': 'a: *SECRETALIAS\n',
    'keys.yaml': 'root:$6$SECRETHASH$xyz:19000:0:99999:7:::\n',
    'secrets.yaml': 'SECRETKEY: SECRETVALUE\nguest: { memory_mib: 256 }\n',
    shadow: 'guest: { memory_mib: 256 }\n',
  };
  for (const [base, text] of Object.entries(bases)) {
    writeFileSync(join(sc, base), text);
    writeFileSync(join(sc, 'child.yaml'), `extends: ${base}\n`);
    const msg = await errorOf(() => loadScenarios(join(sc, 'child.yaml')));
    assert.match(msg, new RegExp(`${join(sc, 'child.yaml')}:1: field "extends"`), `${base}: ${msg}`);
    noSecret(msg);
  }
});

test("extends: bases under the scenario's tree and in scenarios/ still work", async () => {
  const { sc } = layout();
  mkdirSync(join(sc, 'common'));
  writeFileSync(join(sc, 'common', 'b.yaml'), 'guest: { memory_mib: 384 }\n');
  writeFileSync(join(sc, 'local.yaml'), 'extends: common/b.yaml\n');
  writeFileSync(join(sc, 'shipped.yaml'), `extends: ${join(projectRoot, 'scenarios', 'base.yaml')}\n`);
  assert.equal((await loadScenarios(join(sc, 'local.yaml')))[0].guest.memory_mib, 384);
  assert.equal((await loadScenarios(join(sc, 'shipped.yaml')))[0].name, 'shipped');
  // a base's own typo deeper down is still named: it is a scenario
  writeFileSync(join(sc, 'common', 'typo.yaml'), 'guest: { memroy_mib: 384 }\n');
  writeFileSync(join(sc, 'typo-child.yaml'), 'extends: common/typo.yaml\n');
  const typo = await errorOf(() => loadScenarios(join(sc, 'typo-child.yaml')));
  assert.match(typo, /typo\.yaml:1: field "guest\.memroy_mib" unknown field/);
});

test('sweep paths with __proto__, constructor or prototype are refused, and Object.prototype stays clean', async () => {
  for (const path of ['migration.__proto__.polluted', 'guest.constructor.prototype.polluted', 'workload.prototype']) {
    const msg = await errorOf(() => parseScenarios(`sweep:\n  ${path}: [1, 2]\n`, 'p.yaml'));
    assert.match(msg, new RegExp(`p\\.yaml:2: field "sweep\\.${path.replace(/\./g, '\\.')}"`), msg);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, `${path} polluted Object.prototype`);
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
  }
});

test('a __proto__ key in a base stays a field (refused by the schema), never a prototype', async () => {
  const { sc } = layout();
  writeFileSync(join(sc, 'base.yaml'), 'migration: { capabilities: { __proto__: { xbzrle: true } } }\n');
  writeFileSync(join(sc, 'child.yaml'), 'extends: base.yaml\nmigration: { capabilities: { auto-converge: true } }\n');
  const msg = await errorOf(() => loadScenarios(join(sc, 'child.yaml')));
  assert.match(msg, /base\.yaml:1: field "migration\.capabilities\.__proto__"/);
});

test('a scenario name taken from the file name must be safe, naming the file and the rule', async () => {
  const { sc } = layout();
  const file = join(sc, 'x,server=on $(id).yaml');
  writeFileSync(file, 'workload: { type: idle }\n');
  const msg = await errorOf(() => loadScenarios(file));
  assert.ok(msg.includes(file), msg);
  assert.ok(msg.includes(SCENARIO_NAME_RE.source), msg);
  await errorOf(() => parseScenarios('name: ok\n---\nguest: { vcpus: 1 }\n', 'a b.yaml'));
  assert.equal(parseScenarios('name: "fine"\n', 'x,y.yaml')[0].name, 'fine', 'an explicit safe name wins');
  assert.equal(parseScenarios('{}\n', 'web-1.0_b.yaml')[0].name, 'web-1.0_b');
  const runId = () => makeRunId({ scenario: 'x,server=on', configId: '', strategy: 'stock', repeat: 0 });
  assert.throws(runId, /scenario name/);
});

test("the name rule is the schema's", () => {
  const schema = JSON.parse(readFileSync(SCENARIO_SCHEMA_PATH, 'utf8'));
  assert.equal(schema.properties.name.pattern, SCENARIO_NAME_RE.source);
});
