import type { Socket } from 'node:net';
import { FrameType, FrameReader, encodeFrame, frameName, type Frame } from './channel.js';
import { BLOCK, type BlockImage } from './nasImage.js';
import { Decoder, type DecodedItem } from '../codec/decoder.js';
import type { TargetAgentFlags, TargetStats } from './protocol.js';
import { SourcePages, type RefPart } from './sourcePages.js';
import { NasReader } from './nasReader.js';
import { AckWindow } from './ackWindow.js';
import { ReadGatherer } from './readGatherer.js';
import { QemuWriter } from './qemuWriter.js';

/** What a pump takes from the target agent's options. */
export type TargetPumpOptions = Pick<TargetAgentFlags, 'concurrency' | 'maxReadBlocks' | 'nasTimeoutMs'> & {
  /** Bytes of decoded-but-unwritten stream held before the agent stops reading from the source. */
  maxBufferedBytes?: number;
};

/**
 * One migration's stream, source agent to destination QEMU: gathered reads (ReadGatherer) are
 * decoded into batches; each batch's refs are read from the NAS (NasReader) or the source
 * (SourcePages), acknowledged once verified (AckWindow), and the batches written to QEMU in order
 * (QemuWriter), which checks the stream's CRC-32 at the end.
 */
export class TargetPump {
  private readonly decoder: Decoder;
  private readonly frames = new FrameReader();
  private readonly source: SourcePages;
  private readonly nas: NasReader;
  private readonly acks: AckWindow;
  private readonly writer: QemuWriter;
  private readonly gatherer: ReadGatherer;
  /** The source agent's connection (the accepted socket's handle, re-wrapped by the gatherer). */
  private readonly peer: Socket;
  private refSeq = 0;
  private sawEnd = false;
  private readonly failed: Promise<never>;
  private readonly fail: (e: Error) => void;

  constructor(
    accepted: Socket,
    private readonly qemu: Socket,
    private readonly image: BlockImage,
    o: TargetPumpOptions,
    private readonly stats: TargetStats,
    private readonly log: (l: string) => void,
  ) {
    let fail!: (e: Error) => void;
    this.failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    this.failed.catch(() => undefined);
    this.fail = fail;
    // reads land in reused slabs; a full one is reused once the batches that refer to it are written
    this.gatherer = new ReadGatherer(
      accepted,
      stats,
      (chunks) => this.decodeBatch(chunks),
      fail,
      (slab) => this.writer.afterQueued(() => this.gatherer.release(slab)),
    );
    const peer = (this.peer = this.gatherer.socket);
    const concurrency = o.concurrency ?? 64;
    this.decoder = new Decoder({ imageBlocks: image.blocks });
    this.source = new SourcePages(peer, stats, log);
    this.nas = new NasReader(image, this.source, stats, {
      concurrency,
      maxRun: Math.max(1, o.maxReadBlocks ?? 64),
      timeoutMs: o.nasTimeoutMs ?? 2000,
    });
    this.acks = new AckWindow(peer);
    this.writer = new QemuWriter(qemu, peer, this.nas, stats, o.maxBufferedBytes ?? 32 * 1024 * 1024, fail);
  }

  async run(onStreamDone: () => void): Promise<void> {
    const { peer, qemu, stats, fail, writer } = this;
    qemu.on('error', (e) => fail(new Error(`destination QEMU socket: ${e.message}`)));
    qemu.on('close', () => {
      if (!writer.ended) fail(new Error('destination QEMU closed the migration socket early'));
    });
    peer.on('error', (e) => fail(new Error(`source agent connection: ${e.message}`)));
    peer.on('close', () => {
      if (!writer.ended) fail(new Error('source agent connection closed before the end of the stream'));
    });
    const { gatherer } = this;
    await Promise.race([writer.run(), this.failed]).catch(async (err) => {
      gatherer.stop();
      writer.stop();
      this.acks.stop();
      peer.end(encodeFrame(FrameType.ERROR, Buffer.from((err as Error).message)));
      qemu.destroy();
      throw err;
    });
    writer.stop();
    this.acks.stop();
    stats.last_byte_to_qemu_at = Date.now();
    await new Promise<void>((resolve) => qemu.end(resolve));
    qemu.destroy();
    this.log(
      `stream complete: ${stats.bytes_in} bytes in, ${stats.bytes_out} bytes to QEMU, ${stats.ref_pages} pages from ` +
        `the NAS, ${stats.fallback_pages} from the source`,
    );
    stats.nas_read_bytes = this.image.bytesRead;
    onStreamDone();
    await new Promise<void>((resolve) =>
      peer.end(encodeFrame(FrameType.DONE, Buffer.from(JSON.stringify({ ...stats, status: 'completed' }))), resolve),
    );
  }

  /** One gathered batch of reads: its frames decoded, the items queued for QEMU. */
  private decodeBatch(chunks: Buffer[]): void {
    try {
      const items: DecodedItem[] = [];
      for (const d of chunks) for (const f of this.frames.push(d)) this.onFrame(f, items);
      this.addBatch(items);
      if (this.sawEnd) this.writer.endOfStream(this.decoder.trailer?.crc);
      // an unfinished frame is copied: the slab the batch came from is reused once its batches are written
      this.frames.detach();
      this.decoder.detachInput();
    } finally {
      this.stats.channel_bytes = this.frames.offset;
    }
  }

  private onFrame(f: Frame, items: DecodedItem[]): void {
    switch (f.type) {
      case FrameType.DATA:
        this.stats.bytes_in += f.payload.length;
        for (const it of this.decoder.push(f.payload)) items.push(it);
        break;
      case FrameType.END:
        for (const it of this.decoder.end()) items.push(it);
        this.sawEnd = true;
        this.stats.end_seen = true;
        break;
      case FrameType.PAGE:
        this.source.receive(f.payload);
        break;
      case FrameType.ERROR:
        throw new Error(`source agent: ${f.payload.toString('utf8')}`);
      default:
        throw new Error(`unexpected ${frameName(f.type)} frame from the source agent`);
    }
  }

  /** The items of one batch: literals as they are, refs read from the NAS; queued for QEMU in stream order. */
  private addBatch(items: DecodedItem[]): void {
    if (items.length === 0) return;
    const parts: (Buffer | RefPart)[] = [];
    const refs: RefPart[] = [];
    let bytes = 0;
    for (const it of items) {
      if (it.kind === 'bytes') {
        parts.push(it.data);
        bytes += it.data.length;
      } else {
        const r: RefPart = { block: it.block, hash: it.hash, seq: this.refSeq++ };
        parts.push(r);
        refs.push(r);
        bytes += BLOCK;
      }
    }
    const runBuffers: Buffer[] = [];
    const reads = this.nas.readRefs(refs, runBuffers);
    const ready = Promise.all(reads).then(() => undefined);
    ready.catch((e: Error) => this.fail(e));
    if (refs.length) this.acks.track(refs.length, ready);
    this.stats.ref_pages += refs.length;
    this.writer.enqueue({ parts, bytes, ready, runBuffers }, this.source.awaited > 0);
  }
}
