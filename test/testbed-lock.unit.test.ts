import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireTestbedLock, testbedLockPath } from '../src/testbed/lock.js';
import { UserError } from '../src/util/errors.js';

const home = mkdtempSync(join(tmpdir(), 'pofbench-lock-'));
process.env.POFBENCH_HOME = home;
process.on('exit', () => rmSync(home, { recursive: true, force: true }));

test('the session lock: taken and released; a live holder refuses a second session by name', async () => {
  const path = testbedLockPath('local');
  const release = acquireTestbedLock('local', 'pofbench run a.yaml');
  const held = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(held.pid, process.pid);
  assert.equal(held.command, 'pofbench run a.yaml');
  release();
  assert.equal(existsSync(path), false, 'released');
  // another live process holds it
  const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  try {
    writeFileSync(path, JSON.stringify({ pid: other.pid, command: 'pofbench run b.yaml', started_at: 'then' }));
    assert.throws(
      () => acquireTestbedLock('local'),
      (err: unknown) =>
        err instanceof UserError &&
        err.message.includes(`session pid ${other.pid}`) &&
        err.message.includes('pofbench run b.yaml'),
    );
  } finally {
    other.kill('SIGKILL');
    await new Promise((r) => other.on('exit', r));
  }
  // its process is gone: the lock is stale and taken over
  const again = acquireTestbedLock('local');
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid);
  again();
});

test('testbed files get their own lock (by absolute path), apart from the local testbed', () => {
  assert.notEqual(testbedLockPath('lab.yaml'), testbedLockPath('local'));
  assert.equal(testbedLockPath('lab.yaml'), testbedLockPath(join(process.cwd(), 'lab.yaml')));
});
