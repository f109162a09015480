import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { largestGap, FPING_REPLY, PING_REPLY, GuestProbe, type ProbeReply } from '../src/metrics/probe.js';

const at = (...ts: number[]): ProbeReply[] => ts.map((t, i) => ({ t, seq: i, rttMs: 0.1 }));

test('largest gap inside the window, counting from the last reply before it', () => {
  const replies = at(0, 10, 20, 30, 250, 260, 270);
  assert.deepEqual(largestGap(replies, 25, 300), { gapMs: 220, startMs: 30 });
});

test('a window with steady replies has a small gap', () => {
  const replies = at(...Array.from({ length: 100 }, (_, i) => i * 10));
  assert.equal(largestGap(replies, 100, 900).gapMs, 10);
});

test('no reply after the window start: the gap runs to the end of the window', () => {
  assert.deepEqual(largestGap(at(0, 10), 15, 500), { gapMs: 490, startMs: 10 });
});

test('stops at the first reply at or after the window end', () => {
  assert.equal(largestGap(at(0, 100, 1000), 50, 100).gapMs, 100);
});

test('probe reply lines: fping -D -l (the default) and iputils ping -D (the fallback)', () => {
  const f = FPING_REPLY.exec('[1796088253.67820] 198.18.3.100 : [17], 64 bytes, 0.039 ms (0.039 avg, 0% loss)');
  assert.deepEqual(f?.slice(1), ['1796088253.67820', '17', '0.039']);
  const p = PING_REPLY.exec('[1796088253.678200] 64 bytes from 198.18.3.100: icmp_seq=18 ttl=64 time=0.120 ms');
  assert.deepEqual(p?.slice(1), ['1796088253.678200', '18', '0.120']);
  assert.equal(FPING_REPLY.exec('198.18.3.100 : xmt/rcv/%loss = 5/5/0%'), null);
});

const probeDirs = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('pofbench-probe-'));

test('the probe pings a live address (loopback) and reads its replies from its file, which stop removes', async () => {
  const before = new Set(probeDirs());
  const probe = new GuestProbe('127.0.0.1', undefined, 50);
  probe.start();
  let mine: string[];
  try {
    const t0 = Date.now();
    const first = await probe.waitForReply(t0 - 1000, 10_000);
    assert.ok(first.rttMs >= 0 && first.t >= t0 - 1000);
    mine = probeDirs().filter((d) => !before.has(d));
    assert.equal(mine.length, 1, 'one reply file while running');
    const pinger = readdirSync('/proc').find(
      (p) =>
        /^\d+$/.test(p) &&
        readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(process.pid),
    );
    assert.ok(pinger, 'the pinger is a child of this process');
    assert.equal(readlinkSync(`/proc/${pinger}/fd/1`), `${tmpdir()}/${mine[0]}/replies.log`, 'its stdout is the file');
    // as root it runs at real-time priority (policy 1: SCHED_FIFO), so the load it measures cannot delay it
    const policy = readFileSync(`/proc/${pinger}/stat`, 'utf8').split(') ')[1].split(' ')[38];
    if (process.getuid?.() === 0) assert.ok(probe.realtime && policy === '1', `policy ${policy}`);
    else assert.equal(probe.realtime, policy === '1');
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await probe.stop();
  }
  const replies = probe.replies;
  assert.ok(replies.length >= 5, `replies in ~0.3 s at 50 Hz: ${replies.length}`);
  for (let i = 1; i < replies.length; i++) {
    assert.ok(replies[i].seq > replies[i - 1].seq, 'sequence numbers rise');
    assert.ok(replies[i].t >= replies[i - 1].t, 'times rise');
  }
  assert.equal(existsSync(`${tmpdir()}/${mine[0]}`), false, 'the reply file is removed on stop');
  assert.equal(probe.replies.length, replies.length, 'replies stay readable after stop');
});
