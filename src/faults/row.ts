/** What every fault row shares: its result shape, the suite's context, the leftover check. */
import type { TestbedSpec } from '../testbed/spec.js';
import type { GuestImage } from '../image/build.js';
import { sleep } from '../util/exec.js';
import { runLeftovers } from './leftovers.js';

export interface FaultRow {
  fault: string;
  strategy: string;
  expected: string;
  observed: string;
  src_vm_after: string;
  leftovers: string[];
  ok: boolean;
  detail?: string;
}

export interface SuiteContext {
  /** The testbed now (the SIGKILL row takes it down and brings it up again). */
  testbed: TestbedSpec;
  bringUp: () => Promise<TestbedSpec>;
  image: GuestImage;
  outDir: string;
  log: (line: string) => void;
  /** Go through every row without injecting its fault: each row's judge must then say NOT OK. */
  skipInjection: boolean;
  /** What was left over before the suite began (someone else's): not held against any row. */
  baseline: ReadonlySet<string>;
}

/** A row besides the catalog's migration faults (InfluxDB, the runner itself, the testbed). */
export interface ExtraRow {
  name: string;
  run(c: SuiteContext): Promise<FaultRow>;
}

/** Leftovers now, less what was there before the suite began. */
export const newLeftovers = (c: Pick<SuiteContext, 'baseline'>): string[] =>
  runLeftovers().filter((l) => !c.baseline.has(l));

/**
 * What the row's runs left behind (processes, link caps, RAM dumps, NAS copies), looked at before
 * any teardown; a few seconds' grace for processes on their way out.
 */
export async function leftoversAfter(c: Pick<SuiteContext, 'baseline'>): Promise<string[]> {
  for (let i = 0; i < 25; i++) {
    if (newLeftovers(c).length === 0) return [];
    await sleep(200);
  }
  return newLeftovers(c);
}

/** A row from its checks: ok when no problem was found and nothing was left. */
export function row(
  base: Omit<FaultRow, 'ok' | 'detail' | 'leftovers'>,
  leftovers: string[],
  problems: string[],
): FaultRow {
  return {
    ...base,
    leftovers,
    ok: problems.length === 0 && leftovers.length === 0,
    ...(problems.length ? { detail: problems.join('; ') } : {}),
  };
}

/** A record in a row's words: its status and the start of its error, or MISSING. */
export const recordText = (r: { status: string; error?: string } | undefined, n = 60): string =>
  r ? `${r.status}${r.error ? ` (${r.error.slice(0, n)})` : ''}` : 'MISSING';
