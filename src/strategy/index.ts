import type { StrategyName } from '../scenario/types.js';
import type { MigrationStrategy } from './types.js';
import { StockStrategy } from './stock.js';
import { PofStrategy } from './pof.js';
import { UserError } from '../util/errors.js';

export function createStrategy(name: string): MigrationStrategy {
  switch (name as StrategyName) {
    case 'stock':
      return new StockStrategy();
    case 'pof':
      return new PofStrategy('trace');
    case 'pof-scan':
      return new PofStrategy('scan');
    default:
      throw new UserError(
        `unknown strategy "${name}"`,
        'use --strategies with stock, pof and/or pof-scan, e.g. stock,pof',
      );
  }
}
