import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { killOwnCommand } from '../src/hosts/killOwn.js';

/** A local process whose command line holds `marker` (bash ignores its extra arguments). */
function startWith(marker: string, script = 'sleep 30; true') {
  const p = spawn('bash', ['-c', script, 'bash', marker], { stdio: 'ignore' });
  const exited = new Promise<string | null>((resolve) => p.on('exit', (_code, signal) => resolve(signal)));
  return { pid: p.pid!, exited, kill: () => p.kill('SIGKILL') };
}

test('killOwnCommand: ends the process only while its PID still runs the command that holds the marker', async () => {
  const ours = startWith('/run/pofbench/r1/source-stats.json');
  const other = startWith('/run/pofbench/r0/source-stats.json');
  try {
    // a PID that now runs another command (a reused PID): left alone, and the command still exits 0
    const wrong = await execa('sh', ['-c', killOwnCommand(other.pid, '/run/pofbench/r1/source-stats.json')]);
    assert.equal(wrong.exitCode, 0);
    assert.equal(process.kill(other.pid, 0), true, 'the other process still runs');
    const t0 = Date.now();
    await execa('sh', ['-c', killOwnCommand(ours.pid, '/run/pofbench/r1/source-stats.json')]);
    assert.equal(await ours.exited, 'SIGTERM');
    assert.ok(Date.now() - t0 < 2000, 'no grace waited once it was gone');
    // one that ignores SIGTERM gets SIGKILL after the grace
    const stubborn = startWith('/run/x/qmp.sock', "trap '' TERM; sleep 30 & wait; sleep 30");
    await new Promise((r) => setTimeout(r, 200));
    await execa('sh', ['-c', killOwnCommand(stubborn.pid, '/run/x/qmp.sock', { graceMs: 300 })]);
    assert.equal(await stubborn.exited, 'SIGKILL');
  } finally {
    ours.kill();
    other.kill();
  }
  assert.throws(() => killOwnCommand(0, 'x'), /bad pid 0/);
  assert.throws(() => killOwnCommand(5, ''), /empty marker/);
});
