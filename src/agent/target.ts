import { createServer, connect, type Socket, type Server, type NetConnectOpts } from 'node:net';
import { sha256Matches, sha256Native } from '../codec/sha256.js';
import { writeFile } from 'node:fs/promises';
import { crc32 } from '../codec/crc32.js';
import { appendFileSync } from 'node:fs';
import { FrameType, FrameReader, encodeFrame, readSecret, u64, readU64, frameName, type Frame } from './channel.js';
import { admitSource, type Gate, type Refusal } from './gate.js';
import { openNasImage, BLOCK, type BlockImage } from './nasImage.js';
import { Decoder, type DecodedItem } from '../codec/decoder.js';
import { parseEndpoint, type Endpoint } from './endpoint.js';
import { warmUpCodec } from './warmup.js';
import { cpuSecondsSince } from './cpu.js';
import { SlabWriter } from './slabWriter.js';

export interface TargetAgentOptions {
  listen: Endpoint;
  qemu: Endpoint;
  /** The guest's disk image: a path (a kernel NFS mount) or nfs://HOST/EXPORT/PATH (the agent's own NFS client). */
  nasImage: string;
  /** Deadline of one NAS read (nfs:// images); a NAS slower than this counts as unreachable. */
  nasTimeoutMs?: number;
  secretFile: string;
  label: string;
  statsJson?: string;
  /** NAS reads in flight, so NAS latency does not stall the stream. */
  concurrency?: number;
  /** Most blocks per NAS request: refs to consecutive blocks that arrive together are read at once. */
  maxReadBlocks?: number;
  /** Bytes of decoded-but-unwritten stream held before the agent stops reading from the source. */
  maxBufferedBytes?: number;
  /** Unauthenticated connections held at once (gate.ts; default 4), and how long each may take (default 3 s). */
  maxPending?: number;
  handshakeMs?: number;
  /** Run the hot paths over a synthetic stream before listening (default true; off for fuzzing). */
  warmUp?: boolean;
  /** Each connection refused before authentication, and how far it got. */
  onRefused?: (r: Refusal) => void;
  /** Stops waiting for the source (the agent then fails): for in-process runs that must not linger. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface TargetStats {
  role: 'target';
  status: 'completed' | 'failed';
  error?: string;
  bytes_in: number;
  bytes_out: number;
  /** CRC-32 of the stream handed to the destination QEMU. */
  qemu_crc32: number;
  ref_pages: number;
  nas_read_bytes: number;
  /** NAS read requests (a batch's refs sorted by block: one request per run of adjacent blocks). */
  nas_reads: number;
  verify_mismatches: number;
  fallback_pages: number;
  /** Referenced pages fetched from the source because the NAS could not be read in time (graceful degradation). */
  nas_unavailable_pages: number;
  /** The first NAS failure, when there was one (the source then sent every page in full). */
  nas_error?: string;
  refused_peers: number;
  /** Bytes of agent-channel frames parsed after authentication (headers included). */
  channel_bytes: number;
  /** The END frame was reached and the stream decoded to its end (the CRC check comes after). */
  end_seen: boolean;
  /** SHA-256 through native/pofhot.c (false: Node's crypto, same hashes, ~2x the CPU). */
  native_sha256: boolean;
  cpu_s: number;
  /** CPU seconds from the source agent's authentication (the migration's start) to the end of the stream. */
  migration_cpu_s?: number;
  elapsed_ms: number;
  /** Reads from the source agent's connection, and the batches they were decoded in. */
  socket_reads: number;
  batches: number;
  /** Start-up run of the hot paths over a synthetic stream (agent/warmup.ts), before listening. */
  warmup_ms: number;
  /** When the destination QEMU was handed the stream's last byte (ms since epoch). */
  last_byte_to_qemu_at?: number;
}

/** Reads from the source are decoded together when they arrive within this long, or add up to this much. */
const COALESCE_MS = 1;
const COALESCE_BYTES = 256 * 1024;
const DELIVERED_EVERY = 512 * 1024;

/**
 * The target agent: authenticates the source agent, then turns the POF stream back into the exact
 * QEMU stream, reading referenced blocks from its NAS view (verified by hash; on mismatch the
 * source sends the page from its retention window), and feeds the destination QEMU. Exits after
 * one migration. Memory is bounded: at most `maxBufferedBytes` of pending output plus
 * `concurrency` NAS reads; beyond that the TCP socket is paused (back-pressure to the source).
 */
export async function runTargetAgent(o: TargetAgentOptions): Promise<TargetStats> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const secret = await readSecret(o.secretFile);
  const image = await openNasImage(o.nasImage, { timeoutMs: o.nasTimeoutMs });
  const stats: TargetStats = {
    role: 'target',
    status: 'failed',
    bytes_in: 0,
    bytes_out: 0,
    qemu_crc32: 0,
    ref_pages: 0,
    nas_read_bytes: 0,
    nas_reads: 0,
    verify_mismatches: 0,
    fallback_pages: 0,
    nas_unavailable_pages: 0,
    refused_peers: 0,
    channel_bytes: 0,
    end_seen: false,
    native_sha256: sha256Native,
    cpu_s: 0,
    elapsed_ms: 0,
    socket_reads: 0,
    batches: 0,
    warmup_ms: 0,
  };
  const concurrency = o.concurrency ?? 64;
  const maxBuffered = o.maxBufferedBytes ?? 32 * 1024 * 1024;

  if (o.warmUp !== false) stats.warmup_ms = Math.round(warmUpCodec());

  let server: Server | undefined;
  let gate: Gate | undefined;
  try {
    // one authenticated peer per run; everyone else is refused before any byte reaches QEMU
    const srv = createServer();
    server = srv;
    const serverFailed = new Promise<never>((_, reject) => {
      srv.on('error', reject);
      o.signal?.addEventListener('abort', () => reject(new Error('stopped before a source authenticated')));
    });
    serverFailed.catch(() => undefined);
    gate = admitSource(srv, {
      secret,
      label: o.label,
      maxPending: o.maxPending,
      handshakeMs: o.handshakeMs,
      log,
      onRefused: (r) => {
        stats.refused_peers++;
        o.onRefused?.(r);
      },
    });
    await listenOn(srv, o.listen);
    log(`listening on ${describe(o.listen)}`);
    const peer = await Promise.race([gate.peer, serverFailed]);
    srv.close();
    gate.close();
    log('source agent authenticated; connecting to the destination QEMU');
    const cpuMig = process.cpuUsage();
    const qemu = await connectTo(o.qemu);
    await pump(peer, qemu, image, o, stats, concurrency, maxBuffered, log, () => {
      stats.migration_cpu_s = cpuSecondsSince(cpuMig);
    });
    stats.status = 'completed';
  } catch (err) {
    stats.error = (err as Error).message;
    throw err;
  } finally {
    gate?.close();
    server?.close();
    stats.nas_read_bytes = image.bytesRead;
    stats.cpu_s = cpuSecondsSince(cpu0);
    stats.elapsed_ms = Date.now() - t0;
    await image.close();
    if (o.statsJson) await writeFile(o.statsJson, `${JSON.stringify(stats, null, 2)}\n`).catch(() => undefined);
  }
  return stats;
}

/** A referenced page of a batch: where it comes from and, once read and verified, its bytes. */
interface RefPart {
  block: number;
  hash: Buffer;
  seq: number;
  page?: Buffer;
}
/** Decoded items of one socket read, in stream order; written to QEMU in one write once every page is in. */
interface Batch {
  parts: (Buffer | RefPart)[];
  bytes: number;
  ready: Promise<void>;
  runBuffers: Buffer[];
}

async function pump(
  peer: Socket,
  qemu: Socket,
  image: BlockImage,
  o: TargetAgentOptions,
  stats: TargetStats,
  concurrency: number,
  maxBuffered: number,
  log: (l: string) => void,
  onStreamDone: () => void,
): Promise<void> {
  const decoder = new Decoder({ imageBlocks: image.blocks });
  const frames = new FrameReader();
  const batches: Batch[] = [];
  let bufferedBytes = 0;
  let refSeq = 0;
  let verifiedRefs = 0;
  let ackedRefs = 0;
  /**
   * Refs per batch, in stream order, until verified. A ref is acknowledged as soon as it and every
   * ref before it have their verified page in hand (from the NAS, or the source's fallback copy):
   * the source's copy is no longer needed then, even though the page has not reached QEMU yet.
   * Refs are tiny on the wire (41 bytes), so tens of thousands are in flight in socket buffers; an
   * ack that waited for the QEMU write would keep the source's retention window full.
   */
  const verifying: { refs: number; verified: boolean }[] = [];
  const ackVerified = () => {
    while (verifying.length > 0 && verifying[0].verified) verifiedRefs += verifying.shift()!.refs;
    if (verifiedRefs - ackedRefs >= 256 || (verifying.length === 0 && verifiedRefs > ackedRefs)) {
      ackedRefs = verifiedRefs;
      peer.write(encodeFrame(FrameType.ACK, u64(verifiedRefs)));
    }
  };
  let inFlight = 0;
  let ended = false;
  let sawEnd = false;
  const waitingPages = new Map<number, { resolve: (b: Buffer) => void; hash: Buffer }>();
  const readSlots: (() => void)[] = [];
  const maxRun = Math.max(1, o.maxReadBlocks ?? 64);
  const nasTimeoutMs = o.nasTimeoutMs ?? 2000;

  let fail!: (e: Error) => void;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => undefined);
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  qemu.on('error', (e) => fail(new Error(`destination QEMU socket: ${e.message}`)));
  qemu.on('close', () => {
    if (!ended) fail(new Error('destination QEMU closed the migration socket early'));
  });
  peer.on('error', (e) => fail(new Error(`source agent connection: ${e.message}`)));
  peer.on('close', () => {
    if (!ended) fail(new Error('source agent connection closed before the end of the stream'));
  });

  // read buffers are reused: fewer large allocations, far less GC
  const readPool: Buffer[] = [];
  const tee = process.env.POFBENCH_AGENT_TEE;

  /** Asks the source for the page of ref `seq` (its NAS block did not match the hash). */
  const fallback = (r: RefPart): Promise<Buffer> => {
    stats.verify_mismatches++;
    log(`block ${r.block} changed on the NAS (ref #${r.seq}); asking the source for the page`);
    return fromSource(r);
  };
  /**
   * The NAS failed (error, or no answer within its deadline): from now on every ref is served from
   * the source's retention window, and the source is told to send pages in full. The migration
   * goes on at the link's pace instead of failing.
   */
  let nasDown = false;
  const markNasDown = (err: Error) => {
    if (nasDown) return;
    nasDown = true;
    stats.nas_error = err.message;
    log(`NAS unavailable (${err.message}); pages come from the source from now on`);
    peer.write(encodeFrame(FrameType.NAS_DOWN));
  };
  const unavailable = (run: RefPart[]) =>
    Promise.all(
      run.map((r) => {
        stats.nas_unavailable_pages++;
        return fromSource(r).then((page) => {
          r.page = page;
        });
      }),
    );
  const fromSource = (r: RefPart): Promise<Buffer> => {
    return new Promise<Buffer>((resolve) => {
      waitingPages.set(r.seq, { resolve, hash: r.hash });
      peer.write(encodeFrame(FrameType.NEED, u64(r.seq)));
      // the source's answer travels behind the data already in flight: keep reading until it arrives
      if (peer.isPaused()) peer.resume();
    }).then((page) => {
      stats.fallback_pages++;
      return page;
    });
  };

  /**
   * Reads the blocks of a run of refs (sorted by block, adjacent or shared) with one NAS request,
   * bounded by `concurrency` requests in flight, and verifies the block of every ref against the
   * hash the source sent. Resolves to the (reusable) buffer the run was read into, once
   * every page of the run is in.
   */
  const readRun = async (run: RefPart[]): Promise<Buffer | undefined> => {
    if (nasDown) return void (await unavailable(run));
    const first = run[0].block;
    const count = run[run.length - 1].block - first + 1;
    while (inFlight >= concurrency) await new Promise<void>((r) => readSlots.push(r));
    inFlight++;
    let buf: Buffer;
    const slab = readPool.pop() ?? Buffer.allocUnsafe(maxRun * BLOCK);
    try {
      buf = await withDeadline(image.readBlocks(first, count, slab), nasTimeoutMs, 'NAS read');
    } catch (err) {
      readPool.push(slab);
      markNasDown(err as Error);
      return void (await unavailable(run));
    } finally {
      inFlight--;
      readSlots.shift()?.();
    }
    for (const r of run) {
      const at = (r.block - first) * BLOCK;
      const page = buf.subarray(at, at + BLOCK);
      r.page = sha256Matches(page, r.hash, 0) ? page : await fallback(r);
    }
    return slab;
  };

  /**
   * The NAS reads of a batch's refs: sorted by block, so that pages of one file (scattered over
   * guest RAM, contiguous on the disk) are read with a few requests of up to `maxRun` blocks rather
   * than one per page; refs to one block share its read.
   */
  const readRefs = (refs: RefPart[], runBuffers: Buffer[]): Promise<void>[] => {
    const sorted = refs.length > 1 ? [...refs].sort((a, b) => a.block - b.block) : refs;
    const reads: Promise<void>[] = [];
    for (let i = 0; i < sorted.length; ) {
      let j = i + 1;
      while (
        j < sorted.length &&
        sorted[j].block - sorted[i].block < maxRun &&
        sorted[j].block - sorted[j - 1].block <= 1
      )
        j++;
      reads.push(
        readRun(sorted.slice(i, j)).then((buf) => {
          if (buf) runBuffers.push(buf);
        }),
      );
      i = j;
    }
    stats.nas_reads += reads.length;
    return reads;
  };

  const addBatch = (items: DecodedItem[]) => {
    if (items.length === 0) return;
    const parts: (Buffer | RefPart)[] = [];
    const refs: RefPart[] = [];
    let bytes = 0;
    for (const it of items) {
      if (it.kind === 'bytes') {
        parts.push(it.data);
        bytes += it.data.length;
      } else {
        const r: RefPart = { block: it.block, hash: it.hash, seq: refSeq++ };
        parts.push(r);
        refs.push(r);
        bytes += BLOCK;
      }
    }
    const runBuffers: Buffer[] = [];
    const reads = readRefs(refs, runBuffers);
    const ready = Promise.all(reads).then(() => undefined);
    ready.catch((e: Error) => fail(e));
    if (refs.length) {
      const entry = { refs: refs.length, verified: false };
      verifying.push(entry);
      ready.then(
        () => {
          entry.verified = true;
          ackVerified();
        },
        () => undefined,
      );
    }
    stats.ref_pages += refs.length;
    batches.push({ parts, bytes, ready, runBuffers });
    bufferedBytes += bytes;
    // back-pressure: stop reading the source when the output is far behind — except while a fallback
    // page is awaited (its answer is queued behind data in flight; that is bounded by the source's
    // own back-pressure, and checked against a hard cap here)
    if (bufferedBytes > maxBuffered && waitingPages.size === 0) peer.pause();
    if (bufferedBytes > maxBuffered * 8)
      fail(
        new Error(
          `more than ${(maxBuffered * 8) >> 20} MiB buffered while waiting for a fallback page from the source`,
        ),
      );
    poke();
  };

  const onFrame = (f: Frame, items: DecodedItem[]) => {
    switch (f.type) {
      case FrameType.DATA:
        stats.bytes_in += f.payload.length;
        for (const it of decoder.push(f.payload)) items.push(it);
        break;
      case FrameType.END:
        for (const it of decoder.end()) items.push(it);
        sawEnd = true;
        stats.end_seen = true;
        break;
      case FrameType.PAGE: {
        const seq = readU64(f.payload, 0);
        const w = waitingPages.get(seq);
        const page = f.payload.subarray(8);
        if (!w) throw new Error(`source sent page #${seq} nobody asked for`);
        if (page.length !== BLOCK || !sha256Matches(page, w.hash, 0))
          throw new Error(`source's copy of page #${seq} does not match its reference hash`);
        waitingPages.delete(seq);
        w.resolve(Buffer.from(page));
        break;
      }
      case FrameType.ERROR:
        throw new Error(`source agent: ${f.payload.toString('utf8')}`);
      default:
        throw new Error(`unexpected ${frameName(f.type)} frame from the source agent`);
    }
  };
  let readerFailed = false;
  // Over a paced link the socket delivers a segment or two per read. Reads are gathered for up to
  // COALESCE_MS (or COALESCE_BYTES) and decoded as one batch: one QEMU write and coalesced NAS
  // reads per batch, instead of per-read overhead on every few KiB.
  let gathered: Buffer[] = [];
  let gatheredBytes = 0;
  let gatherTimer: NodeJS.Timeout | undefined;
  const processGathered = () => {
    if (gatherTimer) clearTimeout(gatherTimer);
    gatherTimer = undefined;
    if (readerFailed || gathered.length === 0) return;
    const chunks = gathered;
    gathered = [];
    gatheredBytes = 0;
    stats.batches++;
    try {
      const items: DecodedItem[] = [];
      for (const d of chunks) for (const f of frames.push(d)) onFrame(f, items);
      addBatch(items);
      if (sawEnd) poke();
    } catch (err) {
      readerFailed = true;
      fail(err as Error);
    } finally {
      stats.channel_bytes = frames.offset;
    }
  };
  peer.on('data', (d: Buffer) => {
    if (readerFailed) return;
    stats.socket_reads++;
    gathered.push(d);
    gatheredBytes += d.length;
    if (gatheredBytes >= COALESCE_BYTES) processGathered();
    else gatherTimer ??= setTimeout(processGathered, COALESCE_MS);
  });
  // a FIN from the source: decode what arrived before the connection is judged
  peer.on('end', processGathered);
  peer.resume();

  /**
   * One batch to QEMU: its literals and verified pages copied into reused 1 MiB slabs (a memcpy
   * costs less than a writev entry per 8-byte record header and per page), each slab's CRC-32 taken
   * in one call and written with one write. The NAS read buffers go back to the pool at once.
   */
  /**
   * DELIVERED: the QEMU stream bytes the destination QEMU's socket has taken, reported back at least
   * every DELIVERED_EVERY bytes and whenever nothing more is queued. The source reads QEMU only while
   * less than its stream window is undelivered: that keeps QEMU's bandwidth estimate (and so its
   * switchover decision) the pipeline's real rate, and the backlog at switchover one window.
   */
  let written = 0;
  let reported = 0;
  const reportDelivered = () => {
    if (written === reported || ended) return;
    if (written - reported < DELIVERED_EVERY && qemu.writableLength > 0) return;
    reported = written;
    peer.write(encodeFrame(FrameType.DELIVERED, u64(written)));
  };
  const out = new SlabWriter(qemu, {
    onSlab: (bytes) => {
      stats.qemu_crc32 = crc32(bytes, stats.qemu_crc32);
      if (tee) appendFileSync(`${tee}/target-out.bin`, bytes);
    },
    onWritten: (n) => {
      written += n;
      reportDelivered();
    },
  });
  const writeBatch = (batch: Batch) =>
    new Promise<void>((resolve) => {
      for (const p of batch.parts) out.append(Buffer.isBuffer(p) ? p : p.page!);
      for (const r of batch.runBuffers) if (readPool.length < concurrency) readPool.push(r);
      stats.bytes_out += batch.bytes;
      if (out.flush()) resolve();
      else qemu.once('drain', resolve);
    });

  // the writer: batches strictly in order, each once all its pages are in
  const writer = (async () => {
    for (;;) {
      if (batches.length === 0) {
        if (sawEnd) {
          // the END frame's CRC-32 covers the whole QEMU stream: checked over exactly what QEMU was handed
          const want = decoder.trailer?.crc;
          if (want !== undefined && want !== stats.qemu_crc32 >>> 0) {
            throw new Error(
              `the stream handed to the destination QEMU has CRC-32 ${stats.qemu_crc32 >>> 0}, the source's END ` +
                `frame says ${want} (${stats.bytes_out} bytes)`,
            );
          }
          break;
        }
        await new Promise<void>((r) => {
          wake = r;
        });
        continue;
      }
      const batch = batches[0];
      await batch.ready;
      batches.shift();
      await writeBatch(batch);
      bufferedBytes -= batch.bytes;
      if (bufferedBytes <= maxBuffered / 2 && peer.isPaused()) peer.resume();
    }
  })();
  await Promise.race([writer, failed]).catch(async (err) => {
    readerFailed = true;
    if (gatherTimer) clearTimeout(gatherTimer);
    peer.end(encodeFrame(FrameType.ERROR, Buffer.from((err as Error).message)));
    qemu.destroy();
    throw err;
  });
  ended = true;
  stats.last_byte_to_qemu_at = Date.now();
  await new Promise<void>((resolve) => qemu.end(resolve));
  qemu.destroy();
  log(
    `stream complete: ${stats.bytes_in} bytes in, ${stats.bytes_out} bytes to QEMU, ${stats.ref_pages} pages from ` +
      `the NAS, ${stats.fallback_pages} from the source`,
  );
  stats.nas_read_bytes = image.bytesRead;
  onStreamDone();
  await new Promise<void>((resolve) =>
    peer.end(encodeFrame(FrameType.DONE, Buffer.from(JSON.stringify({ ...stats, status: 'completed' }))), resolve),
  );
}

/** `p`, or an error once `ms` have passed (the operation itself may still finish later, unseen). */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export function listenOn(server: Server, ep: Endpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (ep.kind === 'unix') server.listen(ep.path, () => resolve());
    else server.listen(ep.port, ep.host, () => resolve());
  });
}

export function connectTo(ep: Endpoint, timeoutMs = 10000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // a write queue of a few MiB: a 64 KiB write does not report "full" (and pause the reader) every time
    const writableHighWaterMark = 4 * 1024 * 1024;
    // (a Duplex option net.Socket honours; @types/node does not list it on the connect options)
    const where: NetConnectOpts = ep.kind === 'unix' ? { path: ep.path } : { port: ep.port, host: ep.host };
    const s = connect(Object.assign(where, { writableHighWaterMark }));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect to ${describe(ep)} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.setNoDelay?.(true);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot connect to ${describe(ep)}: ${e.message}`));
    });
  });
}

export const describe = (ep: Endpoint): string =>
  ep.kind === 'unix' ? `unix:${ep.path}` : `tcp:${ep.host}:${ep.port}`;
export { parseEndpoint };
