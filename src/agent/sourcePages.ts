import type { Socket } from 'node:net';
import { sha256Matches } from '../codec/sha256.js';
import { FrameType, encodeFrame, readU64, u64 } from './channel.js';
import { BLOCK } from './nasImage.js';
import type { TargetStats } from './protocol.js';

/** A referenced page of a batch: where it comes from and, once read and verified, its bytes. */
export interface RefPart {
  block: number;
  hash: Buffer;
  seq: number;
  page?: Buffer;
}

/**
 * The target's side of the fallback protocol: pages it cannot take from the NAS are asked of the
 * source (NEED; the source answers PAGE from its retention window). That happens for a block that
 * changed on the NAS (its hash does not match the ref's), and for every ref once the NAS failed
 * (error, or no answer within its deadline): then the source is told (NAS_DOWN) to send pages in
 * full from now on, and the migration goes on at the link's pace instead of failing.
 */
export class SourcePages {
  private readonly waiting = new Map<number, { resolve: (b: Buffer) => void; hash: Buffer }>();
  /** The NAS failed once: every ref from now on is served by the source. */
  nasDown = false;

  constructor(
    private readonly peer: Socket,
    private readonly stats: TargetStats,
    private readonly log: (l: string) => void,
  ) {}

  /** Pages asked for and not yet received. */
  get awaited(): number {
    return this.waiting.size;
  }

  /** Asks the source for the page of ref `r` (its NAS block did not match the hash). */
  mismatch(r: RefPart): Promise<Buffer> {
    this.stats.verify_mismatches++;
    this.log(`block ${r.block} changed on the NAS (ref #${r.seq}); asking the source for the page`);
    return this.request(r);
  }

  /** The NAS failed: says so to the source (once), which sends pages in full from then on. */
  markNasDown(err: Error): void {
    if (this.nasDown) return;
    this.nasDown = true;
    this.stats.nas_error = err.message;
    this.log(`NAS unavailable (${err.message}); pages come from the source from now on`);
    this.peer.write(encodeFrame(FrameType.NAS_DOWN));
  }

  /** Every page of `run` from the source (the NAS is down). */
  unavailable(run: RefPart[]): Promise<unknown> {
    return Promise.all(
      run.map((r) => {
        this.stats.nas_unavailable_pages++;
        return this.request(r).then((page) => {
          r.page = page;
        });
      }),
    );
  }

  private request(r: RefPart): Promise<Buffer> {
    return new Promise<Buffer>((resolve) => {
      this.waiting.set(r.seq, { resolve, hash: r.hash });
      this.peer.write(encodeFrame(FrameType.NEED, u64(r.seq)));
      // the source's answer travels behind the data already in flight: keep reading until it arrives
      if (this.peer.isPaused()) this.peer.resume();
    }).then((page) => {
      this.stats.fallback_pages++;
      return page;
    });
  }

  /** A PAGE frame's payload (u64 seq, page): checked against the ref's hash, handed to whoever asked. */
  receive(payload: Buffer): void {
    const seq = readU64(payload, 0);
    const w = this.waiting.get(seq);
    const page = payload.subarray(8);
    if (!w) throw new Error(`source sent page #${seq} nobody asked for`);
    if (page.length !== BLOCK || !sha256Matches(page, w.hash, 0))
      throw new Error(`source's copy of page #${seq} does not match its reference hash`);
    this.waiting.delete(seq);
    w.resolve(Buffer.from(page));
  }
}
