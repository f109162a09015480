import type { MigrationStrategy, StrategyContext, MigrationPath } from './types.js';

export const STOCK_MIGRATION_PORT = 4444;

/** QEMU's own pre-copy migration: source QEMU straight to destination QEMU over TCP. */
export class StockStrategy implements MigrationStrategy {
  readonly name = 'stock' as const;
  refusal(): undefined {
    return undefined;
  }
  validate(): void {}
  async prepare(ctx: StrategyContext): Promise<MigrationPath> {
    const addr = ctx.testbed.hosts.dst.migrationAddress;
    if (!addr) throw new Error(`testbed: host ${ctx.testbed.hosts.dst.name} has no migration address`);
    const uri = `tcp:${addr}:${STOCK_MIGRATION_PORT}`;
    return { incomingUri: uri, migrateUri: uri };
  }
  async collect(): Promise<Record<string, number>> {
    return {};
  }
  async cleanup(): Promise<void> {}
}
