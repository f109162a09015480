/**
 * Turns decoded POF items into QEMU stream bytes, reading referenced blocks from the NAS through a
 * caller-supplied `readBlock` (the only I/O, injected). Every block is verified against the
 * reference's SHA-256: a mismatch is a `RefMismatchError` naming the block (live agents add their
 * fallback around this).
 *
 * Order is kept; reads run ahead of the output with bounded concurrency. Memory bound: at most
 * `concurrency` block reads in flight, and at most `maxAheadBytes` (+ one input item) of decoded
 * bytes waiting behind an unresolved reference. Ready output is yielded without waiting for more
 * input, so a stalled input never holds back bytes that could already be written.
 */
import { crc32 } from './crc32.js';
import { PAGE_SIZE, hex, sha256 } from './bytes.js';
import type { Decoder, DecodedItem } from './decoder.js';
import { CodecError, RefMismatchError } from './errors.js';

export type ReadBlock = (block: number) => Promise<Buffer>;

export interface ResolveOptions {
  /** Block reads in flight at most (default 16). */
  concurrency?: number;
  /** Bytes decoded ahead of the output at most (default 8 MiB). */
  maxAheadBytes?: number;
  /** Called once per verified reference (e.g. for counting NAS bytes). */
  onRef?: (block: number) => void;
}

/** Checks a block read from the NAS against a reference; returns it or throws RefMismatchError. */
export function verifyBlock(block: number, hash: Buffer, data: Buffer): Buffer {
  if (data.length !== PAGE_SIZE)
    throw new RefMismatchError(
      block,
      hash,
      undefined,
      `NAS block ${block}: read ${data.length} bytes, expected ${PAGE_SIZE}`,
    );
  const actual = sha256(data);
  if (!actual.equals(hash)) throw new RefMismatchError(block, hash, actual);
  return data;
}

interface Slot {
  data?: Buffer;
  error?: unknown;
  ready: Promise<void>;
  settled: boolean;
}

/** Feeds a byte source through a Decoder and yields its items (the Decoder's end() check included). */
export async function* decodeItems(
  source: AsyncIterable<Buffer | string> | Iterable<Buffer>,
  decoder: Decoder,
): AsyncGenerator<DecodedItem> {
  for await (const chunk of source) {
    yield* decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  yield* decoder.end();
}

/**
 * POF bytes → the restored QEMU stream: decodes, resolves references (verified), and checks the
 * END frame's CRC-32 over exactly the bytes it yielded. A stream whose CRC does not match is an
 * error after its last byte — consumers that must not act on a bad stream wait for the end.
 */
export async function* restore(
  source: AsyncIterable<Buffer | string> | Iterable<Buffer>,
  decoder: Decoder,
  readBlock: ReadBlock,
  opts: ResolveOptions = {},
): AsyncGenerator<Buffer> {
  let crc = 0;
  for await (const b of resolveRefs(decodeItems(source, decoder), readBlock, opts)) {
    crc = crc32(b, crc);
    yield b;
  }
  const want = decoder.trailer?.crc;
  if (want !== undefined && want !== crc >>> 0) {
    throw new CodecError(
      `CRC-32 of the restored stream ${hex(crc >>> 0)} does not match the END frame's ${hex(want)}`,
      decoder.stats().bytesIn,
      'pof',
    );
  }
}

/** The slot of one item: literal bytes at once; a ref once its block is read and verified (then `settled()`). */
function slotOf(item: DecodedItem, readBlock: ReadBlock, opts: ResolveOptions, settled: () => void): Slot {
  if (item.kind === 'bytes') return { data: item.data, ready: Promise.resolve(), settled: true };
  const slot: Slot = { settled: false, ready: Promise.resolve() };
  const { block, hash } = item;
  slot.ready = Promise.resolve()
    .then(() => readBlock(block))
    .then(
      (data) => {
        slot.data = verifyBlock(block, hash, data);
        opts.onRef?.(block);
      },
      (err: unknown) => {
        throw err instanceof Error
          ? new Error(`reading NAS block ${block}: ${err.message}`, { cause: err })
          : new Error(`reading NAS block ${block}: ${String(err)}`);
      },
    )
    .catch((err: unknown) => {
      slot.error = err;
    })
    .finally(() => {
      slot.settled = true;
      settled();
    });
  return slot;
}

export async function* resolveRefs(
  items: AsyncIterable<DecodedItem> | Iterable<DecodedItem>,
  readBlock: ReadBlock,
  opts: ResolveOptions = {},
): AsyncGenerator<Buffer> {
  const concurrency = Math.max(1, opts.concurrency ?? 16);
  const maxAhead = Math.max(PAGE_SIZE, opts.maxAheadBytes ?? 8 * 1024 * 1024);
  const it: AsyncIterator<DecodedItem> | Iterator<DecodedItem> =
    Symbol.asyncIterator in items
      ? (items as AsyncIterable<DecodedItem>)[Symbol.asyncIterator]()
      : (items as Iterable<DecodedItem>)[Symbol.iterator]();
  const queue: Slot[] = [];
  let aheadBytes = 0;
  let inflight = 0;
  let inputDone = false;
  let next: Promise<void> | undefined;
  let nextResult: { r?: IteratorResult<DecodedItem>; e?: unknown } | undefined;

  const refSettled = () => {
    inflight--;
  };
  const enqueue = (item: DecodedItem): void => {
    if (item.kind === 'bytes') aheadBytes += item.data.length;
    else {
      inflight++;
      aheadBytes += PAGE_SIZE;
    }
    queue.push(slotOf(item, readBlock, opts, refSettled));
  };

  try {
    for (;;) {
      // 1. yield whatever is ready at the head
      while (queue.length > 0 && queue[0].settled) {
        const slot = queue.shift()!;
        if (slot.error !== undefined) throw slot.error;
        aheadBytes -= slot.data!.length;
        yield slot.data!;
      }
      if (inputDone && queue.length === 0) return;
      // 2. pull more input if the budget allows
      if (!inputDone && !next && inflight < concurrency && aheadBytes < maxAhead) {
        next = Promise.resolve(it.next()).then(
          (r) => {
            nextResult = { r };
          },
          (e: unknown) => {
            nextResult = { e };
          },
        );
      }
      // 3. wait for the input or the head, whichever comes first
      const waits: Promise<unknown>[] = [];
      if (next) waits.push(next);
      if (queue.length > 0) waits.push(queue[0].ready);
      if (waits.length === 0) {
        // budget exhausted by reads that are not at the head: wait for any of them
        waits.push(...queue.filter((s) => !s.settled).map((s) => s.ready));
      }
      await Promise.race(waits);
      if (nextResult) {
        const res = nextResult;
        next = undefined;
        nextResult = undefined;
        if (res.e !== undefined) throw res.e;
        if (res.r!.done) inputDone = true;
        else enqueue(res.r!.value);
      }
    }
  } finally {
    // don't await: an input stalled on a socket must not hold up the error
    if (!inputDone)
      void Promise.resolve()
        .then(() => it.return?.())
        .catch(() => undefined);
  }
}
