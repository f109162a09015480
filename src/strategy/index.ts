import { STRATEGY_NAMES, strategyNamesText, type StrategyName } from '../scenario/types.js';
import type { MigrationStrategy } from './types.js';
import { StockStrategy } from './stock.js';
import { PofStrategy } from './pof.js';
import { UserError } from '../util/errors.js';

/** How each strategy is made: one entry per name of STRATEGY_NAMES (the type checks there is one). */
const STRATEGIES: Record<StrategyName, () => MigrationStrategy> = {
  stock: () => new StockStrategy(),
  pof: () => new PofStrategy('trace'),
  'pof-scan': () => new PofStrategy('scan'),
};

export const isStrategyName = (name: string): name is StrategyName =>
  (STRATEGY_NAMES as readonly string[]).includes(name);

export function createStrategy(name: string): MigrationStrategy {
  if (!isStrategyName(name))
    throw new UserError(
      `unknown strategy "${name}"`,
      `use --strategies with ${strategyNamesText()}, e.g. ${STRATEGY_NAMES.slice(0, 2).join(',')}`,
    );
  return STRATEGIES[name]();
}
