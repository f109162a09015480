import type { Socket } from 'node:net';

/**
 * The source agent's queue for the link while it reads QEMU ahead of it (ReadAhead): whole frames
 * held in the agent's memory and handed to the socket only while the socket holds less than
 * `pumpBytes`. Holding the queue here, not in the socket's own buffer, is what lets a frame written
 * beside it (a HINT, a PAGE) reach the target ahead of the queued stream.
 */
export class LinkBacklog {
  private readonly frames: { frame: Buffer; cb?: () => void }[] = [];
  /** Bytes queued, not yet handed to the socket. */
  bytes = 0;

  constructor(
    private readonly socket: Socket,
    /** Called after frames were handed to the socket (the queue shrank). */
    private readonly onMoved: () => void,
    private readonly pumpBytes = 1 << 20,
  ) {
    socket.on('drain', this.pump);
  }

  get empty(): boolean {
    return this.frames.length === 0;
  }

  /** Queues a whole frame (the caller gives it up); `cb` once the socket has written it. */
  push(frame: Buffer, cb?: () => void): void {
    this.frames.push({ frame, cb });
    this.bytes += frame.length;
    this.pump();
  }

  /** Hands queued frames to the socket while it holds less than `pumpBytes`. */
  readonly pump = (): void => {
    let moved = false;
    while (this.frames.length > 0 && this.socket.writableLength < this.pumpBytes && !this.socket.destroyed) {
      const { frame, cb } = this.frames.shift() as { frame: Buffer; cb?: () => void };
      this.bytes -= frame.length;
      this.socket.write(frame, () => {
        cb?.();
        this.pump();
      });
      moved = true;
    }
    if (moved) this.onMoved();
  };
}
