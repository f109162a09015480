/** Option parsing shared by the CLI's commands (compare, pareto, recommend, results, host sample). */
import { UserError } from '../util/errors.js';

/** Checks `value` is one of `allowed`; otherwise a UserError naming the option. */
export function parseChoice<T extends string>(value: string, option: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UserError(`unknown ${option} "${value}"`, `use one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

export function parseNonNegativeNumber(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new UserError(`${option} must be a number ≥ 0, got "${value}"`);
  return n;
}

export function parseInteger(value: string, option: string, min: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min)
    throw new UserError(`${option} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

/**
 * `--json` is `--format json` on the commands that have --format (kept as an alias): the format
 * to use; --json with another explicit --format is a contradiction.
 */
export function jsonFormat(o: { format: string; json?: boolean }): string {
  if (!o.json) return o.format;
  if (o.format !== 'table' && o.format !== 'json')
    throw new UserError(`--json contradicts --format ${o.format}`, 'pass one of them');
  return 'json';
}
