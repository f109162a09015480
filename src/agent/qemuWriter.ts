import type { Socket } from 'node:net';
import { appendFileSync } from 'node:fs';
import { crc32 } from '../codec/crc32.js';
import { FrameType, encodeFrame, u64 } from './channel.js';
import type { TargetStats } from './protocol.js';
import type { RefPart } from './sourcePages.js';
import type { NasReader } from './nasReader.js';
import { SlabWriter } from './slabWriter.js';
import { LazyReport } from './lazyReport.js';
import { checkStreamCrc } from './streamCrc.js';

const DELIVERED_EVERY = 512 * 1024;
const DELIVERED_DELAY_MS = 5;

/** Decoded items of one gathered read, in stream order; written to QEMU in one write once every page is in. */
export interface Batch {
  parts: (Buffer | RefPart)[];
  bytes: number;
  ready: Promise<void>;
  /** The NAS read buffers the batch's pages are views of. */
  runBuffers: Buffer[];
  /** Called once the batch's bytes are copied out (its literals are views of read slabs to reuse then). */
  afterCopied?: (() => void)[];
}

/**
 * Feeds the destination QEMU: batches strictly in order, each once all its pages are in. Holds at
 * most `maxBuffered` bytes of decoded-but-unwritten stream before it pauses the source's socket
 * (back-pressure), resumes it at half that, and reports DELIVERED to the source.
 */
export class QemuWriter {
  private readonly batches: Batch[] = [];
  private bufferedBytes = 0;
  private wake: (() => void) | undefined;
  private streamEnd: { crc: number | undefined } | undefined;
  private written = 0;
  private reported = 0;
  private readonly out: SlabWriter;
  private readonly delivered = new LazyReport(DELIVERED_DELAY_MS, () => this.sendDelivered());
  /** The stream is complete and checked: no more DELIVERED, and the sockets may close. */
  ended = false;

  constructor(
    private readonly qemu: Socket,
    private readonly peer: Socket,
    private readonly nas: NasReader,
    private readonly stats: TargetStats,
    private readonly maxBuffered: number,
    private readonly fail: (e: Error) => void,
  ) {
    const tee = process.env.POFBENCH_AGENT_TEE;
    this.out = new SlabWriter(qemu, {
      onSlab: (bytes) => {
        stats.qemu_crc32 = crc32(bytes, stats.qemu_crc32);
        if (tee) appendFileSync(`${tee}/target-out.bin`, bytes);
      },
      onWritten: (n) => {
        this.written += n;
        this.reportDelivered();
      },
    });
  }

  /**
   * Queues a batch. Back-pressure: stops reading the source when the output is far behind — except
   * while a fallback page is awaited (its answer is queued behind data in flight; that is bounded by
   * the source's own back-pressure, and checked against a hard cap here).
   */
  enqueue(batch: Batch, awaitingSource: boolean): void {
    this.batches.push(batch);
    this.bufferedBytes += batch.bytes;
    if (this.bufferedBytes > this.maxBuffered && !awaitingSource) this.peer.pause();
    if (this.bufferedBytes > this.maxBuffered * 8)
      this.fail(
        new Error(
          `more than ${(this.maxBuffered * 8) >> 20} MiB buffered while waiting for a fallback page from the source`,
        ),
      );
    this.poke();
  }

  /**
   * Calls `cb` once every batch queued so far is copied out (at once when none is waiting): the
   * memory their literals are views of may be reused then.
   */
  afterQueued(cb: () => void): void {
    const last = this.batches.at(-1);
    if (last) (last.afterCopied ??= []).push(cb);
    else cb();
  }

  /** The END frame was decoded: once the queue is written, the stream is checked against `crc`. */
  endOfStream(crc: number | undefined): void {
    this.streamEnd = { crc };
    this.poke();
  }

  /** Writes batches until the end of the stream, then checks its CRC-32. */
  async run(): Promise<void> {
    for (;;) {
      if (this.batches.length === 0) {
        if (this.streamEnd) {
          checkStreamCrc(this.streamEnd.crc, this.stats.qemu_crc32, this.stats.bytes_out);
          break;
        }
        await new Promise<void>((r) => {
          this.wake = r;
        });
        continue;
      }
      const batch = this.batches[0];
      await batch.ready;
      this.batches.shift();
      await this.write(batch);
      this.bufferedBytes -= batch.bytes;
      if (this.bufferedBytes <= this.maxBuffered / 2 && this.peer.isPaused()) this.peer.resume();
    }
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /**
   * One batch to QEMU: its verified pages and literals (views of the read slabs) copied into reused
   * 1 MiB slabs (a memcpy of warm memory costs less than a writev entry per 8-byte record header and
   * per page, and frees the read slabs at once), each slab's CRC-32 taken in one call. The NAS read
   * buffers and the read slabs go back to their pools at once.
   */
  private write(batch: Batch): Promise<void> {
    return new Promise<void>((resolve) => {
      this.qemu.cork();
      for (const p of batch.parts) this.out.append(Buffer.isBuffer(p) ? p : p.page!);
      this.nas.release(batch.runBuffers);
      if (batch.afterCopied) for (const cb of batch.afterCopied) cb();
      this.stats.bytes_out += batch.bytes;
      const ok = this.out.flush();
      this.qemu.uncork();
      if (ok && !this.qemu.writableNeedDrain) resolve();
      else this.qemu.once('drain', resolve);
    });
  }

  /**
   * DELIVERED: the QEMU stream bytes the destination QEMU's socket has taken, reported back at once
   * every DELIVERED_EVERY bytes and otherwise within DELIVERED_DELAY_MS. The source reads QEMU only
   * while less than its stream window (8 MiB and more) is undelivered: that keeps QEMU's bandwidth
   * estimate (and so its switchover decision) the pipeline's real rate, and the backlog at
   * switchover one window.
   */
  private reportDelivered(): void {
    if (this.written === this.reported || this.ended) return;
    this.delivered.due(this.written - this.reported >= DELIVERED_EVERY);
  }

  private readonly sendDelivered = (): void => {
    if (this.written === this.reported || this.ended) return;
    this.reported = this.written;
    this.peer.write(encodeFrame(FrameType.DELIVERED, u64(this.written)));
  };

  /** The stream is complete (or failed): no more DELIVERED. */
  stop(): void {
    this.ended = true;
    this.delivered.stop();
  }
}
