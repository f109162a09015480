import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostCpu, hostCpuUse } from '../src/metrics/hostCounters.js';
import { readFileSync } from 'node:fs';
import { processCpuSeconds, processEnded, statFieldsAfterComm } from '../src/util/procStat.js';

test('host CPU: busy seconds from /proc/stat (idle and iowait excluded) and utilization over the window', () => {
  // user nice system idle iowait irq softirq steal guest guest_nice (USER_HZ = 100)
  const a = hostCpu('cpu  1000 10 500 90000 300 5 20 0 0 0', '2');
  assert.deepEqual(a, { hostBusyS: 15.35, hostCores: 2 });
  const b = hostCpu('cpu  1600 10 800 90100 900 5 20 0 0 0', '2');
  const use = hostCpuUse({ nic: {}, ...a, at: 10_000 }, { nic: {}, ...b, at: 15_000 });
  assert.deepEqual(use, { busyS: 9, utilPct: 90 }, '9 busy core-seconds of 2 cores × 5 s');
  assert.deepEqual(hostCpu('gone', '2'), {}, 'an unreadable /proc/stat gives no figure, not a wrong one');
  assert.deepEqual(hostCpuUse({ nic: {}, at: 0 }, { nic: {}, ...b, at: 1000 }), {});
});

test(
  '/proc/<pid>/stat: fields are counted after the last ")", so a command name with spaces and ")" does not ' +
    'shift them',
  () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const stat = '4242 (qemu) x (y)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 1000 1 1\n';
    assert.deepEqual(statFieldsAfterComm(stat).slice(0, 2), ['S', '1']);
    assert.equal(processCpuSeconds(stat), 3.25);
    assert.equal(processEnded(stat), false);
    assert.equal(processEnded(stat.replace(') S ', ') Z ')), true, 'a zombie has ended');
    // this process's own line parses to a state and a non-negative CPU time
    const own = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    assert.match(statFieldsAfterComm(own)[0], /^[RS]$/);
    assert.ok(processCpuSeconds(own) >= 0);
    assert.equal(processEnded(own), false);
  },
);
