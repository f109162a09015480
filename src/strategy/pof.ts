import { posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  refusalError,
  type MigrationStrategy,
  type StrategyContext,
  type MigrationPath,
  type SrcVmExtras,
  type Refusal,
} from './types.js';
import type { Scenario, StrategyName } from '../scenario/types.js';
import { sh, type SshHost } from '../hosts/ssh.js';
import { killOwnCommand } from '../hosts/killOwn.js';
import { nasImageSpec } from '../testbed/nasView.js';
import {
  agentRecordFields,
  sourceAgentArgv,
  targetAgentArgv,
  type IndexMode,
  type IndexStatus,
  type SourceStats,
  type TargetStats,
} from '../agent/protocol.js';
import { sleep } from '../util/exec.js';
import { pofStreamRows } from '../agent/streamTimeline.js';

export const POF_AGENT_PORT = 4445;

/** The strategy name of each index mode (`pof-scan` runs the source agent with `--index scan`). */
export const POF_STRATEGY = { trace: 'pof', scan: 'pof-scan' } as const satisfies Record<IndexMode, StrategyName>;
/** Longest wait for the source agent's index to catch up before migrating anyway. */
const INDEX_WAIT_MAX_MS = 120_000;

/** Capabilities that change the RAM stream format. */
const REFUSED_CAPABILITIES = ['xbzrle'];

interface AgentProc {
  host: SshHost;
  pid: number;
  statsPath: string;
  logPath: string;
  role: 'source' | 'target';
}

/**
 * The source agent's stream window (MiB): 64 ms of the link's rate, at least 8 MiB (8 MiB up to
 * 1 Gbit/s, 77 MiB at 10 Gbit/s), 8 MiB when the rate is unknown. Measured here: on the quick
 * scenario (1 Gbit/s, CPU-bound pipeline) 16 and 32 MiB moved no faster than 8 and left 30-110 ms of
 * backlog at switchover where 8 MiB left 1-3 ms; at 300 Mbit/s a 4 MiB window cost ~7 % of the
 * migration time (12.0-12.8 s against 11.2-12.3 s with 16 MiB).
 */
export function streamWindowMib(linkMbit: number | undefined): number {
  if (!linkMbit) return 8;
  return Math.max(8, Math.ceil((((linkMbit * 1e6) / 8) * 0.064) / (1 << 20)));
}

/**
 * The rate QEMU is told for its switchover decision (avail-switchover-bandwidth, bytes/s): the
 * link's, less the share of the downtime limit the stream window's backlog takes. When the guest
 * stops, up to one window is still between the source agent and the destination QEMU; it drains
 * in the downtime before the rest QEMU sends, which QEMU does not know of. Told the link's own
 * rate, QEMU stopped the guest with as much left as the limit allows and the window came on top
 * (1 GiB page-cache guest, 1 Gbit/s, limit 300 ms: ~45 MiB sent after the stop against stock's
 * ~32). At least half the link's rate, so that a window long against the limit (8 MiB at 300
 * Mbit/s is 224 ms) does not keep the migration from converging.
 */
export function switchoverBandwidth(linkMbit: number, downtimeLimitMs: number): number {
  const linkBytesPerS = (linkMbit * 1e6) / 8;
  const backlogMs = ((streamWindowMib(linkMbit) * (1 << 20)) / linkBytesPerS) * 1000;
  return Math.round(linkBytesPerS * Math.max(0.5, 1 - backlogMs / downtimeLimitMs));
}

/**
 * The agents' nice value (`migration.pof_agent_nice`; default 0, the priority QEMU and the guest's
 * vCPUs run at, as stock's migration thread does). Higher values make the agents yield to the guest:
 * a trade-off, measured on the 2-core testbed. At 19, 1 GiB page-cache guest: 6 alternating pairs
 * gave a median time of 7.8 s against 8.2 s, source vCPU run-queue wait 1.28 against 1.62 s and
 * largest live-phase probe gap 154 against 338 ms; in the checks, app downtime 0.88x stock against
 * 1.21x but time unchanged (1.46x against 1.45x; at 300 Mbit/s 11.4 against 12.1 s). On the quick
 * scenario (256 MiB guest re-reading its page cache every second) the busy vCPU then starves the
 * agents: time 3280 ms (2473-3644) against 2878 ms.
 */
export const DEFAULT_AGENT_NICE = 0;

/**
 * POF-SVLM: the source QEMU migrates into a source agent (unix socket) that replaces pages found
 * on the NAS by references; the target agent restores them from its own NAS view and feeds the
 * destination QEMU. The source QEMU logs its block I/O (trace events) so the source agent keeps
 * its index current while the guest runs.
 */
export class PofStrategy implements MigrationStrategy {
  readonly name: (typeof POF_STRATEGY)[IndexMode];
  /**
   * The agents of the one run this instance serves (`owner`): an instance is per run (the runner makes
   * one for each), so one run's cleanup never reaches another run's agents, e.g. on another host pair.
   */
  private agents: AgentProc[] = [];
  private owner?: string;

  constructor(private readonly index: IndexMode = 'trace') {
    this.name = POF_STRATEGY[index];
  }

  private lastTimes: { agentOutAt?: number; qemuInAt?: number } = {};
  private lastSeries: Record<string, object[]> = {};

  series(): Record<string, object[]> {
    return this.lastSeries;
  }

  switchoverTimes(): { agentOutAt?: number; qemuInAt?: number } {
    return this.lastTimes;
  }

  /**
   * QEMU's switchover decision through the agents: QEMU measures the rate at which the source agent
   * takes its stream and stops the guest once the rest fits into the downtime limit at that rate.
   * Two things keep that honest. The stream window (`streamWindowMib`): the source agent reads QEMU
   * only while less than one window is undelivered to the destination QEMU, so QEMU measures the
   * pipeline's delivery rate and at most one window is still in the agents, the link and the NAS
   * reads when the guest stops (without it the target buffered up to 32 MiB of references whose NAS
   * reads then ran in the downtime: +150-430 ms on the quick scenario). And the switchover rate:
   * references make the delivery rate far higher than the link's, while the final pass is mostly
   * recently dirtied pages that go in full, so QEMU is told the link's rate less the window's
   * backlog (`switchoverBandwidth`; the link: its cap, or the migration NIC's speed). A scenario's
   * own `avail_switchover_bandwidth_mbit` wins.
   */
  async migrationParameters(ctx: StrategyContext): Promise<Record<string, number>> {
    if (ctx.scenario.migration.avail_switchover_bandwidth_mbit) return {};
    const mbit = await this.linkMbit(ctx);
    if (!mbit) return {};
    return { 'avail-switchover-bandwidth': switchoverBandwidth(mbit, ctx.scenario.migration.downtime_limit_ms) };
  }

  /** The migration link's rate (Mbit/s): the scenario's cap, else the source NIC's speed, if known. */
  private async linkMbit(ctx: StrategyContext): Promise<number | undefined> {
    return ctx.scenario.migration.link_cap_mbit || (await this.nicSpeedMbit(ctx));
  }

  /** The source's migration NIC speed (Mbit/s) when the kernel knows it (not for veth). */
  private async nicSpeedMbit(ctx: StrategyContext): Promise<number | undefined> {
    const nic = ctx.testbed.hosts.src.nics.migration;
    if (!nic) return undefined;
    const r = await ctx.src.exec(`cat ${sh([`/sys/class/net/${nic}/speed`])} 2>/dev/null`, { allowFail: true });
    const speed = Number(r.stdout.trim());
    return Number.isInteger(speed) && speed > 0 ? speed : undefined;
  }

  /** The agents started for the current run (fault injection, leftovers checks). */
  agentProcesses(): { role: 'source' | 'target'; host: SshHost; pid: number }[] {
    return this.agents.map((a) => ({ role: a.role, host: a.host, pid: a.pid }));
  }

  refusal(scenario: Scenario): Refusal | undefined {
    const m = scenario.migration;
    const refuse = (field: string, reason: string, fix: string): Refusal => ({
      strategy: 'pof',
      field: `migration.${field}`,
      reason,
      fix,
    });
    for (const cap of REFUSED_CAPABILITIES) {
      if (m.capabilities[cap])
        return refuse(
          `capabilities.${cap}`,
          'it changes the RAM stream format',
          `turn ${cap} off or run --strategies stock`,
        );
    }
    if (m.multifd_channels > 0) {
      return refuse(
        'multifd_channels',
        'multifd moves RAM pages off the main stream the agents rewrite',
        'set multifd_channels: 0 or run --strategies stock',
      );
    }
    if (m.postcopy_after_passes) {
      return refuse(
        'postcopy_after_passes',
        'post-copy pages are requested by the destination over the return path',
        'drop postcopy_after_passes or run --strategies stock',
      );
    }
    return undefined;
  }

  validate(scenario: Scenario): void {
    const r = this.refusal(scenario);
    if (r) throw refusalError(scenario, r);
  }

  srcVmExtras(ctx: StrategyContext): SrcVmExtras {
    return { traceLog: posix.join(ctx.hostRunDir, 'blk-trace.log') };
  }

  async prepare(ctx: StrategyContext): Promise<MigrationPath> {
    if (this.owner !== undefined && this.owner !== ctx.runId)
      throw new Error(
        `pof strategy: this instance still holds run ${this.owner}'s agents; run ${ctx.runId} needs an instance of ` +
          'its own (createStrategy per run)',
      );
    this.owner = ctx.runId;
    const dstAddr = ctx.testbed.hosts.dst.migrationAddress;
    if (!dstAddr) throw new Error(`testbed: host ${ctx.testbed.hosts.dst.name} has no migration address`);
    const dir = posix.join(ctx.hostRunDir, 'pof');
    const secret = randomBytes(32).toString('hex');
    const secretPath = posix.join(dir, 'secret');
    for (const h of [ctx.src, ctx.dst]) {
      await h.exec(`mkdir -p ${sh([dir])} && umask 077 && cat > ${sh([secretPath])}`, { input: secret });
    }
    const rel = posix.join('runs', ctx.runId, 'data.raw');
    const srcImage = await nasImageSpec(ctx.src, ctx.testbed, rel);
    const dstImage = await nasImageSpec(ctx.dst, ctx.testbed, rel);

    const label = ctx.runId;
    const incomingSock = posix.join(dir, 'dst-qemu.sock');
    const srcSock = this.srcSockPath(ctx);
    const targetAgent = { kind: 'tcp', host: dstAddr, port: POF_AGENT_PORT } as const;
    await this.startAgent(ctx, ctx.dst, 'target', dir, (statsJson) =>
      targetAgentArgv({
        listen: targetAgent,
        qemu: { kind: 'unix', path: incomingSock },
        nasImage: dstImage,
        secretFile: secretPath,
        label,
        statsJson,
      }),
    );
    const streamWindowBytes = streamWindowMib(await this.linkMbit(ctx)) * (1 << 20);
    await this.startAgent(ctx, ctx.src, 'source', dir, (statsJson) =>
      sourceAgentArgv({
        listen: { kind: 'unix', path: srcSock },
        target: targetAgent,
        nasImage: srcImage,
        secretFile: secretPath,
        label,
        index: this.index === 'scan' ? { mode: 'scan' } : { mode: 'trace', traceLog: this.srcVmExtras(ctx).traceLog! },
        statusFile: this.statusPath(ctx),
        streamWindowBytes,
        statsJson,
      }),
    );
    return { incomingUri: `unix:${incomingSock}`, migrateUri: `unix:${srcSock}` };
  }

  private srcSockPath(ctx: StrategyContext): string {
    return posix.join(ctx.hostRunDir, 'pof', 'src-agent.sock');
  }

  private statusPath(ctx: StrategyContext): string {
    return posix.join(ctx.hostRunDir, 'pof', 'index-status.json');
  }

  /**
   * The source agent indexes what the guest reads while it runs; a guest that has just read its
   * data set (the warm-up) may be ahead of it. Waits until the index has caught up with the trace
   * log, as it has on a VM that has been running for a while, and records how long that took.
   */
  async beforeMigrate(ctx: StrategyContext, log: (line: string) => void): Promise<Record<string, number>> {
    const t0 = Date.now();
    let status: IndexStatus | undefined;
    let lastLog = 0;
    while (Date.now() - t0 < INDEX_WAIT_MAX_MS) {
      const r = await ctx.src.exec(`cat ${sh([this.statusPath(ctx)])} 2>/dev/null`, { allowFail: true });
      if (r.code === 0 && r.stdout.trim()) status = JSON.parse(r.stdout) as IndexStatus;
      if (status?.caught_up) break;
      if (Date.now() - lastLog > 2000) {
        lastLog = Date.now();
        log(
          this.index === 'scan'
            ? 'waiting for the source agent to hash the whole disk image (--index scan)'
            : `waiting for the source agent's index to catch up with the guest's reads (${status?.index_blocks ?? 0} ` +
                `blocks so far)`,
        );
      }
      await sleep(200);
    }
    if (!status?.caught_up && this.index === 'scan')
      throw new Error(
        `source agent on ${ctx.src.name}: still hashing the disk image after ${INDEX_WAIT_MAX_MS / 1000} s ` +
          `(--index scan)`,
      );
    // the agent listens for QEMU once its index is ready; make sure before QEMU is told to connect
    await ctx.src.exec(`for i in $(seq 50); do test -S ${sh([this.srcSockPath(ctx)])} && break; sleep 0.1; done`, {
      allowFail: true,
    });
    const waited = Date.now() - t0;
    if (!status?.caught_up)
      log(
        `the source agent's index did not catch up within ${INDEX_WAIT_MAX_MS / 1000} s; migrating anyway (fewer ` +
          `pages may go by reference)`,
      );
    return { index_wait_ms: waited, index_caught_up: status?.caught_up ? 1 : 0 };
  }

  private async startAgent(
    ctx: StrategyContext,
    host: SshHost,
    role: 'source' | 'target',
    dir: string,
    argv: (statsJson: string) => string[],
  ): Promise<void> {
    const statsPath = posix.join(dir, `${role}-stats.json`);
    const logPath = posix.join(dir, `${role}.log`);
    // debugging: POFBENCH_AGENT_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") go to the agents' node
    const [node, ...cli] = ctx.testbed.hostPofbench;
    const nodeArgs = process.env.POFBENCH_AGENT_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const cmd = sh([
      'nice',
      '-n',
      String(ctx.scenario.migration.pof_agent_nice ?? DEFAULT_AGENT_NICE),
      node,
      ...nodeArgs,
      ...cli,
      'agent',
      role,
      ...argv(statsPath),
    ]);
    // more libuv threads: the target keeps many NAS block reads in flight (--concurrency)
    // debugging pass-through: POFBENCH_AGENT_TEE=DIR (copies of the streams in and out)
    const env = ['UV_THREADPOOL_SIZE=32'];
    if (process.env.POFBENCH_AGENT_TEE) env.push(`POFBENCH_AGENT_TEE=${process.env.POFBENCH_AGENT_TEE}`);
    // an agent that cannot start (bad flag, port in use) exits at once: looked for 300 ms later, in the
    // same command (a second exec under load could fail on its own and read as a dead agent)
    const r = await host.exec(
      `setsid env ${sh(env)} ${cmd} > ${sh([logPath])} 2>&1 < /dev/null & pid=$!; sleep 0.3; ` +
        `if kill -0 $pid 2>/dev/null; then echo "$pid alive"; else echo "$pid exited"; fi`,
    );
    const started = /^(\d+) (alive|exited)$/m.exec(r.stdout);
    if (!started)
      throw new Error(`${role} agent on ${host.name}: its start printed no pid (${JSON.stringify(r.stdout)})`);
    const pid = Number(started[1]);
    this.agents.push({ host, pid, statsPath, logPath, role });
    if (started[2] === 'exited')
      throw new Error(`${role} agent on ${host.name} exited at start: ${(await this.logTail(host, logPath)).trim()}`);
  }

  private async logTail(host: SshHost, path: string): Promise<string> {
    return (await host.exec(`tail -n 5 ${sh([path])}`, { allowFail: true })).stdout
      .split('\n')
      .filter(Boolean)
      .join(' | ');
  }

  /** Waits for both agents to exit and reads their stats; fields follow the run.json naming. */
  async collect(): Promise<Record<string, number>> {
    this.lastSeries = {};
    const stats: { source?: Partial<SourceStats>; target?: Partial<TargetStats> } = {};
    for (const a of this.agents) {
      const r = await a.host.exec(
        `for i in $(seq 100); do kill -0 ${a.pid} 2>/dev/null || break; sleep 0.1; done; cat ${sh([a.statsPath])}`,
        { allowFail: true, timeoutMs: 20000 },
      );
      if (r.code !== 0)
        throw new Error(`${a.role} agent on ${a.host.name} left no stats: ${await this.logTail(a.host, a.logPath)}`);
      stats[a.role] = JSON.parse(r.stdout);
    }
    const s = stats.source ?? {};
    const t = stats.target ?? {};
    this.lastTimes = { agentOutAt: s.last_byte_out_at, qemuInAt: t.last_byte_to_qemu_at };
    this.lastSeries = { 'pof-stream': pofStreamRows(s) };
    // every run checks the agents end to end: what the destination QEMU got is what the source QEMU sent
    if (s.stream_identical === false) {
      throw new Error(
        `the target agent handed the destination QEMU a different stream than the source QEMU sent (${t.bytes_out} ` +
          `vs ${s.bytes_in} bytes, CRC-32 differs)`,
      );
    }
    return agentRecordFields(s, t);
  }

  /** Why the migration failed, from the agents' point of view (their last log lines). */
  async failureDetail(): Promise<string> {
    const parts: string[] = [];
    for (const a of this.agents) {
      const tail = await this.logTail(a.host, a.logPath).catch(() => '');
      if (tail) parts.push(`${a.role} agent: ${tail}`);
    }
    return parts.join('; ');
  }

  async cleanup(ctx?: StrategyContext): Promise<void> {
    if (ctx && this.owner !== undefined && ctx.runId !== this.owner) return; // not this run's agents
    for (const a of this.agents) {
      await a.host.exec(killOwnCommand(a.pid, a.statsPath), { allowFail: true }).catch(() => undefined);
    }
    this.agents = [];
    this.owner = undefined;
  }
}
