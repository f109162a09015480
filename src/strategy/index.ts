import type { StrategyName } from '../scenario/types.js';
import type { MigrationStrategy } from './types.js';
import { StockStrategy } from './stock.js';
import { UserError } from '../util/errors.js';

export function createStrategy(name: string): MigrationStrategy {
  switch (name as StrategyName) {
    case 'stock': return new StockStrategy();
    case 'pof': throw new UserError('strategy "pof" is not available yet in the runner', 'use --strategies stock');
    default: throw new UserError(`unknown strategy "${name}"`, 'use --strategies stock or stock,pof');
  }
}
