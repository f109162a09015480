/**
 * The POF codec over files and pipes (`pofbench stream encode|decode`, tests, benchmarks): the same
 * pure encoder/decoder the live agents use, with the NAS image read from a local path.
 */
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import { Encoder, joinFrames, type EncoderStats } from '../codec/encoder.js';
import { Decoder, type DecoderStats } from '../codec/decoder.js';
import { restore } from '../codec/resolve.js';
import { buildScanIndex, buildTraceIndex, type BlockIndex, type IndexBuild } from '../codec/blockindex.js';
import { NasImage } from './nasImage.js';
import { UserError } from '../util/errors.js';

export type IndexSpec = { kind: 'scan' } | { kind: 'trace'; log: string };

/** Parses `scan` or `trace:LOG` (the --index flag). */
export function parseIndexSpec(spec: string): IndexSpec {
  if (spec === 'scan') return { kind: 'scan' };
  if (spec.startsWith('trace:') && spec.length > 6) return { kind: 'trace', log: spec.slice(6) };
  throw new UserError(
    `--index "${spec}" is neither "scan" nor "trace:LOG"`,
    'use --index scan (hash the whole image) or --index trace:PATH-TO-QEMU-TRACE-LOG',
  );
}

export async function buildIndex(imagePath: string, spec: IndexSpec): Promise<IndexBuild> {
  if (spec.kind === 'scan') return buildScanIndex(imagePath);
  let text: string;
  try {
    text = await readFile(spec.log, 'latin1');
  } catch (err) {
    throw new UserError(`trace log ${spec.log}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  return buildTraceIndex(imagePath, text);
}

/** QEMU stream (input) → POF stream (output), pages found in `index` sent by reference. */
export async function encodeStream(
  input: Readable | AsyncIterable<Buffer>,
  output: Writable,
  index: BlockIndex | undefined,
  imageBlocks: number,
): Promise<EncoderStats> {
  const enc = new Encoder({ lookupAt: index ? (b, at) => index.lookupAt(b, at) : undefined, imageBlocks });
  await pipeline(
    input,
    async function* (src: AsyncIterable<Buffer>) {
      // one write per input chunk (the encoder's output is many small views)
      for await (const c of src) {
        const out = enc.push(c);
        if (out.length) yield joinFrames(out);
      }
      yield joinFrames(enc.end());
    },
    output,
  );
  return enc.stats();
}

export interface DecodeResult extends DecoderStats {
  nasReadBytes: number;
  verifiedBlocks: number;
}

/**
 * POF stream (input) → QEMU stream (output), references read from `imagePath` and verified
 * against their hashes. Offline there is no source to ask: a mismatch is an error naming the block.
 */
export async function decodeStream(
  input: Readable | AsyncIterable<Buffer>,
  output: Writable,
  imagePath: string,
  opts: { concurrency?: number } = {},
): Promise<DecodeResult> {
  const image = await NasImage.open(imagePath);
  const dec = new Decoder({ imageBlocks: image.blocks });
  let verified = 0;
  try {
    await pipeline(
      input,
      (src: AsyncIterable<Buffer>) =>
        restore(src, dec, (b) => image.readBlocks(b, 1), {
          concurrency: opts.concurrency ?? 16,
          onRef: () => {
            verified++;
          },
        }),
      output,
    );
  } finally {
    await image.close();
  }
  return { ...dec.stats(), nasReadBytes: image.bytesRead, verifiedBlocks: verified };
}
