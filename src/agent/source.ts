import { createServer, type Socket } from 'node:net';
import { writeFile, rm } from 'node:fs/promises';
import { appendFileSync, writeFileSync, renameSync } from 'node:fs';
import {
  FrameType,
  encodeFrame,
  readFrames,
  newNonce,
  readSecret,
  authPayload,
  checkAuthOk,
  u64,
  readU64,
  frameName,
  PROTOCOL_VERSION,
  type Frame,
} from './channel.js';
import { openNasImage, type BlockImage } from './nasImage.js';
import { Encoder, type PageRef } from '../codec/encoder.js';
import type { BlockIndex } from '../codec/blockindex.js';
import { scanImageIndex } from './scanIndex.js';
import { PAGE_SIZE } from '../codec/bytes.js';
import { sha256Native } from '../codec/sha256.js';
import { TraceIndexer } from './indexer.js';
import { warmUpCodec } from './warmup.js';
import { listenOn, connectTo, describe } from './target.js';
import type { Endpoint } from './endpoint.js';
import { cpuSecondsSince } from './cpu.js';
import { SlabWriter } from './slabWriter.js';

export interface SourceAgentOptions {
  listen: Endpoint;
  target: Endpoint;
  /** The guest's disk image: a path (a kernel NFS mount) or nfs://HOST/EXPORT/PATH (the agent's own NFS client). */
  nasImage: string;
  /** Deadline of one NAS read (nfs:// images); a NAS slower than this counts as unreachable. */
  nasTimeoutMs?: number;
  secretFile: string;
  label: string;
  /** Keep the index current from QEMU's block trace log (I/O monitoring) … */
  traceLog?: string;
  /** … or hash the whole image once (the oracle). */
  scan?: boolean;
  statsJson?: string;
  /** Index status, written atomically: while following the trace log, or once the scan is done. */
  statusFile?: string;
  /** Pages sent by reference and kept until the target confirms them (the fallback window). */
  retentionPages?: number;
  /**
   * QEMU stream bytes read from QEMU and not yet handed to the destination QEMU (the target reports
   * DELIVERED): QEMU is read only while fewer are in the pipeline (default 8 MiB). So QEMU's own
   * bandwidth estimate is the pipeline's delivery rate, and at switchover at most one window is
   * still in the agents, the link and the NAS reads.
   */
  streamWindowBytes?: number;
  /** Run the hot paths over a synthetic stream before QEMU connects (default true; off for fuzzing). */
  warmUp?: boolean;
  log?: (line: string) => void;
}

export interface SourceStats {
  role: 'source';
  status: 'completed' | 'failed';
  error?: string;
  bytes_in: number;
  bytes_out: number;
  /** CRC-32 of the QEMU stream received (the target reports the same of what it handed on). */
  qemu_crc32: number;
  /** The target handed the destination QEMU exactly the bytes the source QEMU sent (length and CRC-32). */
  stream_identical?: boolean;
  full_pages: number;
  ref_pages: number;
  zero_pages: number;
  /** Pages hashed with SHA-256: those whose fingerprint some indexed block shares (the rest cannot be on the NAS). */
  hashed_pages: number;
  index_blocks: number;
  index_build_ms: number;
  index_nas_read_bytes: number;
  fallback_requests: number;
  /** The target said the NAS was unreachable: pages went in full from then on (ms after the stream started). */
  nas_down_after_ms?: number;
  /** Frames read from the target after authentication (ACK, NEED, DONE, ...). */
  backchannel_frames: number;
  /** The END frame went out: QEMU's whole stream was sent. */
  end_sent: boolean;
  retention_peak_pages: number;
  /** The stream window (bytes) and how often it stopped QEMU (reading paused until the target caught up). */
  stream_window_bytes: number;
  stream_window_waits: number;
  /** Most QEMU stream bytes in the pipeline at once (read from QEMU, not yet handed to the destination QEMU). */
  stream_window_peak_bytes: number;
  /** Start-up run of the hot paths over a synthetic stream (agent/warmup.ts), before QEMU connects. */
  warmup_ms: number;
  /** SHA-256 through native/pofhot.c (false: Node's crypto, same hashes, ~2x the CPU). */
  native_sha256: boolean;
  cpu_s: number;
  /** CPU seconds from QEMU's connection (the migration's start) to the end of the stream. */
  migration_cpu_s?: number;
  elapsed_ms: number;
  migration_ms?: number;
  /** When the END frame (the stream's last byte) went to the link (ms since epoch). */
  last_byte_out_at?: number;
  target?: unknown;
}

const MAX_DATA_FRAME = 1024 * 1024;

/**
 * The source agent: QEMU migrates into it (unix or TCP); it replaces pages its index finds on the
 * NAS by references and streams the POF stream to the target agent. Every page sent by reference
 * is retained until the target acknowledges it, so a block that changed on the NAS can still be
 * delivered byte-exact; when the window is full the agent stops reading from QEMU (back-pressure).
 */
export async function runSourceAgent(o: SourceAgentOptions): Promise<SourceStats> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const secret = await readSecret(o.secretFile);
  const image = await openNasImage(o.nasImage, { timeoutMs: o.nasTimeoutMs });
  const stats: SourceStats = {
    role: 'source',
    status: 'failed',
    bytes_in: 0,
    bytes_out: 0,
    qemu_crc32: 0,
    full_pages: 0,
    ref_pages: 0,
    zero_pages: 0,
    hashed_pages: 0,
    index_blocks: 0,
    index_build_ms: 0,
    index_nas_read_bytes: 0,
    fallback_requests: 0,
    backchannel_frames: 0,
    end_sent: false,
    retention_peak_pages: 0,
    stream_window_bytes: streamWindowBytes(o),
    stream_window_waits: 0,
    stream_window_peak_bytes: 0,
    warmup_ms: 0,
    native_sha256: sha256Native,
    cpu_s: 0,
    elapsed_ms: 0,
  };
  let indexer: TraceIndexer | undefined;
  let index: BlockIndex;
  let scanReadBytes = 0;
  if (o.traceLog) {
    indexer = new TraceIndexer(o.traceLog, image, log);
    if (o.statusFile) {
      const file = o.statusFile;
      let last = '';
      indexer.onTick = (ix) => {
        const status = JSON.stringify({
          caught_up: ix.caughtUp,
          index_blocks: ix.index.size,
          trace_bytes: ix.traceBytes,
          busy_ms: Math.round(ix.busyMs),
          nas_read_bytes: ix.nasReadBytes,
        } satisfies IndexStatus);
        if (status === last) return;
        last = status;
        writeStatus(file, status);
      };
    }
    indexer.start();
    index = indexer.index;
  } else if (o.scan) {
    const r = await scanImageIndex(image);
    index = r.index;
    stats.index_build_ms = Math.round(r.buildMs);
    scanReadBytes = r.blocksRead * 4096;
    log(`scan index: ${r.indexBlocks} of ${r.imageBlocks} blocks in ${Math.round(r.buildMs)} ms`);
    if (o.statusFile)
      writeStatus(
        o.statusFile,
        JSON.stringify({
          caught_up: true,
          index_blocks: index.size,
          trace_bytes: 0,
          busy_ms: stats.index_build_ms,
          nas_read_bytes: scanReadBytes,
        } satisfies IndexStatus),
      );
  } else {
    throw new Error('the source agent needs --trace-log LOG or --index scan');
  }

  // the retention window is one ring of page slots (no allocation per page); QEMU is paused at
  // `retentionPages` unacknowledged refs, the slack covers the refs of the chunk being encoded.
  // Touched now, before QEMU connects, so the migration's first refs do not pay for page faults.
  const ring = Buffer.allocUnsafe((retentionPages(o) + 1024) * PAGE_SIZE).fill(0);
  if (o.warmUp !== false) stats.warmup_ms = Math.round(warmUpCodec());
  if (o.listen.kind === 'unix') await rm(o.listen.path, { force: true });
  let qemu: Socket | undefined;
  let peer: Socket | undefined;
  try {
    qemu = await new Promise<Socket>((resolve, reject) => {
      const server = createServer((s) => {
        server.close();
        resolve(s);
      });
      server.on('error', reject);
      listenOn(server, o.listen).then(() => log(`listening for QEMU on ${describe(o.listen)}`), reject);
    });
    const tMig = Date.now();
    const cpuMig = process.cpuUsage();
    log('QEMU connected; authenticating to the target agent');
    peer = await connectAuthenticated(o.target, secret, o.label, log);
    log('target agent authenticated');
    await stream(qemu, peer, ring, image, index, o, stats, log);
    stats.migration_ms = Date.now() - tMig;
    stats.migration_cpu_s = cpuSecondsSince(cpuMig);
    stats.status = 'completed';
  } catch (err) {
    stats.error = (err as Error).message;
    qemu?.destroy();
    peer?.destroy();
    throw err;
  } finally {
    await indexer?.stop();
    if (indexer) {
      stats.index_build_ms = Math.round(indexer.busyMs);
      stats.index_nas_read_bytes = indexer.nasReadBytes;
    } else {
      stats.index_nas_read_bytes = scanReadBytes;
    }
    stats.index_blocks = index.size;
    stats.hashed_pages = index.hashed;
    stats.cpu_s = cpuSecondsSince(cpu0);
    stats.elapsed_ms = Date.now() - t0;
    await image.close();
    if (o.listen.kind === 'unix') await rm(o.listen.path, { force: true }).catch(() => undefined);
    if (o.statsJson) await writeFile(o.statsJson, `${JSON.stringify(stats, null, 2)}\n`).catch(() => undefined);
  }
  return stats;
}

const retentionPages = (o: SourceAgentOptions): number => o.retentionPages ?? 16384;
const streamWindowBytes = (o: SourceAgentOptions): number => o.streamWindowBytes ?? 8 * 1024 * 1024;

/**
 * Connects to the target agent and authenticates. A target holding its most unauthenticated
 * connections closes new ones before HELLO (gate.ts): tried again for up to 10 s.
 */
async function connectAuthenticated(
  target: Endpoint,
  secret: Buffer,
  label: string,
  log: (l: string) => void,
): Promise<Socket> {
  const until = Date.now() + 10000;
  for (let attempt = 1; ; attempt++) {
    const peer = await connectTo(target);
    try {
      await handshake(peer, secret, label);
      return peer;
    } catch (err) {
      peer.destroy();
      if (!(err instanceof ClosedBeforeHelloError) || Date.now() > until) throw err;
      log(`${(err as Error).message} (busy?): trying again (${attempt})`);
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
    }
  }
}

/** The index status the runner waits on before `migrate` (written atomically). */
export interface IndexStatus {
  caught_up: boolean;
  index_blocks: number;
  trace_bytes: number;
  busy_ms: number;
  nas_read_bytes: number;
}

/** Writes a serialized IndexStatus so the runner never reads half a file. */
function writeStatus(file: string, status: string): void {
  writeFileSync(`${file}.tmp`, `${status}\n`);
  renameSync(`${file}.tmp`, file);
}

/** The target closed the connection before its HELLO: busy with other connections (gate.ts), worth another try. */
export class ClosedBeforeHelloError extends Error {}

/** HELLO → AUTH → AUTH_OK; resolves once both sides proved the per-run secret. */
export function handshake(peer: Socket, secret: Buffer, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const nonceS = newNonce();
    let nonceT: Buffer | undefined;
    let settled = false;
    const timer = setTimeout(() => finish(new Error('target agent did not complete the handshake within 10 s')), 10000);
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      peer.removeAllListeners('data');
      peer.removeListener('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onClose = () =>
      finish(
        nonceT
          ? new Error('target agent closed the connection during the handshake')
          : new ClosedBeforeHelloError('target agent closed the connection before its HELLO'),
      );
    peer.once('error', (e) => finish(new Error(`target agent connection: ${e.message}`)));
    peer.on('close', onClose);
    readFrames(
      peer,
      (f) => {
        if (f.type === FrameType.HELLO && !nonceT) {
          if (f.payload.length !== 33 || f.payload[0] !== PROTOCOL_VERSION)
            return finish(new Error(`target agent speaks protocol ${f.payload[0]}, not ${PROTOCOL_VERSION}`));
          nonceT = Buffer.from(f.payload.subarray(1));
          peer.write(encodeFrame(FrameType.AUTH, authPayload(secret, label, nonceT, nonceS)));
        } else if (f.type === FrameType.AUTH_OK && nonceT) {
          if (!checkAuthOk(secret, label, nonceS, nonceT, f.payload))
            return finish(new Error('target agent failed authentication (wrong secret or run)'));
          finish();
        } else if (f.type === FrameType.ERROR) {
          finish(new Error(`target agent refused us: ${f.payload.toString('utf8')}`));
        } else {
          finish(new Error(`unexpected ${frameName(f.type)} frame during the handshake`));
        }
      },
      (e) => finish(e),
    );
  });
}

async function stream(
  qemu: Socket,
  peer: Socket,
  ring: Buffer,
  image: BlockImage,
  index: BlockIndex,
  o: SourceAgentOptions,
  stats: SourceStats,
  log: (l: string) => void,
): Promise<void> {
  const retentionLimit = retentionPages(o);
  const ringPages = ring.length / PAGE_SIZE;
  let nextSeq = 0;
  let acked = 0;
  let nasDown = false;
  const tStream = Date.now();
  const lookup = (page: Buffer): PageRef | undefined => {
    if (nasDown) return undefined;
    const ref = index.lookup(page);
    if (ref) {
      if (nextSeq - acked >= ringPages)
        throw new Error(`retention window overflow: ${nextSeq - acked} unacknowledged refs`);
      ring.set(page, (nextSeq % ringPages) * PAGE_SIZE);
      nextSeq++;
      if (nextSeq - acked > stats.retention_peak_pages) stats.retention_peak_pages = nextSeq - acked;
    }
    return ref;
  };
  const unacked = () => nextSeq - acked;
  const windowBytes = streamWindowBytes(o);
  let delivered = 0;
  const inPipeline = () => stats.bytes_in - delivered;
  const encoder = new Encoder({ lookup, imageBlocks: image.blocks });

  return new Promise<void>((resolve, reject) => {
    let finished = false;
    const fail = (e: Error) => {
      if (finished) return;
      finished = true;
      peer.end(encodeFrame(FrameType.ERROR, Buffer.from(e.message)));
      qemu.destroy();
      reject(e);
    };
    /**
     * One DATA frame per ≤ 1 MiB of encoder output (not one per REF: fewer frames), the frame headers
     * and the encoder's buffers (views of QEMU's chunks, REF frames) copied into reused slabs: one
     * write per QEMU chunk costs less than a writev entry per 41-byte REF, and reused slabs cost no
     * page faults or garbage collection.
     */
    const out = new SlabWriter(peer);
    const header = Buffer.alloc(5);
    const send = (chunks: Buffer[]): boolean => {
      let total = 0;
      for (const c of chunks) total += c.length;
      if (total === 0) return true;
      let frameLeft = 0;
      let left = total;
      for (let c of chunks) {
        while (c.length > 0) {
          if (frameLeft === 0) {
            frameLeft = Math.min(left, MAX_DATA_FRAME);
            header[0] = FrameType.DATA;
            header.writeUInt32BE(frameLeft, 1);
            out.append(header);
          }
          const n = Math.min(c.length, frameLeft);
          out.append(n === c.length ? c : c.subarray(0, n));
          frameLeft -= n;
          left -= n;
          c = c.subarray(n);
        }
      }
      stats.bytes_out += total;
      return out.flush();
    };
    /** QEMU is read only while the link drains, the retention window has room and the stream window too. */
    const maybeResume = () => {
      if (!peer.writableNeedDrain && unacked() < retentionLimit && inPipeline() < windowBytes && qemu.isPaused())
        qemu.resume();
    };
    peer.on('drain', maybeResume);

    const tee = process.env.POFBENCH_AGENT_TEE;
    qemu.on('data', (chunk: Buffer) => {
      if (tee) appendFileSync(`${tee}/source-in.bin`, chunk);
      stats.bytes_in += chunk.length;
      try {
        // flush after every chunk: no bytes wait in the encoder while QEMU is quiet
        const ok = send([...encoder.push(chunk), ...encoder.flush()]);
        // the encoder's CRC of QEMU's bytes (what END carries): no second pass over the stream
        stats.qemu_crc32 = encoder.qemuCrc32;
        const pending = inPipeline();
        if (pending > stats.stream_window_peak_bytes) stats.stream_window_peak_bytes = pending;
        if (pending >= windowBytes && !qemu.isPaused()) stats.stream_window_waits++;
        if (!ok || unacked() >= retentionLimit || pending >= windowBytes) qemu.pause();
      } catch (err) {
        fail(err as Error);
      }
    });
    qemu.on('end', () => {
      try {
        send(encoder.end());
        const s = encoder.stats();
        stats.full_pages = s.fullPages;
        stats.ref_pages = s.refPages;
        stats.zero_pages = s.zeroPages;
        peer.write(encodeFrame(FrameType.END), () => {
          stats.last_byte_out_at = Date.now();
        });
        stats.end_sent = true;
        log(
          `QEMU stream ended: ${stats.bytes_in} bytes in, ${stats.bytes_out} out, ${s.refPages} pages by reference, ` +
            `${s.fullPages} in full`,
        );
      } catch (err) {
        fail(err as Error);
      }
    });
    qemu.on('error', (e) => fail(new Error(`source QEMU socket: ${e.message}`)));
    peer.on('error', (e) => fail(new Error(`target agent connection: ${e.message}`)));
    peer.on('close', () =>
      fail(new Error('target agent closed the connection before confirming the end of the stream')),
    );

    // a NEED per page at most: a target asking again and again would make us queue pages without end
    const served = new Set<number>();
    readFrames(
      peer,
      (f: Frame) => {
        stats.backchannel_frames++;
        try {
          switch (f.type) {
            case FrameType.ACK: {
              const upTo = readU64(f.payload);
              if (upTo < acked || upTo > nextSeq)
                throw new Error(`target acknowledged refs up to #${upTo}, outside ${acked}..${nextSeq}`);
              acked = upTo;
              for (const seq of served) if (seq < acked) served.delete(seq);
              maybeResume();
              break;
            }
            case FrameType.DELIVERED: {
              const upTo = readU64(f.payload);
              if (upTo < delivered || upTo > stats.bytes_in)
                throw new Error(
                  `target reported ${upTo} stream bytes delivered, outside ${delivered}..${stats.bytes_in}`,
                );
              delivered = upTo;
              maybeResume();
              break;
            }
            case FrameType.NEED: {
              const seq = readU64(f.payload);
              if (seq < acked || seq >= nextSeq)
                throw new Error(
                  `target asked for page #${seq}, which is outside the retention window (${acked}..${nextSeq - 1})`,
                );
              if (served.has(seq)) throw new Error(`target asked for page #${seq} twice`);
              served.add(seq);
              const slot = (seq % ringPages) * PAGE_SIZE;
              stats.fallback_requests++;
              peer.write(encodeFrame(FrameType.PAGE, Buffer.concat([u64(seq), ring.subarray(slot, slot + PAGE_SIZE)])));
              break;
            }
            case FrameType.NAS_DOWN:
              if (!nasDown) log('the target cannot read the NAS: sending every page in full from now on');
              nasDown = true;
              stats.nas_down_after_ms ??= Date.now() - tStream;
              break;
            case FrameType.DONE:
              stats.target = JSON.parse(f.payload.toString('utf8'));
              {
                const t = stats.target as { bytes_out?: number; qemu_crc32?: number };
                stats.stream_identical = t.bytes_out === stats.bytes_in && t.qemu_crc32 === stats.qemu_crc32;
                if (!stats.stream_identical)
                  throw new Error(
                    `the target handed on ${t.bytes_out} bytes (CRC-32 ${t.qemu_crc32}), QEMU sent ${stats.bytes_in} ` +
                      `(CRC-32 ${stats.qemu_crc32})`,
                  );
              }
              finished = true;
              peer.end();
              resolve();
              break;
            case FrameType.ERROR:
              throw new Error(`target agent: ${f.payload.toString('utf8')}`);
            default:
              throw new Error(`unexpected ${frameName(f.type)} frame from the target agent`);
          }
        } catch (err) {
          fail(err as Error);
        }
      },
      fail,
    );
  });
}
