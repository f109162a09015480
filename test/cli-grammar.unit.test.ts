import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerCommands } from '../src/cli/commands.js';
import { classify, errorLine } from '../src/cli/exitCodes.js';
import { EXIT, OperationFailed, UserError } from '../src/util/errors.js';
import { CodecError } from '../src/codec/errors.js';
import { projectRoot } from '../src/util/paths.js';
import { recs, tempDir, writeRecords } from './helpers/analysisRecords.js';

/** One CLI grammar: --json wherever there is machine output, --quiet/--verbose on long commands, exit codes. */

function commands(): Map<string, Command> {
  const program = new Command('pofbench');
  registerCommands(program);
  const out = new Map<string, Command>();
  const walk = (c: Command, prefix: string) => {
    for (const sub of c.commands) {
      const name = `${prefix}${sub.name()}`;
      out.set(name, sub);
      walk(sub, `${name} `);
    }
  };
  walk(program, '');
  return out;
}
const flags = (c: Command) => c.options.map((o) => o.long);

test('every command with --format also has --json; machine output everywhere it is asked for', () => {
  const all = commands();
  for (const [name, c] of all)
    if (flags(c).includes('--format')) assert.ok(flags(c).includes('--json'), `${name} has --format but no --json`);
  for (const name of [
    'run',
    'plan',
    'results list',
    'results push',
    'testbed status',
    'compare',
    'pareto',
    'recommend',
    'report',
    'image info',
    'faults',
    'soak',
  ])
    assert.ok(flags(all.get(name)!).includes('--json'), `${name} has --json`);
});

test('long commands take --quiet and --verbose', () => {
  const all = commands();
  for (const name of ['run', 'testbed up', 'testbed down', 'image build', 'faults', 'soak', 'results push', 'report'])
    for (const f of ['--quiet', '--verbose']) assert.ok(flags(all.get(name)!).includes(f), `${name} has ${f}`);
});

test('exit codes: 2 usage, 1 a failed operation or stream, 4 an unexpected exception', () => {
  assert.equal(classify(new UserError('x')), EXIT.usage);
  assert.equal(classify(new OperationFailed('spooled')), EXIT.failed);
  assert.equal(classify(new CodecError('bad record', 12)), EXIT.failed);
  assert.equal(classify(new TypeError("Cannot read properties of undefined (reading 'x')")), EXIT.internal);
  assert.equal(classify(new CommanderError(1, 'commander.unknownOption', 'x')), EXIT.usage);
  assert.equal(classify(new CommanderError(0, 'commander.helpDisplayed', '')), EXIT.ok);
  assert.deepEqual(EXIT, { ok: 0, failed: 1, usage: 2, regression: 3, internal: 4 });
  assert.equal(errorLine(new UserError('no file', 'pass one')), 'pofbench: no file — pass one');
  assert.equal(
    errorLine(new RangeError('boom'), false),
    'pofbench: internal error: boom (run again with --verbose or POFBENCH_DEBUG=1 for the stack)',
  );
  assert.equal(errorLine(new RangeError('boom'), true), 'pofbench: internal error: boom');
});

const bin = join(projectRoot, 'bin', 'pofbench');
const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

test('the CLI: --json is --format json, contradictions are usage errors, --help lists the exit codes', () => {
  const dir = tempDir();
  writeRecords(dir, [
    ...recs({ strategy: 'stock' }, 'total_time_ms', [100, 110, 120]),
    ...recs({ strategy: 'pof' }, 'total_time_ms', [80, 85, 90]),
  ]);
  const viaFormat = cli(['compare', dir, '--format', 'json']);
  const viaJson = cli(['compare', dir, '--json']);
  assert.equal(viaJson.status, 0, viaJson.stderr);
  assert.equal(viaJson.stdout, viaFormat.stdout);
  assert.ok(JSON.parse(viaJson.stdout).changes.length > 0);
  assert.equal(cli(['pareto', dir, '--json']).stdout, cli(['pareto', dir, '--format', 'json']).stdout);

  const both = cli(['compare', dir, '--json', '--format', 'csv']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /^pofbench: --json contradicts --format csv — pass one of them$/m);
  const qv = cli(['report', dir, '--html', join(dir, 'r.html'), '--quiet', '--verbose']);
  assert.equal(qv.status, 2);
  assert.match(qv.stderr, /--quiet and --verbose contradict each other/);

  const help = cli(['--help']);
  assert.match(
    help.stdout.replace(/\s+/g, ' '),
    /Exit codes: 0 ok, 1 a run or the operation failed, 2 usage or .* 4 internal/,
  );
});
