import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';
import { Cleanups } from '../src/runner/runState.js';
import { sleep } from '../src/util/exec.js';

/**
 * A process guarded by guardExits (src/runner/exitPaths.ts) with hooks that print what they do; the
 * runs "in flight" never settle unless `settle` is given (the wait is then cut by a second signal).
 */
function guarded(mode: 'settle' | 'hang' | 'throw') {
  const mod = join(projectRoot, 'dist', 'src', 'runner', 'exitPaths.js');
  const script = `
    import { guardExits } from ${JSON.stringify(mod)};
    const say = (l) => process.stdout.write(l + '\\n');
    guardExits({
      cleanupInFlight: async () => say('cleanup'),
      runsSettled: () => ${mode === 'hang' ? 'new Promise(() => {})' : 'Promise.resolve()'},
      lastWords: async (reason) => say('last words: ' + reason),
      close: () => say('close'),
      log: () => undefined,
    }, { graceMs: 60000 });
    say('ready');
    ${mode === 'throw' ? "setTimeout(() => { throw new Error('ENOSPC: no space left on device, write'); }, 50);" : ''}
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
  let out = '';
  const ready = new Promise<void>((r) =>
    child.stdout.on('data', (d: Buffer) => {
      out += String(d);
      if (out.includes('ready')) r();
    }),
  );
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, ready, exited, out: () => out };
}

test('SIGHUP runs the clean-up once, then the last words with the reason, and exits 130', async () => {
  const g = guarded('settle');
  await g.ready;
  g.child.kill('SIGHUP');
  assert.equal(await g.exited, 130);
  assert.deepEqual(g.out().trim().split('\n'), ['ready', 'cleanup', 'last words: SIGHUP', 'close']);
});

test('a second Ctrl-C stops the wait for records (the clean-up still ran once) and exits at once', async () => {
  const g = guarded('hang');
  await g.ready;
  const t0 = Date.now();
  g.child.kill('SIGINT');
  setTimeout(() => g.child.kill('SIGINT'), 300);
  assert.equal(await g.exited, 130);
  assert.ok(Date.now() - t0 < 10000, 'did not wait the 60 s grace');
  assert.deepEqual(g.out().trim().split('\n'), ['ready', 'cleanup', 'last words: SIGINT', 'close']);
});

test('an error nothing caught (a full disk) takes the same path, with the error as the reason, exit 1', async () => {
  const g = guarded('throw');
  assert.equal(await g.exited, 1);
  assert.deepEqual(g.out().trim().split('\n'), [
    'ready',
    'cleanup',
    'last words: error: ENOSPC: no space left on device, write',
    'close',
  ]);
});

test('clean-up steps: callers at the same time share one pass and return only when every step is done', async () => {
  const failures: string[] = [];
  const c = new Cleanups((err) => failures.push(String((err as Error).message)));
  const done: string[] = [];
  const step =
    (name: string, ms: number, fail = false) =>
    async () => {
      await sleep(ms);
      if (fail) throw new Error(`${name} failed`);
      done.push(name);
    };
  c.push(step('link cap', 30));
  c.push(step('samplers', 5, true));
  c.push(step('vms', 60));
  // the interrupt's clean-up and the run's own teardown at once: neither returns before the link cap is off
  const [first, second] = [c.runAll(), c.runAll()];
  await Promise.race([first, second]);
  assert.deepEqual(done, ['vms', 'link cap'], 'every step finished, last-in first-out, when the first caller returns');
  await Promise.all([first, second]);
  assert.deepEqual(failures, ['samplers failed'], 'a failed step is reported and does not stop the others');
  await c.runAll();
  assert.deepEqual(done, ['vms', 'link cap'], 'each step runs once');
});
