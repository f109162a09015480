import { QemuStreamParser } from './ramStream.js';
import { pofHeader, refFrame, literalFrameHeader, endFrame, MAX_LITERAL, PAGE_BYTES } from './pofFrames.js';

/** Where a page's content lives on the NAS, if anywhere. */
export interface PageRef { block: number; hash: Buffer }
export type PageLookup = (page: Buffer) => PageRef | undefined;

export interface EncodeStats {
  bytesIn: number;
  bytesOut: number;
  fullPages: number;
  refPages: number;
  zeroPages: number;
  otherRecords: number;
}

/**
 * QEMU stream → POF stream, incrementally. `push` returns the encoded bytes for everything it
 * could parse (literals are flushed at the end of each push, so output never lags input by more
 * than one partial record); `end` checks the stream was complete and adds the END frame.
 */
export class PofEncoder {
  private readonly parser: QemuStreamParser;
  private out: Buffer[] = [];
  private literal: Buffer[] = [];
  private literalLen = 0;
  private literalTotal = 0;
  private started = false;
  readonly stats: EncodeStats = { bytesIn: 0, bytesOut: 0, fullPages: 0, refPages: 0, zeroPages: 0, otherRecords: 0 };

  constructor(private readonly lookup: PageLookup) {
    this.parser = new QemuStreamParser({
      literal: (b) => this.addLiteral(b),
      page: (payload) => {
        const ref = this.lookup(payload);
        if (ref) {
          this.flushLiteral();
          this.out.push(refFrame(ref.block, ref.hash));
          this.stats.refPages++;
        } else {
          this.addLiteral(payload);
          this.stats.fullPages++;
        }
      },
      record: (kind) => {
        if (kind === 'zero') this.stats.zeroPages++;
        else if (kind !== 'page') this.stats.otherRecords++;
      },
    });
  }

  push(chunk: Buffer): Buffer[] {
    if (!this.started) {
      this.started = true;
      this.out.push(pofHeader());
    }
    this.stats.bytesIn += chunk.length;
    this.parser.push(chunk);
    this.flushLiteral();
    return this.take();
  }

  end(): Buffer[] {
    if (!this.started) this.push(Buffer.alloc(0));
    this.parser.end();
    this.flushLiteral();
    this.out.push(endFrame(this.stats.bytesIn, this.literalTotal, this.stats.refPages));
    return this.take();
  }

  private take(): Buffer[] {
    const o = this.out;
    this.out = [];
    for (const b of o) this.stats.bytesOut += b.length;
    return o;
  }

  private addLiteral(b: Buffer): void {
    if (b.length === 0) return;
    this.literal.push(b);
    this.literalLen += b.length;
    if (this.literalLen >= MAX_LITERAL) this.flushLiteral();
  }

  /** Emits pending literal bytes as frames of at most MAX_LITERAL bytes (copied: input buffers may be reused). */
  private flushLiteral(): void {
    if (this.literalLen === 0) return;
    const all = Buffer.concat(this.literal, this.literalLen);
    for (let at = 0; at < all.length; at += MAX_LITERAL) {
      const part = all.subarray(at, at + MAX_LITERAL);
      this.out.push(literalFrameHeader(part.length), part);
    }
    this.literalTotal += this.literalLen;
    this.literal = [];
    this.literalLen = 0;
  }
}

export { PAGE_BYTES };
