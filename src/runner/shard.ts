/**
 * Splits a session's runs (in execution order) across N host pairs: each run goes to the pair
 * with the least estimated work so far (ties: the lower pair), so pairs finish about together and
 * each pair keeps the plan's order. Deterministic; one pair gets every run in the same order.
 */
export function shardRuns<T extends { estimate_s: number }>(runs: readonly T[], pairs: number): T[][] {
  if (!Number.isInteger(pairs) || pairs < 1) throw new Error(`cannot shard across ${pairs} pairs`);
  const shards: T[][] = Array.from({ length: pairs }, () => []);
  const load = new Array<number>(pairs).fill(0);
  for (const run of runs) {
    let k = 0;
    for (let i = 1; i < pairs; i++) if (load[i] < load[k]) k = i;
    shards[k].push(run);
    load[k] += run.estimate_s;
  }
  return shards;
}
