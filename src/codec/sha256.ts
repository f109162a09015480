/**
 * SHA-256 of pages for the pof hot path, without allocation: into a caller's buffer, or compared
 * against a hash in place. Native (native/pofhot.c: OpenSSL's SHA-256 through Node-API, ~2.3x
 * Node's per-page crypto here) when `npm run build` built it, else Node's crypto with the same
 * results. `sha256Native` says which one runs; the agents report it in their stats.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { sha256 } from './bytes.js';

interface PofHot {
  sha256Into(data: Uint8Array, out: Uint8Array, outOffset: number): void;
  sha256Matches(data: Uint8Array, hash: Uint8Array, hashOffset: number): boolean;
}

/** build/Release/pofhot.node from the project root (dist/src/codec → ../../..), unless POFBENCH_NO_NATIVE=1. */
function loadNative(): PofHot | undefined {
  if (process.env.POFBENCH_NO_NATIVE === '1') return undefined;
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'build', 'Release', 'pofhot.node');
  if (!existsSync(file)) return undefined;
  return createRequire(import.meta.url)(file) as PofHot;
}

const native = loadNative();

/** The native SHA-256 is in use (false: Node's crypto, same results, ~2x the CPU). */
export const sha256Native: boolean = native !== undefined;

/** Node's SHA-256 (bytes.ts) of any byte view. */
const digest = (data: Uint8Array): Buffer => sha256(Buffer.from(data.buffer, data.byteOffset, data.byteLength));

/** out[outOffset .. +32] = SHA-256(data). */
export const sha256Into: (data: Uint8Array, out: Uint8Array, outOffset: number) => void = native
  ? native.sha256Into
  : (data, out, outOffset) => {
      if (!(outOffset >= 0 && outOffset + 32 <= out.length))
        throw new TypeError('sha256Into: no room for 32 bytes at outOffset');
      out.set(digest(data), outOffset);
    };

/** SHA-256(data) equals hash[hashOffset .. +32]. */
export const sha256Matches: (data: Uint8Array, hash: Uint8Array, hashOffset: number) => boolean = native
  ? native.sha256Matches
  : (data, hash, hashOffset) => {
      if (!(hashOffset >= 0 && hashOffset + 32 <= hash.length))
        throw new TypeError('sha256Matches: no 32-byte hash at hashOffset');
      return Buffer.compare(digest(data), hash.subarray(hashOffset, hashOffset + 32)) === 0;
    };
