import type { Socket } from 'node:net';
import { FrameType, encodeFrame, u64 } from './channel.js';
import { LazyReport } from './lazyReport.js';

/** Acknowledge at once when this many verified refs are unacknowledged; fewer wait up to ACK_DELAY_MS. */
const ACK_EVERY = 256;
const ACK_DELAY_MS = 5;

/**
 * Refs per batch, in stream order, until verified. A ref is acknowledged (ACK) as soon as it and
 * every ref before it have their verified page in hand (from the NAS, or the source's fallback
 * copy): the source's copy is no longer needed then, even though the page has not reached QEMU yet.
 * Refs are tiny on the wire (41 bytes), so tens of thousands are in flight in socket buffers; an
 * ack that waited for the QEMU write would keep the source's retention window full.
 */
export class AckWindow {
  private readonly verifying: { refs: number; verified: boolean }[] = [];
  private verifiedRefs = 0;
  private ackedRefs = 0;
  private readonly report = new LazyReport(ACK_DELAY_MS, () => this.sendAck());

  constructor(private readonly peer: Socket) {}

  /** A batch of `refs` refs, all verified once `ready` resolves. */
  track(refs: number, ready: Promise<void>): void {
    const entry = { refs, verified: false };
    this.verifying.push(entry);
    ready.then(
      () => {
        entry.verified = true;
        this.ackVerified();
      },
      () => undefined,
    );
  }

  private ackVerified(): void {
    const verifying = this.verifying;
    while (verifying.length > 0 && verifying[0].verified) this.verifiedRefs += verifying.shift()!.refs;
    if (this.verifiedRefs > this.ackedRefs) this.report.due(this.verifiedRefs - this.ackedRefs >= ACK_EVERY);
  }

  /** No more acks (the stream ended or failed). */
  stop(): void {
    this.report.stop();
  }

  private readonly sendAck = (): void => {
    if (this.verifiedRefs === this.ackedRefs) return;
    this.ackedRefs = this.verifiedRefs;
    this.peer.write(encodeFrame(FrameType.ACK, u64(this.verifiedRefs)));
  };
}
