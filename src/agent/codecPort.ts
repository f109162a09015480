/**
 * What the agents use from the POF codec (src/codec): an incremental encoder driven by a page
 * index, and an incremental decoder that yields literal bytes and references in stream order.
 */
import { PofEncoder, type PageRef, type EncodeStats } from '../codec/pofEncoder.js';
import { PofDecoder, type DecodedItem } from '../codec/pofDecoder.js';

export type { PageRef, DecodedItem };

export interface PageIndex {
  readonly size: number;
  lookup(page: Buffer): PageRef | undefined;
}

export interface StreamEncoderPort {
  push(chunk: Buffer): Buffer[];
  end(): Buffer[];
  stats(): EncodeStats;
}

export function makeEncoder(lookup: (page: Buffer) => PageRef | undefined): StreamEncoderPort {
  const enc = new PofEncoder(lookup);
  return { push: (c) => enc.push(c), end: () => enc.end(), stats: () => enc.stats };
}

export function makeDecoder(imageBlocks: number): PofDecoder {
  return new PofDecoder(imageBlocks);
}
