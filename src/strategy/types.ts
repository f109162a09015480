import type { Scenario, StrategyName } from '../scenario/types.js';
import type { TestbedSpec } from '../testbed/spec.js';
import type { SshHost } from '../hosts/ssh.js';
import type { WatchedProcess } from '../metrics/cpuAccounting.js';
import { UserError } from '../util/errors.js';

export interface StrategyContext {
  scenario: Scenario;
  testbed: TestbedSpec;
  src: SshHost;
  dst: SshHost;
  runId: string;
  /** Per-run directory on the hosts (sockets, logs). */
  hostRunDir: string;
}

/** Where QEMU sends and receives the stream for one migration. */
export interface MigrationPath {
  /** URI for the destination's `migrate-incoming`. */
  incomingUri: string;
  /** URI for the source's `migrate`. */
  migrateUri: string;
}

/** Extra settings for the source VM a strategy needs (e.g. a block I/O trace log). */
export interface SrcVmExtras {
  traceLog?: string;
}

/**
 * A scenario setting a strategy cannot honour: the refusing strategy, the dotted field (e.g.
 * `migration.capabilities.xbzrle`), why, and what the user can do instead.
 */
export interface Refusal {
  strategy: StrategyName;
  field: string;
  reason: string;
  fix: string;
}

/** `field "…" is not supported by the pof strategy (why)`: the refusal in words, without the scenario. */
export function refusalText(r: Refusal): string {
  return `field "${r.field}" is not supported by the ${r.strategy} strategy (${r.reason})`;
}

/** The UserError a refusal is when nothing else applies (the scenario file named first). */
export function refusalError(scenario: Scenario, r: Refusal): UserError {
  return new UserError(`scenario ${scenario.file}: ${refusalText(r)}`, r.fix);
}

/**
 * How a migration travels: stock QEMU straight to QEMU, or through POF agents. A strategy sets up
 * its path before `migrate`, adds its own fields to the record afterwards, and cleans up always.
 */
export interface MigrationStrategy {
  readonly name: StrategyName;
  /** The first scenario setting it cannot honour, if any (a strategy without it refuses nothing). */
  refusal?(scenario: Scenario): Refusal | undefined;
  /** Refuses scenario settings it cannot honour: throws refusalError() of the first. */
  validate(scenario: Scenario): void;
  srcVmExtras?(ctx: StrategyContext): SrcVmExtras;
  /** Called after the source VM booted and before the workload starts. */
  prepare(ctx: StrategyContext): Promise<MigrationPath>;
  /**
   * Called after the warm-up, right before `migrate`: waits until the strategy is ready to migrate
   * (pof: the I/O-monitoring index has caught up with the trace log). Returns record fields.
   */
  beforeMigrate?(ctx: StrategyContext, log: (line: string) => void): Promise<Record<string, number>>;
  /** Extra words on why a migration failed (e.g. agent logs). */
  failureDetail?(ctx: StrategyContext): Promise<string>;
  collect(ctx: StrategyContext): Promise<Record<string, number | string>>;
  /** Series of the run the strategy's own processes recorded (pof: `pof-stream`), read after collect(). */
  series?(): Record<string, object[]>;
  /** QEMU migration parameters the strategy needs on the source (beyond the scenario's), set before `migrate`. */
  migrationParameters?(ctx: StrategyContext): Promise<Record<string, number>>;
  /** When its own data path finished the switchover (pof: the agents' last bytes), read by collect(). */
  switchoverTimes?(): { agentOutAt?: number; qemuInAt?: number };
  /** The helper processes this run's strategy started (pof: its agents), for fault injection. */
  agentProcesses?(): { role: 'source' | 'target'; host: SshHost; pid: number }[];
  /** Processes it started that run through the migration, each a CPU component of the record (e.g. NAS views). */
  processes?(ctx: StrategyContext): WatchedProcess[];
  cleanup(ctx: StrategyContext): Promise<void>;
}
