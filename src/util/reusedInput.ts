import { Socket } from 'node:net';

/** Bytes of a reused read buffer: a socket read takes up to this much. */
export const REUSED_INPUT_BYTES = 1 << 20;

/** What `readIntoReusedBuffer` did: `socket` is the one to pause, resume, end and destroy from now on. */
export interface ReusedInput {
  socket: Socket;
  /** True: reads land in the caller's reused buffers. False: Node's fresh buffer per read (the fallback). */
  reused: boolean;
}

/** The libuv handle of an accepted socket: Node's own field, not in its typings. */
interface WithHandle {
  _handle?: { useUserBuffer?: unknown } | null;
}

/**
 * Reads a socket a server accepted into reused memory: each read lands in the buffer `next()` gives
 * (asked once before the first read and after every read; default one reused 1 MiB buffer), and
 * `onChunk` gets a view of what was read. The view stays valid until the callback returns, or, when
 * the callback paused the socket, until the socket is resumed, unless `next` keeps handing out other
 * memory. Whatever the consumer keeps past that it must copy, and views it handed to a write must be
 * in the kernel before it resumes. Bytes the accepted socket had read already (Node's own buffers)
 * come first, through the same callback, before `next` is first asked.
 *
 * Why: Node's 'data' events allocate a fresh buffer per read (64 KiB). On these hosts that costs page
 * faults on first touch, malloc and garbage collection of external memory — measured, one Node relay
 * hop (unix → Node → unix) took 2.4-2.7 core-seconds per GB with 'data' and 0.6 with one reused 1 MiB
 * buffer, what socat costs. Node's public API takes such buffers (`onread`) only for sockets it
 * connects, so the accepted socket's handle is taken into a socket made with it; a Node without that
 * handle gets the 'data' events instead (same contract: those chunks are the consumer's to keep).
 */
export function readIntoReusedBuffer(
  accepted: Socket,
  onChunk: (chunk: Buffer) => void,
  next?: () => Buffer,
): ReusedInput {
  const a = accepted as unknown as WithHandle;
  const handle = a._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') {
    accepted.on('data', onChunk);
    accepted.resume();
    return { socket: accepted, reused: false };
  }
  // what Node read before (its own buffers) goes first, before the next buffer is asked for
  while (accepted.readableLength > 0) {
    const c = accepted.read() as Buffer | null;
    if (c === null) break;
    onChunk(c);
  }
  const fixed = next ? undefined : Buffer.allocUnsafe(REUSED_INPUT_BYTES);
  const take = next ?? (() => fixed!);
  let buffer!: Buffer;
  a._handle = null;
  const socket = new Socket({
    handle,
    allowHalfOpen: accepted.allowHalfOpen,
    onread: {
      // asked before the first read and after every one: the buffer the next read lands in
      buffer: () => (buffer = take()),
      callback: (n: number): boolean => {
        onChunk(buffer.subarray(0, n));
        return true;
      },
    },
  } as ConstructorParameters<typeof Socket>[0]);
  // the accepted socket no longer owns the handle: destroying it closes nothing, and its server counts
  // the connection as gone
  accepted.destroy();
  return { socket, reused: true };
}
