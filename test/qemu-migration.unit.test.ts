import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertCompleted,
  awaitShareSent,
  configureMigration,
  sampleUntilEnded,
  type Qmp,
} from '../src/qemu/migration.js';
import type { MigrateInfo } from '../src/qemu/qmp.js';
import { qemuArgv } from '../src/qemu/commandLine.js';

/** A QEMU stand-in: answers query-migrate from a script (the last answer repeats) and logs every command. */
function fakeQmp(answers: MigrateInfo[]): Qmp & { log: string[] } {
  const log: string[] = [];
  let i = 0;
  return {
    log,
    execute: (async (command: string, args?: Record<string, unknown>) => {
      log.push(args ? `${command} ${JSON.stringify(args)}` : command);
      if (command === 'query-migrate') return answers[Math.min(i++, answers.length - 1)];
      return {};
    }) as Qmp['execute'],
  };
}

const active = (transferred: number): MigrateInfo => ({
  status: 'active',
  ram: {
    transferred,
    remaining: 0,
    total: 0,
    duplicate: 0,
    normal: 0,
    'normal-bytes': 0,
    'dirty-pages-rate': 0,
    mbps: 0,
    'dirty-sync-count': 1,
  },
});

test('migrate procedure: samples until the migration ends, each sample handed on in order', async () => {
  const qmp = fakeQmp([{ status: 'setup' }, active(1), active(2), { status: 'completed', 'total-time': 5 }]);
  const seen: string[] = [];
  const r = await sampleUntilEnded(qmp, { onSample: (info) => void seen.push(info.status) });
  assert.equal(r.info.status, 'completed');
  assert.equal(r.samples, 4);
  assert.deepEqual(seen, ['setup', 'active', 'active', 'completed']);
  assert.doesNotThrow(() => assertCompleted(r.info));
});

test('migrate procedure: past the deadline the migration is cancelled and the error thrown', async () => {
  const qmp = fakeQmp([active(1)]);
  await assert.rejects(
    sampleUntilEnded(qmp, { deadline: { at: Date.now() - 1, error: (i) => `too slow (${i.status})` } }),
    /^Error: too slow \(active\)$/,
  );
  assert.equal(qmp.log.at(-1), 'migrate_cancel');
});

test("migrate procedure: a failed migration is an error with QEMU's reason (or says it gave none)", async () => {
  const r = await sampleUntilEnded(fakeQmp([{ status: 'failed', 'error-desc': 'Connection reset' }]));
  assert.throws(() => assertCompleted(r.info), /^Error: migration failed: Connection reset$/);
  assert.throws(
    () => assertCompleted({ status: 'cancelled' }, 'capture migration'),
    /capture migration cancelled: no reason/,
  );
});

test("migrate procedure: capabilities and shared parameters on both sides, the source's own on it", async () => {
  const src = fakeQmp([]);
  const dst = fakeQmp([]);
  const caps = [{ capability: 'events', state: true }];
  await configureMigration(src, dst, {
    capabilities: caps,
    sharedParameters: { 'multifd-channels': 2 },
    sourceParameters: { 'max-bandwidth': 1 },
  });
  assert.deepEqual(dst.log, [
    `migrate-set-capabilities ${JSON.stringify({ capabilities: caps })}`,
    'migrate-set-parameters {"multifd-channels":2}',
  ]);
  assert.deepEqual(src.log, [...dst.log, 'migrate-set-parameters {"max-bandwidth":1}']);
  // no capabilities and no shared parameters (a stream capture): only the source's parameters
  const only = fakeQmp([]);
  await configureMigration(only, undefined, { capabilities: [], sharedParameters: {}, sourceParameters: { a: 1 } });
  assert.deepEqual(only.log, ['migrate-set-parameters {"a":1}']);
});

test('migrate procedure: a fault waits until a share of RAM has moved, not past a migration that ended', async () => {
  const ram = (transferred: number) => ({ ...active(transferred).ram!, remaining: 100 - transferred, total: 100 });
  const moving = fakeQmp([{ status: 'setup' }, { status: 'active', ram: ram(10) }, { status: 'active', ram: ram(30) }]);
  const point = await awaitShareSent(moving, 0.25);
  assert.equal(moving.log.length, 3);
  assert.deepEqual([point.sentBytes, point.ramBytes], [30, 100]);
  const ended = fakeQmp([{ status: 'completed', ram: ram(100) }]);
  await assert.rejects(awaitShareSent(ended, 0.25), /fault not injected: the migration was completed/);
});

test('QEMU command line: a testbed VM daemonizes with a pid file and log; a local capture stays a child', () => {
  const cfg = { id: 'src', accel: 'tcg' as const, memoryMib: 256, vcpus: 1, kernel: 'k', initrd: 'i', append: 'a' };
  const vm = qemuArgv({ ...cfg, nfsDisk: { server: 'nas', path: '/x' }, incoming: true }, '/run/d');
  assert.ok(vm.includes('-daemonize') && vm.includes('-pidfile'));
  assert.deepEqual(vm.slice(-2), ['-incoming', 'defer']);
  assert.ok(vm.some((a) => a.includes('"driver":"nfs"')));
  const local = qemuArgv({ ...cfg, localDisk: '/tmp/d.raw', virtioMemMib: 128 }, '/tmp', { daemonize: false });
  assert.ok(!local.includes('-daemonize') && !local.includes('-pidfile'));
  assert.ok(local.includes('256M,maxmem=384M'));
  assert.ok(local.includes('file=/tmp/d.raw,if=virtio,format=raw,cache=none'));
  assert.ok(local.includes('-nic') && local.includes('none'), 'no NIC without one configured');
  assert.equal(vm[vm.indexOf('-machine') + 1], 'pc', 'RAM on demand: the default backend');
  // preallocated: a backend of the default's id (pc.ram), so a `-m` source's RAM block migrates into it
  const pre = qemuArgv({ ...cfg, incoming: true, preallocRam: true }, '/run/d');
  assert.equal(pre[pre.indexOf('-machine') + 1], 'pc,memory-backend=pc.ram');
  assert.equal(pre[pre.indexOf('-object') + 1], 'memory-backend-ram,id=pc.ram,size=256M,prealloc=on');
  assert.equal(pre[pre.indexOf('-m') + 1], '256M');
});
