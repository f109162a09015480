/**
 * `pofbench bench index`: what the block index costs. Builds an index of N blocks with synthetic
 * keys in random order (`BlockIndex.addKey`: no SHA-256, no image; a few real random pages among
 * them), measures its memory per block (the index's own typed arrays, and process.memoryUsage()
 * before and after, garbage collected), then measures `lookup` on pages that are not indexed
 * (what anonymous memory costs: a fingerprint and a probe) and on the real pages it holds (a
 * SHA-256 more).
 * Times are CPU time of this process (the machine may be shared). The pages are few (2 MiB) and
 * looked up over and over, so they are in the CPU cache, as a page the source agent has just read
 * from QEMU's socket is; the index is not.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PAGE_SIZE } from '../codec/bytes.js';
import { BlockIndex } from '../codec/blockindex.js';
import type { PageRef } from '../codec/encoder.js';
import { mix32 } from '../codec/slots.js';
import { median } from '../util/quantile.js';

export interface IndexBenchResult {
  blocks: number;
  /** CPU nanoseconds per `addKey` while building (random order). */
  buildNsPerBlock: number;
  /** The index's typed arrays per block. */
  bytesPerBlock: number;
  /** process.memoryUsage() (heapUsed + arrayBuffers) growth per block. */
  measuredBytesPerBlock: number;
  pages: number;
  /** Median over rounds of lookups per CPU second. */
  missLookupsPerSec: number;
  hitLookupsPerSec: number;
}

/** What `measureLookups` needs of an index (so an older implementation can be measured the same way). */
export interface LookupIndex {
  addBlock(block: number, content: Buffer): unknown;
  lookup(page: Buffer): PageRef | undefined;
}

function cpuSeconds(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

/** Garbage collection on demand (exposed at run time: `node --expose-gc` is not needed). */
export function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** `n` random pages (views of one buffer). */
export function randomPages(n: number): Buffer[] {
  const buf = randomBytes(n * PAGE_SIZE);
  return Array.from({ length: n }, (_, i) => buf.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
}

/**
 * Lookups per CPU second of `misses` (pages not indexed) and of `hits` (pages the index holds),
 * medians over `rounds`. Index the hits spread over the index (not all last: a Map keeps its
 * entries in insertion order, and the last ones would sit together in the CPU cache).
 */
export function measureLookups(
  index: LookupIndex,
  hits: Buffer[],
  misses: Buffer[],
  rounds: number,
): { miss: number; hit: number } {
  const missPasses = Math.max(1, Math.ceil(200_000 / misses.length));
  const hitPasses = Math.max(1, Math.ceil(20_000 / hits.length));
  const missRates: number[] = [];
  const hitRates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let found = 0;
    const sMiss = cpuSeconds(() => {
      for (let k = 0; k < missPasses; k++) for (const p of misses) if (index.lookup(p)) found++;
    });
    if (found > 0) throw new Error(`bench index: ${found} random pages were found`);
    missRates.push((missPasses * misses.length) / sMiss);
    const sHit = cpuSeconds(() => {
      for (let k = 0; k < hitPasses; k++) for (const p of hits) if (index.lookup(p)) found++;
    });
    if (found !== hitPasses * hits.length) throw new Error(`bench index: ${found} of ${hitPasses * hits.length} found`);
    hitRates.push((hitPasses * hits.length) / sHit);
  }
  return { miss: median(missRates), hit: median(hitRates) };
}

export interface IndexBenchOptions {
  blocks: number;
  pages: number;
  rounds: number;
  log?: (l: string) => void;
}

export function benchIndex(o: IndexBenchOptions): IndexBenchResult {
  const log = o.log ?? (() => undefined);
  const gc = collector();
  const hits = randomPages(Math.min(o.pages, o.blocks));
  const misses = randomPages(o.pages);
  gc();
  const m0 = process.memoryUsage();
  const index = new BlockIndex();
  log(`building an index of ${o.blocks} blocks (synthetic keys, random order; ${hits.length} real pages)`);
  const every = Math.max(1, Math.floor(o.blocks / o.pages));
  const buildS = cpuSeconds(() => {
    for (let b = 0; b < o.blocks; b++) {
      if (b % every === 0 && b / every < hits.length) index.addBlock(b, hits[b / every]);
      else index.addKey(b, mix32(b ^ 0x2545f491), mix32(b + 0x9e3779b9));
    }
  });
  gc();
  const m1 = process.memoryUsage();
  const grown = m1.heapUsed - m0.heapUsed + m1.arrayBuffers - m0.arrayBuffers;
  const held = index.bytes;
  log(`lookups: ${hits.length} pages indexed, ${misses.length} not, ${o.rounds} rounds`);
  const rates = measureLookups(index, hits, misses, o.rounds);
  return {
    blocks: o.blocks,
    buildNsPerBlock: (buildS * 1e9) / o.blocks,
    bytesPerBlock: held / o.blocks,
    measuredBytesPerBlock: grown / o.blocks,
    pages: hits.length,
    missLookupsPerSec: rates.miss,
    hitLookupsPerSec: rates.hit,
  };
}
