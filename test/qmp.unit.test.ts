import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { QmpClient } from '../src/qemu/qmp.js';

/** A fake QEMU on the other end of a duplex pair: greets, answers by id, can emit events. */
function fakeQemu(handler: (cmd: { execute: string; arguments?: unknown; id: string }) => unknown) {
  const toClient = new PassThrough();
  const fromClient = new PassThrough();
  const client = Duplex.from({ readable: toClient, writable: fromClient });
  toClient.write(
    `${JSON.stringify({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 } }, capabilities: [] } })}\n`,
  );
  let buf = '';
  fromClient.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const cmd = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      const ret = handler(cmd);
      // an event arrives before the reply, as QEMU may interleave them
      const event = { event: 'MIGRATION', data: { status: 'active' }, timestamp: { seconds: 1, microseconds: 0 } };
      toClient.write(`${JSON.stringify(event)}\n`);
      const reply =
        ret instanceof Error
          ? { error: { class: 'GenericError', desc: ret.message }, id: cmd.id }
          : { return: ret, id: cmd.id };
      toClient.write(`${JSON.stringify(reply)}\n`);
    }
  });
  return { client, toClient };
}

test('negotiates, executes in order, surfaces errors and events', async () => {
  const seen: string[] = [];
  const { client } = fakeQemu((c) => {
    seen.push(c.execute);
    if (c.execute === 'bad') return new Error('no such thing');
    if (c.execute === 'query-status') return { status: 'running' };
    return {};
  });
  const qmp = await QmpClient.open(client, 'fake');
  assert.equal(qmp.versionString, '7.2.22');
  const events: string[] = [];
  qmp.on('event', (e) => events.push(e.event));
  assert.deepEqual(await qmp.execute('query-status'), { status: 'running' });
  await assert.rejects(qmp.execute('bad'), /fake: QMP bad: no such thing \(GenericError\)/);
  assert.deepEqual(seen, ['qmp_capabilities', 'query-status', 'bad']);
  assert.ok(events.includes('MIGRATION'));
  qmp.close();
});

test('pending commands fail when the connection closes', async () => {
  const { client, toClient } = fakeQemu((c) => (c.execute === 'qmp_capabilities' ? {} : undefined));
  const qmp = await QmpClient.open(client, 'fake');
  const never = new Promise(() => undefined);
  void never;
  const p = qmp.execute('query-migrate', undefined, 5000);
  toClient.destroy();
  client.destroy();
  await assert.rejects(p, /fake: .*closed|fake: .*error/);
});

test("pending commands fail when QEMU's side ends, though the stream stays open for writing", async () => {
  // an SSH-forwarded unix socket: QEMU died, sshd sent EOF, and closes the channel only once a write fails
  const toClient = new PassThrough();
  const fromClient = new PassThrough();
  const client = Duplex.from({ readable: toClient, writable: fromClient });
  toClient.write(`${JSON.stringify({ QMP: { version: { qemu: { major: 10, minor: 0, micro: 2 } } } })}\n`);
  // answers qmp_capabilities only; whatever comes next stays unanswered
  fromClient.once('data', (d: Buffer) =>
    toClient.write(`${JSON.stringify({ return: {}, id: JSON.parse(d.toString()).id })}\n`),
  );
  const qmp = await QmpClient.open(client, 'fake');
  const t0 = Date.now();
  const p = qmp.execute('query-migrate', undefined, 5000);
  toClient.end();
  await assert.rejects(p, /fake: QMP connection closed \(during query-migrate\)/);
  assert.ok(Date.now() - t0 < 1000, 'at once, not at the command timeout');
  await assert.rejects(qmp.execute('query-status'), /QMP connection closed/);
  client.destroy();
});
