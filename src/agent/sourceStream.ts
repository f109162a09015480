import type { Socket } from 'node:net';
import { appendFileSync } from 'node:fs';
import { FrameType, encodeFrame, readFrames, readU64, u64, frameName, type Frame } from './channel.js';
import { Encoder, type PageRef } from '../codec/encoder.js';
import type { BlockIndex } from '../codec/blockindex.js';
import type { SourceStats, TargetStats } from './protocol.js';
import type { RetentionRing } from './retentionRing.js';
import { SlabWriter } from './slabWriter.js';
import { readIntoReusedBuffer } from '../util/reusedInput.js';

const MAX_DATA_FRAME = 1024 * 1024;
/** The stream is sampled this often while it runs (stats.stream_timeline), at most TIMELINE_ROWS times. */
const TIMELINE_MS = 100;
const TIMELINE_ROWS = 6000;

/** What holds QEMU back (the `held` of a stream_timeline row: streamTimeline.ts names them). */
const Hold = { None: 0, Link: 1, StreamWindow: 2, RetentionWindow: 3 } as const;
type Hold = (typeof Hold)[keyof typeof Hold];

export interface SourceStreamOptions {
  /** Unacknowledged refs at which QEMU is paused. */
  retentionLimit: number;
  /** QEMU stream bytes in the pipeline (read, not yet delivered) at which QEMU is paused. */
  windowBytes: number;
  imageBlocks: number;
}

/**
 * One migration's stream, source QEMU to target agent: QEMU's chunks are encoded (pages the index
 * finds on the NAS become refs, their pages kept in the retention ring) and sent as DATA frames;
 * the target's frames (ACK, DELIVERED, NEED, NAS_DOWN, DONE) come back on the same connection.
 * QEMU is read only while the link drains, the retention window has room and the stream window too.
 */
export class SourceStream {
  private readonly encoder: Encoder;
  private readonly out: SlabWriter;
  private readonly header = Buffer.alloc(5);
  /** A NEED per page at most: a target asking again and again would make us queue pages without end. */
  private readonly served = new Set<number>();
  private delivered = 0;
  private nasDown = false;
  private finished = false;
  private readonly tStream = Date.now();
  private sampler: NodeJS.Timeout | undefined;
  private resolve!: () => void;
  private reject!: (e: Error) => void;

  constructor(
    private qemu: Socket,
    private readonly peer: Socket,
    private readonly ring: RetentionRing,
    index: BlockIndex,
    private readonly o: SourceStreamOptions,
    private readonly stats: SourceStats,
    private readonly log: (l: string) => void,
  ) {
    const lookupAt = (buf: Buffer, at: number): PageRef | undefined => {
      if (this.nasDown) return undefined;
      const ref = index.lookupAt(buf, at);
      if (ref) {
        ring.keepAt(buf, at);
        if (ring.unacked > stats.retention_peak_pages) stats.retention_peak_pages = ring.unacked;
      }
      return ref;
    };
    this.encoder = new Encoder({ lookupAt, imageBlocks: o.imageBlocks });
    /**
     * One DATA frame per ≤ 1 MiB of encoder output (not one per REF: fewer frames), the frame headers
     * and the encoder's buffers (views of QEMU's chunks, REF frames) copied into reused slabs: one
     * write per QEMU chunk costs less than a writev entry per 41-byte REF, and reused slabs cost no
     * page faults or garbage collection.
     */
    this.out = new SlabWriter(peer);
  }

  /** Resolves once the target confirmed the whole stream (DONE) and it matches what QEMU sent. */
  run(): Promise<void> {
    const { peer, fail } = this;
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.sampler = setInterval(this.sample, TIMELINE_MS);
      peer.on('drain', this.maybeResume);
      this.out.onIdle = this.maybeResume;
      const tee = process.env.POFBENCH_AGENT_TEE;
      const input = readIntoReusedBuffer(this.qemu, (chunk: Buffer) => {
        if (tee) appendFileSync(`${tee}/source-in.bin`, chunk);
        this.onQemuData(chunk);
      });
      const qemu = (this.qemu = input.socket);
      this.log(`reading QEMU ${input.reused ? 'into one reused buffer' : "through 'data' events"}`);
      qemu.on('end', () => this.onQemuEnd());
      qemu.on('error', (e) => fail(new Error(`source QEMU socket: ${e.message}`)));
      peer.on('error', (e) => fail(new Error(`target agent connection: ${e.message}`)));
      peer.on('close', () =>
        fail(new Error('target agent closed the connection before confirming the end of the stream')),
      );
      readFrames(peer, (f) => this.onTargetFrame(f), fail);
    });
  }

  private readonly fail = (e: Error): void => {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.sampler);
    this.out.flush();
    this.peer.end(encodeFrame(FrameType.ERROR, Buffer.from(e.message)));
    this.qemu.destroy();
    this.reject(e);
  };

  /**
   * One row of the stream's timeline: when, QEMU bytes read, POF bytes sent, QEMU bytes delivered,
   * refs so far, and what holds QEMU back (a `Hold`; `Hold.None` while it is read).
   */
  private readonly sample = (delivered = this.delivered): void => {
    const { stats, ring } = this;
    if (stats.stream_timeline.length >= TIMELINE_ROWS) return;
    const held = this.qemu.isPaused() ? this.holdReason() : Hold.None;
    stats.stream_timeline.push([Date.now(), stats.bytes_in, stats.bytes_out, delivered, ring.nextSeq, held]);
  };

  /**
   * What holds QEMU back now, first match: the retention window full, the stream window full, or the link
   * (the socket wants a drain, or views of the read buffer written uncopied are not in the kernel yet: the
   * next read reuses it).
   */
  private holdReason(): Hold {
    if (this.ring.unacked >= this.o.retentionLimit) return Hold.RetentionWindow;
    if (this.inPipeline() >= this.o.windowBytes) return Hold.StreamWindow;
    if (this.peer.writableNeedDrain || this.out.writesPending > 0) return Hold.Link;
    return Hold.None;
  }

  private inPipeline(): number {
    return this.stats.bytes_in - this.delivered;
  }

  /** QEMU is read again once nothing holds it back. */
  private readonly maybeResume = (): void => {
    if (this.qemu.isPaused() && this.holdReason() === Hold.None) this.qemu.resume();
  };

  private onQemuData(chunk: Buffer): void {
    const { stats, qemu, encoder } = this;
    stats.bytes_in += chunk.length;
    try {
      // the chunk is a view of the reused read buffer: the encoder lets go of it (its pending literal
      // written, the record the chunk cut copied) and QEMU is read again once the views are written
      const encoded = encoder.push(chunk);
      for (const b of encoder.release()) encoded.push(b);
      this.send(encoded);
      this.out.flush();
      // the encoder's CRC of QEMU's bytes (what END carries): no second pass over the stream
      stats.qemu_crc32 = encoder.qemuCrc32;
      const pending = this.inPipeline();
      if (pending > stats.stream_window_peak_bytes) stats.stream_window_peak_bytes = pending;
      if (pending >= this.o.windowBytes && !qemu.isPaused()) stats.stream_window_waits++;
      if (this.holdReason() !== Hold.None) qemu.pause();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** A frame written beside the DATA stream: whatever the slab holds (whole frames and the rest of one) goes first. */
  private writeFrame(frame: Buffer, cb?: () => void): void {
    this.out.flush();
    this.peer.write(frame, cb);
  }

  private onQemuEnd(): void {
    const { stats } = this;
    try {
      this.send(this.encoder.end());
      const s = this.encoder.stats();
      stats.full_pages = s.fullPages;
      stats.ref_pages = s.refPages;
      stats.zero_pages = s.zeroPages;
      this.writeFrame(encodeFrame(FrameType.END), () => {
        stats.last_byte_out_at = Date.now();
      });
      stats.end_sent = true;
      this.log(
        `QEMU stream ended: ${stats.bytes_in} bytes in, ${stats.bytes_out} out, ${s.refPages} pages by reference, ` +
          `${s.fullPages} in full`,
      );
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /**
   * The encoder's output as DATA frames of at most MAX_DATA_FRAME bytes, into the slab writer (full
   * slabs are written at once, the rest by the caller's `out.flush()`); holdReason() says whether to wait.
   */
  private send(chunks: Buffer[]): void {
    const { out, header } = this;
    let total = 0;
    for (const c of chunks) total += c.length;
    if (total === 0) return;
    let frameLeft = 0;
    let left = total;
    // the literal views written uncopied leave with the slab's bytes before them in one writev
    this.peer.cork();
    for (let c of chunks) {
      while (c.length > 0) {
        if (frameLeft === 0) {
          frameLeft = Math.min(left, MAX_DATA_FRAME);
          header[0] = FrameType.DATA;
          header.writeUInt32BE(frameLeft, 1);
          out.append(header);
        }
        const n = Math.min(c.length, frameLeft);
        // long literal runs (views of QEMU's chunks) leave uncopied; the rest gathers in the slab
        out.appendView(n === c.length ? c : c.subarray(0, n));
        frameLeft -= n;
        left -= n;
        c = c.subarray(n);
      }
    }
    this.stats.bytes_out += total;
    this.peer.uncork();
  }

  private onTargetFrame(f: Frame): void {
    this.stats.backchannel_frames++;
    try {
      switch (f.type) {
        case FrameType.ACK:
          this.ring.ack(readU64(f.payload));
          for (const seq of this.served) if (seq < this.ring.acked) this.served.delete(seq);
          this.maybeResume();
          break;
        case FrameType.DELIVERED:
          this.onDelivered(readU64(f.payload));
          break;
        case FrameType.NEED:
          this.onNeed(readU64(f.payload));
          break;
        case FrameType.NAS_DOWN:
          if (!this.nasDown) this.log('the target cannot read the NAS: sending every page in full from now on');
          this.nasDown = true;
          this.stats.nas_down_after_ms ??= Date.now() - this.tStream;
          break;
        case FrameType.DONE:
          this.onDone(JSON.parse(f.payload.toString('utf8')) as TargetStats);
          break;
        case FrameType.ERROR:
          throw new Error(`target agent: ${f.payload.toString('utf8')}`);
        default:
          throw new Error(`unexpected ${frameName(f.type)} frame from the target agent`);
      }
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private onDelivered(upTo: number): void {
    if (upTo < this.delivered || upTo > this.stats.bytes_in)
      throw new Error(
        `target reported ${upTo} stream bytes delivered, outside ${this.delivered}..${this.stats.bytes_in}`,
      );
    this.delivered = upTo;
    this.maybeResume();
  }

  /** The target asks for the retained page of ref `seq` (its NAS block did not match, or the NAS is down). */
  private onNeed(seq: number): void {
    const page = this.ring.page(seq);
    if (this.served.has(seq)) throw new Error(`target asked for page #${seq} twice`);
    this.served.add(seq);
    this.stats.fallback_requests++;
    this.writeFrame(encodeFrame(FrameType.PAGE, Buffer.concat([u64(seq), page])));
  }

  /** The target's stats: the stream it handed on must be the one QEMU sent (length and CRC-32). */
  private onDone(t: TargetStats): void {
    const { stats } = this;
    stats.target = t;
    stats.stream_identical = t.bytes_out === stats.bytes_in && t.qemu_crc32 === stats.qemu_crc32;
    if (!stats.stream_identical)
      throw new Error(
        `the target handed on ${t.bytes_out} bytes (CRC-32 ${t.qemu_crc32}), QEMU sent ${stats.bytes_in} ` +
          `(CRC-32 ${stats.qemu_crc32})`,
      );
    this.finished = true;
    clearInterval(this.sampler);
    this.sample(t.bytes_out);
    this.peer.end();
    this.resolve();
  }
}
