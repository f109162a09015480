import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { createStrategy } from '../src/strategy/index.js';
import type { MigrationStrategy, StrategyContext } from '../src/strategy/types.js';
import type { PofStrategy } from '../src/strategy/pof.js';
import type { SshHost } from '../src/hosts/ssh.js';
import type { TestbedSpec } from '../src/testbed/spec.js';
import { parseScenario } from '../src/scenario/load.js';
import {
  MAX_PAIRS,
  guestCidr,
  guestMac,
  hostAddress,
  hostNets,
  localHosts,
  nsName,
  pairHost,
  parsePairHost,
  switchPort,
} from '../src/testbed/local/topology.js';
import { pairsInNamespaces } from '../src/testbed/local/status.js';
import { localInventoryYaml } from '../src/testbed/local/inventory.js';
import { inventoryTestbeds } from '../src/testbed/inventory.js';

/** A host that records every command and answers agent starts with PIDs from `firstPid` on. */
function fakeHost(name: string, firstPid: number) {
  const commands: string[] = [];
  let nextPid = firstPid;
  const exec = async (cmd: string) => {
    commands.push(cmd);
    // an agent start prints its pid and whether it still runs 300 ms later
    return { code: 0, stdout: cmd.includes('& pid=$!;') ? `${nextPid++} alive\n` : '', stderr: '' };
  };
  return { host: { name, exec } as unknown as SshHost, commands };
}

/** One pair's run context: its own src/dst hosts, the shared NAS. */
function pairRun(pair: number, runId: string) {
  const src = fakeHost(`src${pair}`, pair * 1000);
  const dst = fakeHost(`dst${pair}`, pair * 1000 + 500);
  const testbed = {
    kind: 'local',
    pair: `local${pair}`,
    hosts: {
      src: { name: `src${pair}`, nics: {} },
      dst: { name: `dst${pair}`, migrationAddress: `198.18.1.${pair * 10 + 2}`, nics: {} },
    },
    nas: { server: '198.18.2.20', exportPath: '/export', localPath: '/srv' },
    hostPofbench: ['node', 'main.js'],
  } as unknown as TestbedSpec;
  const scenario = parseScenario('name: pp\nmigration: { link_cap_mbit: 1000 }\n', 'pp.yaml');
  const ctx: StrategyContext = { scenario, testbed, src: src.host, dst: dst.host, runId, hostRunDir: `/run/${runId}` };
  return { ctx, src, dst, commands: () => [...src.commands, ...dst.commands] };
}

/** The clean-up commands (killOwnCommand: SIGTERM while the PID still runs the agent's command). */
const killsOf = (commands: string[]) => commands.filter((c) => /own && kill \d+/.test(c));
const killedPids = (commands: string[]) =>
  killsOf(commands)
    .map((c) => Number(/own && kill (\d+)/.exec(c)![1]))
    .sort();
const pids = (s: MigrationStrategy) => (s as PofStrategy).agentProcesses().map((a) => a.pid);

test('per-run strategy state: one run cleaning up on pair 1 leaves pair 2 run agents alone', async () => {
  const a = pairRun(1, 'run-a');
  const b = pairRun(2, 'run-b');
  // as the session does it: one strategy instance per run, runs overlapping on two pairs
  const sa = createStrategy('pof');
  const sb = createStrategy('pof');
  assert.notEqual(sa, sb);
  await sa.prepare(a.ctx);
  await sb.prepare(b.ctx);
  assert.deepEqual(pids(sa), [1500, 1000], 'run a: target then source agent on pair 1');
  assert.deepEqual(pids(sb), [2500, 2000], 'run b: target then source agent on pair 2');
  const bBefore = b.commands().length;
  await sa.cleanup(a.ctx);
  assert.equal(b.commands().length, bBefore, 'run a cleanup sent nothing to pair 2 hosts');
  assert.deepEqual(killedPids(a.commands()), [1000, 1500], 'run a cleanup killed its own two agents');
  assert.deepEqual(pids(sb), [2500, 2000], 'run b still knows its agents');
  await sb.cleanup(b.ctx);
  assert.deepEqual(killedPids(b.commands()), [2000, 2500], 'run b cleanup killed its own agents, once');
  assert.equal(killsOf(a.commands()).length, 2, 'and nothing more on pair 1');
});

test('a shared pof instance refuses a second run and its cleanup leaves the first run agents', async () => {
  const a = pairRun(1, 'run-a');
  const b = pairRun(2, 'run-b');
  const shared = createStrategy('pof');
  await shared.prepare(a.ctx);
  await assert.rejects(shared.prepare(b.ctx), /holds run run-a's agents; run run-b needs an instance of its own/);
  assert.deepEqual(b.commands(), [], 'nothing started on pair 2');
  await shared.cleanup(b.ctx);
  assert.deepEqual(killsOf(a.commands()), [], "run b's cleanup did not touch run a's agents");
  assert.deepEqual(pids(shared), [1500, 1000]);
  await shared.cleanup(a.ctx);
  assert.equal(killsOf(a.commands()).length, 2);
  await shared.prepare(b.ctx);
  assert.deepEqual(pids(shared), [2500, 2000], 'once cleaned up, the instance serves the next run');
  await shared.cleanup(b.ctx);
});

test('local topology: pair 1 keeps its names and addresses, further pairs get their own', () => {
  assert.equal(nsName(pairHost('src', 1)), 'pofb-src');
  assert.equal(nsName(pairHost('dst', 1)), 'pofb-dst');
  assert.equal(hostAddress('src', 'mgmt'), '198.18.0.11');
  assert.equal(hostAddress('dst', 'mig'), '198.18.1.12');
  assert.equal(hostAddress('nas', 'sto'), '198.18.2.20');
  assert.equal(guestCidr(1), '198.18.3.100/24');
  assert.equal(guestMac(1), '52:54:00:50:4f:46');
  assert.equal(nsName(pairHost('src', 2)), 'pofb-src2');
  assert.equal(hostAddress(pairHost('dst', 2), 'mig'), '198.18.1.22');
  assert.equal(guestCidr(2), '198.18.3.101/24');
  assert.equal(guestMac(2), '52:54:00:50:4f:47');
  assert.deepEqual(localHosts(2), ['ctl', 'nas', 'src', 'dst', 'src2', 'dst2']);
  // every address of the largest testbed is unique and in 198.18.0.0/15, every switch port a valid NIC name
  const hosts = localHosts(MAX_PAIRS);
  const addrs = hosts.flatMap((h) => hostNets(h).map((n) => hostAddress(h, n)));
  const guests = Array.from({ length: MAX_PAIRS }, (_, k) => guestCidr(k + 1).split('/')[0]);
  assert.equal(new Set([...addrs, ...guests]).size, addrs.length + guests.length);
  for (const a of [...addrs, ...guests]) assert.match(a, /^198\.1[89]\.\d+\.\d+$/);
  assert.ok(Math.max(...guests.map((g) => Number(g.split('.')[3]))) <= 254);
  for (const h of hosts) for (const n of hostNets(h)) assert.ok(switchPort(h, n).length <= 15, switchPort(h, n));
  assert.equal(new Set(Array.from({ length: MAX_PAIRS }, (_, k) => guestMac(k + 1))).size, MAX_PAIRS);
  for (const h of hosts.slice(2)) assert.equal(pairHost(parsePairHost(h)!.role, parsePairHost(h)!.pair), h);
  assert.equal(parsePairHost('nas'), undefined);
  assert.equal(parsePairHost('src1'), undefined, 'pair 1 is plain src');
  assert.throws(() => pairHost('src', MAX_PAIRS + 1), /pairs 1\.\.8/);
  assert.equal(pairsInNamespaces(['pofb-net', 'pofb-src', 'pofb-dst']), 1);
  assert.equal(pairsInNamespaces(['pofb-net', 'pofb-src', 'pofb-dst', 'pofb-dst3']), 3, 'a half pair 3 counts');
  assert.equal(pairsInNamespaces([]), 1);
});

test('testbed inventory --pairs 2: two pairs sharing the NAS, each with its own guest', () => {
  const tbs = inventoryTestbeds(parse(localInventoryYaml(2)), { baseDir: '/', hostKeys: () => ['ssh-ed25519 X'] });
  assert.deepEqual(
    tbs.map((t) => [t.pair, t.hosts.src.name, t.hosts.dst.name, t.hosts.dst.migrationAddress, t.vm.guestCidr]),
    [
      ['local', 'pofb-src', 'pofb-dst', '198.18.1.12', '198.18.3.100/24'],
      ['local2', 'pofb-src2', 'pofb-dst2', '198.18.1.22', '198.18.3.101/24'],
    ],
  );
  assert.deepEqual(
    tbs.map((t) => t.vm.mac),
    ['52:54:00:50:4f:46', '52:54:00:50:4f:47'],
  );
  assert.equal(tbs[0].hosts.nas.name, tbs[1].hosts.nas.name, 'one NAS');
  assert.equal(tbs[0].nas.server, tbs[1].nas.server);
});
