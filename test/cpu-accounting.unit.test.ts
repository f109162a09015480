import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  parseProcSnapshot,
  parseStatLine,
  procSnapshotCommand,
  cpuBetween,
  processTree,
  sshdSessions,
  localSnapshot,
  type ProcSnapshot,
} from '../src/metrics/processCpu.js';
import { cpuComponents, snapshotCpu, type CpuSnapshots } from '../src/metrics/cpuAccounting.js';
import type { SshHost } from '../src/hosts/ssh.js';
import { pofPathCost } from '../src/metrics/pofPathCost.js';
import { switchoverBreakdown } from '../src/metrics/switchover.js';
import { dataPathFloor, pairVsRelay } from '../src/bench/codecBench.js';

/** A /proc/<pid>/stat line with the given pid, name, parent and utime/stime ticks. */
const stat = (pid: number, comm: string, ppid: number, utime: number, stime = 0) =>
  `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 100 1000 100`;

const snap = (machine: string, lines: string[]): ProcSnapshot => parseProcSnapshot([machine, ...lines].join('\n'));

test('stat lines: names with spaces and parentheses, user + system ticks', () => {
  assert.deepEqual(parseStatLine(stat(42, 'qemu-system-x86', 1, 250, 50)), {
    pid: 42,
    ppid: 1,
    comm: 'qemu-system-x86',
    cpuS: 3,
  });
  assert.deepEqual(parseStatLine(stat(7, 'a b) c', 3, 10)), { pid: 7, ppid: 3, comm: 'a b) c', cpuS: 0.1 });
  assert.equal(parseStatLine('garbage'), undefined);
});

test('the snapshot command reads this machine: its own process and its boot id', () => {
  const out = execFileSync('sh', ['-c', procSnapshotCommand([process.pid], [])], { encoding: 'utf8' });
  const s = parseProcSnapshot(out);
  assert.match(s.machine, /^[0-9a-f-]{36}$/);
  assert.equal(s.procs.get(process.pid)?.comm, 'node');
  assert.ok(localSnapshot().procs.has(process.pid));
  assert.ok(processTree(localSnapshot(), process.pid).includes(process.pid));
});

test('CPU between snapshots: differences only; a process that started in between or a reused pid is left out', () => {
  const a = snap('m', [stat(10, 'x', 1, 100), stat(11, 'y', 1, 50)]);
  const b = snap('m', [stat(10, 'x', 1, 300), stat(11, 'other', 1, 20), stat(12, 'z', 1, 70)]);
  assert.equal(cpuBetween(a, b, [10]), 2);
  assert.equal(cpuBetween(a, b, [11]), 0, 'pid 11 is another process now');
  assert.equal(cpuBetween(a, b, [12]), 0, 'started in between');
  assert.equal(cpuBetween(a, b, [10, 10, 99]), 2, 'duplicates and absent pids');
});

test('components: watched roles, the NFS server, and the harness counted once per machine', () => {
  const hostBefore = snap('box', [
    stat(1, 'sshd', 0, 0),
    stat(20, 'sshd', 1, 100),
    stat(30, 'ganesha.nfsd', 1, 500),
    stat(40, 'qemu-storage-da', 1, 100),
    stat(50, 'node', 20, 10),
  ]);
  const hostAfter = snap('box', [
    stat(1, 'sshd', 0, 0),
    stat(20, 'sshd', 1, 130),
    stat(30, 'ganesha.nfsd', 1, 580),
    stat(40, 'qemu-storage-da', 1, 160),
    stat(50, 'node', 20, 15),
  ]);
  const ctlBefore = snap('box', [stat(900, 'node', 1, 1000), stat(901, 'ping', 900, 10)]);
  const ctlAfter = snap('box', [stat(900, 'node', 1, 1040), stat(901, 'ping', 900, 12)]);
  const before: CpuSnapshots = { hosts: { src: hostBefore, dst: hostBefore, nas: hostBefore }, controller: ctlBefore };
  const after: CpuSnapshots = { hosts: { src: hostAfter, dst: hostAfter, nas: hostAfter }, controller: ctlAfter };
  assert.deepEqual(sshdSessions(hostAfter), [20]);
  const c = cpuComponents(before, after, {
    watched: [{ host: 'dst', role: 'dst_nas_view', pid: 40 }],
    samplers: { src: 50, dst: 50 },
    controllerPid: 900,
    windowMs: 2000,
  });
  assert.equal(c.roles.dst_nas_view_cpu_s, 0.6);
  assert.equal(c.nfs_server_cpu_s, 0.8);
  // runner 0.4 + ping 0.02 + sshd session 0.3 + sampler 0.05, each once although three hosts share the machine
  assert.equal(c.harness_cpu_s, 0.77);
  assert.deepEqual([c.harness_runner_cpu_s, c.harness_sampler_cpu_s, c.harness_sshd_cpu_s], [0.42, 0.05, 0.3]);
  assert.equal(c.harness_core_pct, 38.5);
});

test('components: a runner that brought the testbed up is not charged for its daemons or the watched processes', () => {
  // the runner (900) started the hosts' sshd (10), the NFS server (30) with rpcbind (31) and a watched
  // QEMU (60); the sshd session (20) serves the sampler (50); only ping (901) is the runner's own child
  const lines = (t: number) => [
    stat(900, 'node', 1, 1000 + 40 * t),
    stat(901, 'ping', 900, 10 + 2 * t),
    stat(10, 'sshd', 900, 0),
    stat(20, 'sshd', 10, 100 + 30 * t),
    stat(50, 'node', 20, 10 + 5 * t),
    stat(30, 'ganesha.nfsd', 900, 500 + 80 * t),
    stat(31, 'rpcbind', 30, 1 + t),
    stat(60, 'qemu-system-x86', 900, 100 + 200 * t),
  ];
  const b = snap('box', lines(0));
  const a = snap('box', lines(1));
  assert.deepEqual(processTree(a, 900).sort(), [10, 20, 30, 31, 50, 60, 900, 901], 'without pruning: everything');
  const c = cpuComponents(
    { hosts: { src: b, dst: b, nas: b }, controller: b },
    { hosts: { src: a, dst: a, nas: a }, controller: a },
    {
      watched: [{ host: 'src', role: 'src_qemu', pid: 60 }],
      samplers: { src: 50 },
      controllerPid: 900,
      windowMs: 1000,
    },
  );
  assert.equal(c.roles.src_qemu_cpu_s, 2);
  assert.equal(c.nfs_server_cpu_s, 0.8);
  assert.deepEqual([c.harness_runner_cpu_s, c.harness_sampler_cpu_s, c.harness_sshd_cpu_s], [0.42, 0.05, 0.3]);
  assert.equal(c.harness_cpu_s, 0.77);
});

test('components: a host whose snapshot could not be read costs its components, not zeros', () => {
  const lines = (t: number) => [
    stat(20, 'sshd', 1, 100 + 30 * t),
    stat(30, 'ganesha.nfsd', 1, 500 + 80 * t),
    stat(60, 'qemu-system-x86', 1, 100 + 200 * t),
  ];
  const b = snap('box', lines(0));
  const a = snap('box', lines(1));
  const lost: ProcSnapshot = { machine: '', procs: new Map(), unread: 'nas (close): timed out after 10000 ms' };
  const c = cpuComponents(
    { hosts: { src: b, dst: b, nas: b }, controller: b },
    { hosts: { src: a, dst: a, nas: lost }, controller: a },
    {
      watched: [
        { host: 'src', role: 'src_qemu', pid: 60 },
        { host: 'nas', role: 'nas_thing', pid: 30 },
      ],
      samplers: {},
      controllerPid: 900,
      windowMs: 1000,
    },
  );
  assert.equal(c.roles.src_qemu_cpu_s, 2, 'a host that was read keeps its components');
  assert.equal(c.roles.nas_thing_cpu_s, undefined, 'a watched process on the unread host is left out');
  assert.equal(c.nfs_server_cpu_s, undefined, 'the NFS server is on the unread host');
  assert.equal(c.harness_cpu_s, undefined, "the harness's sshd there could not be counted: no low figure");
  assert.equal(c.unread, 'nas (close): timed out after 10000 ms');
});

test('snapshotCpu: a host that does not answer gives an unread snapshot; the others are read', async () => {
  const answering = { exec: async () => ({ code: 0, stdout: `box\n${stat(7, 'sshd', 1, 10)}`, stderr: '' }) };
  const silent = {
    exec: async () => {
      throw new Error('nas: "cat /proc/sys/kernel/random/boot_id" timed out after 10000 ms');
    },
  };
  const hosts = { src: answering, dst: answering, nas: silent } as unknown as Record<'src' | 'dst' | 'nas', SshHost>;
  const s = await snapshotCpu(hosts, { src: [7], dst: [], nas: [] }, 'close');
  assert.equal(s.hosts.src.procs.get(7)?.cpuS, 0.1);
  assert.equal(s.hosts.src.unread, undefined);
  assert.equal(s.hosts.nas.procs.size, 0);
  assert.equal(s.hosts.nas.unread, 'nas (close): nas: "cat /proc/sys/kernel/random/boot_id" timed out after 10000 ms');
});

test('pof path cost: both agents and the NAS views per GB of QEMU stream', () => {
  assert.equal(
    pofPathCost({
      source_agent_cpu_s: 1,
      target_agent_cpu_s: 1.5,
      dst_nas_view_cpu_s: 0.5,
      pof_qemu_stream_bytes: 1.5e9,
    }),
    2,
  );
  assert.equal(pofPathCost({ source_agent_cpu_s: 1, pof_qemu_stream_bytes: 1e9 }), undefined);
});

test('switchover breakdown: each step in ms after the guest stopped on the source', () => {
  const src = [
    { event: 'MIGRATION', status: 'active', t: 900 },
    { event: 'STOP', t: 1000 },
    { event: 'MIGRATION', status: 'completed', t: 1120 },
  ];
  const dst = [
    { event: 'MIGRATION', status: 'completed', t: 1300 },
    { event: 'RESUME', t: 1350 },
  ];
  const replies = [500, 990, 1420, 1430];
  assert.deepEqual(switchoverBreakdown({ src, dst, agentOutAt: 1200, qemuInAt: 1290, replies }), {
    switchover_src_sent_ms: 120,
    switchover_agent_out_ms: 200,
    switchover_dst_loaded_ms: 290,
    switchover_dst_running_ms: 350,
    switchover_first_reply_ms: 420,
    app_switchover_gap_ms: 430,
  });
  // stock: no agents; the destination's own completed event says when it had the last byte
  assert.deepEqual(switchoverBreakdown({ src, dst, replies }), {
    switchover_src_sent_ms: 120,
    switchover_dst_loaded_ms: 300,
    switchover_dst_running_ms: 350,
    switchover_first_reply_ms: 420,
    app_switchover_gap_ms: 430,
  });
  assert.deepEqual(switchoverBreakdown({ src: [], dst, replies }), {}, 'no STOP event: nothing to say');
  // the live phase: from migrate (550) to the last reply before the stop; its largest gap is 600 -> 850
  const live = switchoverBreakdown({ src, dst, replies: [500, 600, 850, 990, 1420], startedAt: 550 });
  assert.equal(live.app_live_gap_ms, 250);
  assert.equal(live.app_switchover_gap_ms, 430);
});

test('bench codec: the agent pair against the relay as ratios of time and CPU per GB', () => {
  const row = (mbps: number, coreSPerGb?: number) => ({
    name: 'x',
    bytes: 1e9,
    mbps,
    min: mbps,
    max: mbps,
    note: '',
    coreSPerGb,
  });
  assert.deepEqual(pairVsRelay(row(250, 5), row(1000, 0.5)), {
    timeRatio: 4,
    cpuRatio: 10,
    agentsCoreSPerGb: 5,
    relayCoreSPerGb: 0.5,
  });
  assert.equal(pairVsRelay(row(250), row(1000, 0.5)), undefined, 'no CPU figure, no ratio');
});

test("bench codec: the data path's floor: relay + SHA-256 of the referenced share + CRC-32, both ends", () => {
  const row = (mbps: number) => ({ name: 'x', bytes: 1e9, mbps, min: mbps, max: mbps, note: '' });
  const relay = { ...row(500), coreSPerGb: 1.2 };
  // SHA-256 at 1000 MB/s: 1 core-s per GB hashed, 0.5 of the stream referenced, both ends: 1; CRC-32 at 4000 MB/s: 0.5
  assert.deepEqual(dataPathFloor(relay, row(1000), row(4000), 0.5), {
    relayCoreSPerGb: 1.2,
    sha256CoreSPerGb: 1,
    crc32CoreSPerGb: 0.5,
    totalCoreSPerGb: 2.7,
    referencedFraction: 0.5,
  });
  assert.equal(dataPathFloor(row(500), row(1000), row(4000), 0.5), undefined, 'no relay CPU figure, no floor');
  assert.equal(dataPathFloor(relay, row(0), row(4000), 0.5), undefined, 'no hash rate, no floor');
});
