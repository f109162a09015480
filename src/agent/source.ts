import { createServer, type Socket } from 'node:net';
import { writeFile, rm } from 'node:fs/promises';
import { writeFileSync, renameSync } from 'node:fs';
import { readSecret } from './channel.js';
import { openNasImage, type BlockImage } from './nasImage.js';
import type { BlockIndex } from '../codec/blockindex.js';
import { scanImageIndex } from './scanIndex.js';
import { TraceIndexer } from './indexer.js';
import { warmUpPipeline } from './pipelineWarmup.js';
import { newSourceStats } from './agentStats.js';
import { listenOn, describe, type Endpoint } from './endpoint.js';
import { cpuSecondsSince } from './cpu.js';
import type { IndexStatus, SourceAgentFlags, SourceStats } from './protocol.js';
import { connectAuthenticated } from './sourceHandshake.js';
import { RetentionRing } from './retentionRing.js';
import { SourceStream } from './sourceStream.js';

export interface SourceAgentOptions extends SourceAgentFlags {
  /** Deadline of one NAS read (nfs:// images); a NAS slower than this counts as unreachable. */
  nasTimeoutMs?: number;
  /** Run a synthetic migration through the pipeline before QEMU connects (default true; off for fuzzing). */
  warmUp?: boolean;
  log?: (line: string) => void;
}

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
  const stats = newSourceStats(streamWindowBytes(o));
  const ix = await openIndex(o, image, stats, log);
  // QEMU is paused at `retentionPages` unacknowledged refs
  const ring = new RetentionRing(retentionPages(o));
  if (o.warmUp !== false) {
    stats.warmup_ms = Math.round(await warmUpPipeline({ stream: { windowBytes: streamWindowBytes(o) } }));
  }
  if (o.listen.kind === 'unix') await rm(o.listen.path, { force: true });
  let qemu: Socket | undefined;
  let peer: Socket | undefined;
  try {
    qemu = await acceptQemu(o.listen, log);
    const tMig = Date.now();
    const cpuMig = process.cpuUsage();
    log('QEMU connected; authenticating to the target agent');
    peer = await connectAuthenticated(o.target, secret, o.label, log);
    log('target agent authenticated');
    const streamOptions = {
      retentionLimit: retentionPages(o),
      windowBytes: streamWindowBytes(o),
      imageBlocks: image.blocks,
    };
    await new SourceStream(qemu, peer, ring, ix.index, streamOptions, stats, log).run();
    stats.migration_ms = Date.now() - tMig;
    stats.migration_cpu_s = cpuSecondsSince(cpuMig);
    stats.status = 'completed';
  } catch (err) {
    stats.error = (err as Error).message;
    qemu?.destroy();
    peer?.destroy();
    throw err;
  } finally {
    await ix.indexer?.stop();
    stats.index_build_ms = ix.indexer ? Math.round(ix.indexer.busyMs) : stats.index_build_ms;
    stats.index_nas_read_bytes = ix.indexer ? ix.indexer.nasReadBytes : ix.scanReadBytes;
    stats.index_blocks = ix.index.size;
    stats.hashed_pages = ix.index.hashed;
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

/** The source agent's index, and what keeps it current (the trace indexer) or built it (the scan). */
interface OpenIndex {
  index: BlockIndex;
  indexer?: TraceIndexer;
  scanReadBytes: number;
}

/**
 * Follows the trace log (the indexer keeps the index current, its status in `statusFile` while it
 * runs), or hashes the whole image once (then the status says caught up).
 */
async function openIndex(
  o: SourceAgentOptions,
  image: BlockImage,
  stats: SourceStats,
  log: (l: string) => void,
): Promise<OpenIndex> {
  if (o.index.mode === 'trace') {
    const indexer = new TraceIndexer(o.index.traceLog, image, log);
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
    return { index: indexer.index, indexer, scanReadBytes: 0 };
  }
  const r = await scanImageIndex(image);
  stats.index_build_ms = Math.round(r.buildMs);
  const scanReadBytes = r.blocksRead * 4096;
  log(`scan index: ${r.indexBlocks} of ${r.imageBlocks} blocks in ${Math.round(r.buildMs)} ms`);
  if (o.statusFile)
    writeStatus(
      o.statusFile,
      JSON.stringify({
        caught_up: true,
        index_blocks: r.index.size,
        trace_bytes: 0,
        busy_ms: stats.index_build_ms,
        nas_read_bytes: scanReadBytes,
      } satisfies IndexStatus),
    );
  return { index: r.index, scanReadBytes };
}

/** Listens until the source QEMU connects (one connection; the listener closes then). */
function acceptQemu(listen: Endpoint, log: (l: string) => void): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    // paused: the stream reads it into one reused buffer (readIntoReusedBuffer), nothing before
    const server = createServer({ pauseOnConnect: true }, (s) => {
      server.close();
      resolve(s);
    });
    server.on('error', reject);
    listenOn(server, listen).then(() => log(`listening for QEMU on ${describe(listen)}`), reject);
  });
}

/** Writes a serialized IndexStatus so the controller never reads half a file. */
function writeStatus(file: string, status: string): void {
  writeFileSync(`${file}.tmp`, `${status}\n`);
  renameSync(`${file}.tmp`, file);
}
