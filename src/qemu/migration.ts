/**
 * The one QMP migrate procedure every caller uses (runner, soak, stream capture, fault injection):
 * configure both sides, start the incoming side, start the migration, sample `query-migrate` until
 * it ends, wait for QEMU's final times and for the destination, cancel. Each step is one function;
 * what a caller does with each sample (series, progress, post-copy switch) is its `onSample`.
 */
import type { MigrateInfo, QmpClient } from './qmp.js';
import { FatalError, sleep, waitFor } from '../util/exec.js';

/** What the procedure needs of a QEMU: its QMP connection. */
export type Qmp = Pick<QmpClient, 'execute'>;

/**
 * How often `query-migrate` is sampled while a migration runs (10 Hz: at 20 Hz, with the host samplers
 * at 20 Hz too, the harness took 15-20 % of a core during a quick migration; the switchover times come
 * from QMP events, not from these samples).
 */
export const MIGRATE_SAMPLE_MS = 100;

const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** What `migrate-set-capabilities` / `migrate-set-parameters` get (see qemuMigrationSettings). */
export interface MigrationConfig {
  /** for both sides; none: no `migrate-set-capabilities` at all */
  capabilities: { capability: string; state: boolean }[];
  /** for both sides (set only when there are some) */
  sharedParameters: Record<string, number | string>;
  /** for the source only */
  sourceParameters: Record<string, number | string>;
}

/** Sets capabilities and shared parameters on both sides (dst optional), then the source's parameters. */
export async function configureMigration(src: Qmp, dst: Qmp | undefined, c: MigrationConfig): Promise<void> {
  for (const side of dst ? [src, dst] : [src]) {
    if (c.capabilities.length) await side.execute('migrate-set-capabilities', { capabilities: c.capabilities });
    if (Object.keys(c.sharedParameters).length) await side.execute('migrate-set-parameters', c.sharedParameters);
  }
  await src.execute('migrate-set-parameters', c.sourceParameters);
}

/** The destination (started with `-incoming defer`) listens on `uri`. */
export async function startIncoming(dst: Qmp, uri: string): Promise<void> {
  await dst.execute('migrate-incoming', { uri });
}

/** The source starts sending to `uri`; returns when it did (controller clock, ms). */
export async function startMigration(src: Qmp, uri: string): Promise<number> {
  const t0 = Date.now();
  await src.execute('migrate', { uri });
  return t0;
}

export function queryMigrate(qmp: Qmp): Promise<MigrateInfo> {
  return qmp.execute<MigrateInfo>('query-migrate');
}

/** Switches a running pre-copy migration to post-copy (capability postcopy-ram set on both sides). */
export async function startPostcopy(src: Qmp): Promise<void> {
  await src.execute('migrate-start-postcopy');
}

/** Cancels a running migration; never throws (the source keeps the guest). */
export async function cancelMigration(src: Qmp): Promise<void> {
  await src.execute('migrate_cancel').catch(() => undefined);
}

export interface SampleOptions {
  /** called with each sample and when it was taken; may act on the migration (e.g. start post-copy) */
  onSample?: (info: MigrateInfo, t: number) => Promise<void> | void;
  /** past this time (ms since epoch) a migration that has not completed is cancelled and the error thrown */
  deadline?: { at: number; error: (info: MigrateInfo) => string };
}

export interface SampledMigration {
  /** the last sample: status completed, failed or cancelled */
  info: MigrateInfo;
  samples: number;
  /** when the end was seen (controller clock, ms) */
  endedAt: number;
}

/** Samples `query-migrate` on the source at 10 Hz until the migration has ended (any outcome). */
export async function sampleUntilEnded(src: Qmp, o: SampleOptions = {}): Promise<SampledMigration> {
  let info: MigrateInfo = { status: 'setup' };
  let samples = 0;
  while (!ENDED.has(info.status)) {
    const tq = Date.now();
    info = await queryMigrate(src);
    samples++;
    await o.onSample?.(info, tq);
    if (o.deadline && tq > o.deadline.at && info.status !== 'completed') {
      await cancelMigration(src);
      throw new Error(o.deadline.error(info));
    }
    await sleep(Math.max(0, MIGRATE_SAMPLE_MS - (Date.now() - tq)));
  }
  return { info, samples, endedAt: Date.now() };
}

/** Throws unless the migration completed: `<what> failed: <QEMU's reason>`. */
export function assertCompleted(info: MigrateInfo, what = 'migration'): void {
  if (info.status !== 'completed')
    throw new Error(`${what} ${info.status}: ${info['error-desc'] ?? 'no reason given by QEMU'}`);
}

/**
 * The source's final `query-migrate`. QEMU (seen with 7.2) reports `completed` a moment before it
 * fills in total-time and downtime (migration_completion sets the state,
 * migration_calculate_complete the times): re-read until they are there.
 */
export function awaitMigrationTimes(src: Qmp): Promise<MigrateInfo> {
  return waitFor(
    'QEMU to report the migration times',
    5000,
    async () => {
      const i = await queryMigrate(src);
      return (i['total-time'] ?? 0) > 0 ? i : undefined;
    },
    20,
  );
}

/** The destination holds the whole state: its incoming migration completed (fails fast when it failed). */
export async function awaitDestinationComplete(dst: Qmp, timeoutMs = 60000): Promise<void> {
  await waitFor(
    'the destination QEMU to receive the whole migration',
    timeoutMs,
    async () => {
      const d = await queryMigrate(dst);
      if (d.status === 'failed')
        throw new FatalError(`destination: incoming migration failed${d['error-desc'] ? `: ${d['error-desc']}` : ''}`);
      return d.status === 'completed';
    },
    20,
  );
}

/** Where in the stream a migration was when `awaitShareSent` returned. */
export interface StreamPoint {
  sentBytes: number;
  ramBytes: number;
  ms: number;
}

/**
 * Waits until the source has sent at least `share` of the guest's RAM with the migration active, and
 * says how far it got (a fault injector lands mid-stream this way). Throws when the migration ends
 * first: a fault that lands at 0 bytes or after the end proves nothing.
 */
export async function awaitShareSent(src: Qmp, share: number): Promise<StreamPoint> {
  const t0 = Date.now();
  for (;;) {
    const info = await queryMigrate(src);
    const sent = info.ram?.transferred ?? 0;
    const total = info.ram?.total ?? 0;
    if (info.status === 'active' && total > 0 && sent >= share * total)
      return { sentBytes: sent, ramBytes: total, ms: Date.now() - t0 };
    if (['completed', 'failed', 'cancelled'].includes(info.status))
      throw new Error(
        `fault not injected: the migration was ${info.status} at ${(sent / 1048576).toFixed(0)} MiB sent, before ` +
          `${Math.round(share * 100)} % of RAM`,
      );
    await sleep(MIGRATE_SAMPLE_MS);
  }
}
