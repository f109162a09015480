import { createServer, type Socket, type Server } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { readSecret } from './channel.js';
import { admitSource, type Gate, type Refusal } from './gate.js';
import { openNasImage } from './nasImage.js';
import { connectTo, describe, listenOn } from './endpoint.js';
import { warmUpPipeline } from './pipelineWarmup.js';
import { cpuSecondsSince } from './cpu.js';
import type { TargetAgentFlags, TargetStats } from './protocol.js';
import { newTargetStats } from './agentStats.js';
import { TargetPump } from './targetPump.js';

export interface TargetAgentOptions extends TargetAgentFlags {
  /** Bytes of decoded-but-unwritten stream held before the agent stops reading from the source. */
  maxBufferedBytes?: number;
  /** Run a synthetic migration through the pipeline before listening (default true; off for fuzzing). */
  warmUp?: boolean;
  /** Each connection refused before authentication, and how far it got. */
  onRefused?: (r: Refusal) => void;
  /** Stops waiting for the source (the agent then fails): for in-process runs that must not linger. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

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
  const stats = newTargetStats();
  if (o.warmUp !== false) stats.warmup_ms = Math.round(await warmUpPipeline({ pump: o }));
  try {
    const peer = await authenticatedSource(o, secret, stats, log);
    log('source agent authenticated; connecting to the destination QEMU');
    const cpuMig = process.cpuUsage();
    const qemu = await connectTo(o.qemu);
    await new TargetPump(peer, qemu, image, o, stats, log).run(() => {
      stats.migration_cpu_s = cpuSecondsSince(cpuMig);
    });
    stats.status = 'completed';
  } catch (err) {
    stats.error = (err as Error).message;
    throw err;
  } finally {
    stats.nas_read_bytes = image.bytesRead;
    stats.cpu_s = cpuSecondsSince(cpu0);
    stats.elapsed_ms = Date.now() - t0;
    await image.close();
    if (o.statsJson) await writeFile(o.statsJson, `${JSON.stringify(stats, null, 2)}\n`).catch(() => undefined);
  }
  return stats;
}

/** Listens until one peer has authenticated; everyone else is refused before any byte reaches QEMU. */
async function authenticatedSource(
  o: TargetAgentOptions,
  secret: Buffer,
  stats: TargetStats,
  log: (l: string) => void,
): Promise<Socket> {
  let server: Server | undefined;
  let gate: Gate | undefined;
  try {
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
    return await Promise.race([gate.peer, serverFailed]);
  } finally {
    server?.close();
    gate?.close();
  }
}
