import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Scenario } from '../scenario/types.js';
import { loadScenarios } from '../scenario/load.js';
import { parseSeed } from '../plan/order.js';
import { UserError } from '../util/errors.js';

/** The options `pofbench run` and `pofbench plan` share (what to run, in which order). */
export interface PlanFlags {
  strategies?: string;
  repeat?: string;
  seed?: string;
  warmupRuns?: string;
  resume?: string;
}

export interface PlanInputs {
  /** every configuration of every file (documents × sweep points) */
  scenarios: Scenario[];
  strategies?: string[];
  repeat?: number;
  seed?: number;
  warmupRuns: number;
  /** the results directory to resume, absolute */
  resumeDir?: string;
}

function count(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new UserError(`${flag} must be an integer >= ${min}, got "${text}"`);
  }
  return n;
}

/** Loads the scenario files (every problem a one-line UserError, before anything starts) and parses the flags. */
export async function planInputs(files: string[], o: PlanFlags): Promise<PlanInputs> {
  const scenarios = (await Promise.all(files.map((f) => loadScenarios(f)))).flat();
  if (o.resume !== undefined && !existsSync(o.resume)) {
    throw new UserError(
      `--resume ${o.resume}: no such results directory`,
      'pass the --out directory of the session to resume',
    );
  }
  const strategies = o.strategies
    ? o.strategies
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
  if (strategies && strategies.length === 0)
    throw new UserError(`--strategies lists no strategy`, 'use --strategies stock, pof or stock,pof');
  return {
    scenarios,
    strategies,
    repeat: count('--repeat', o.repeat, 1),
    seed: o.seed === undefined ? undefined : parseSeed(o.seed),
    warmupRuns: count('--warmup-runs', o.warmupRuns, 0) ?? 0,
    resumeDir: o.resume === undefined ? undefined : resolve(o.resume),
  };
}
