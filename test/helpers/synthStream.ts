/**
 * Test helpers around the stream builder (src/codec/synth.ts). Real captured streams are tested in
 * codec-captured.it.test.ts; synthetic ones give exact control.
 */
import { mulberry32 } from '../../src/util/prng.js';

export {
  PAGE,
  synthStream,
  randomPage,
  synthImageAndStream,
  type SynthPage,
  type SynthOptions,
} from '../../src/codec/synth.js';

/** Deterministic pseudo-random numbers (mulberry32), for page contents and fuzzing. */
export const prng = mulberry32;

/** Splits a buffer into chunks of random sizes (1..max). */
export function chunked(buf: Buffer, rand: () => number, max = 9000): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const n = 1 + Math.floor(rand() * max);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}
