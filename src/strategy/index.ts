import type { StrategyName } from '../scenario/types.js';
import type { MigrationStrategy } from './types.js';
import { StockStrategy } from './stock.js';
import { PofStrategy } from './pof.js';
import { UserError } from '../util/errors.js';

export function createStrategy(name: string): MigrationStrategy {
  switch (name as StrategyName) {
    case 'stock': return new StockStrategy();
    case 'pof': return new PofStrategy('trace');
    default: throw new UserError(`unknown strategy "${name}"`, 'use --strategies stock, pof or stock,pof');
  }
}
