import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FINGERPRINT_OFFSETS } from '../codec/blockindex.js';
import { PAGE_SIZE } from '../codec/bytes.js';
import { synthStream, type SynthPage } from '../codec/synth.js';
import { newSourceStats, newTargetStats } from './agentStats.js';
import { openNasImage } from './nasImage.js';
import { RetentionRing } from './retentionRing.js';
import { scanImageIndex } from './scanIndex.js';
import { SourceStream, type SourceStreamOptions } from './sourceStream.js';
import { TargetPump, type TargetPumpOptions } from './targetPump.js';

/** Stream pages pushed through the pipeline at start-up: V8 optimizes the hot paths after ~30 MB. */
const WARMUP_PAGES = 8192; // 32 MiB
const DISK_BLOCKS = 256;
const DEADLINE_MS = 60_000;

/** Retention of the warm-up's own ring: small, so that it wraps and pauses QEMU as a live one does. */
const RETENTION_PAGES = 1024;

export interface PipelineWarmupOptions {
  /** The live stream's window (and a retention limit other than RETENTION_PAGES: tests). */
  stream?: Partial<Omit<SourceStreamOptions, 'imageBlocks'>>;
  /** The live pump's options (NAS read concurrency, run length, buffering). */
  pump?: TargetPumpOptions;
}

/**
 * Runs one migration through this process's own pipeline before the agent serves the real one: a
 * synthetic QEMU stream over a unix socket into the live `SourceStream` (the index a scan of a
 * synthetic disk image, as the scan index is built), over a second into the live `TargetPump`
 * (refs read from that image and verified), whose output a third socket counts and drops. V8 then
 * compiles the hot paths with the type feedback of the live classes and closures; a warm-up of
 * the codec alone left `lookupAt`, `continueRecords` and `pageRecord` to deoptimize ("wrong call
 * target", "insufficient type feedback") and be compiled again during the migration. Both agents
 * run it, each before it listens; nothing of the agent's own state is touched. Returns its ms.
 */
export async function warmUpPipeline(o: PipelineWarmupOptions = {}): Promise<number> {
  const t0 = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'pofbench-warmup-'));
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const { disk, stream } = warmupData();
    await writeFile(join(dir, 'disk.img'), disk);
    const image = await openNasImage(join(dir, 'disk.img'), {});
    try {
      const { index } = await scanImageIndex(image);
      const pair = (name: string) => socketPair(join(dir, name), servers, sockets);
      const [qemuIn, qemuFeed] = await pair('qemu.sock');
      const [targetIn, sourceOut] = await pair('link.sock');
      const [sink, targetOut] = await pair('dst.sock');
      let sunk = 0;
      sink.on('data', (b: Buffer) => {
        sunk += b.length;
      });
      sink.resume();
      const streamOptions = {
        retentionLimit: o.stream?.retentionLimit ?? RETENTION_PAGES,
        windowBytes: o.stream?.windowBytes ?? 8 << 20,
        imageBlocks: image.blocks,
      };
      const ring = new RetentionRing(streamOptions.retentionLimit);
      const stats = newSourceStats(streamOptions.windowBytes);
      const source = new SourceStream(qemuIn, sourceOut, ring, index, streamOptions, stats, () => undefined);
      const target = new TargetPump(targetIn, targetOut, image, o.pump ?? {}, newTargetStats(), () => undefined);
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not done within ${DEADLINE_MS / 1000} s`)), DEADLINE_MS);
      });
      const done = Promise.all([source.run(), target.run(() => undefined)]);
      done.catch(() => undefined); // past the deadline its sockets are destroyed: that failure is not news
      qemuFeed.end(stream);
      await Promise.race([done, deadline]);
      await new Promise<void>((resolve) => (sink.readableEnded ? resolve() : sink.once('end', resolve)));
      if (sunk !== stream.length) throw new Error(`restored ${sunk} of ${stream.length} bytes`);
    } finally {
      await image.close();
    }
  } catch (err) {
    throw new Error(`pipeline warm-up: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
    await rm(dir, { recursive: true, force: true });
  }
  return performance.now() - t0;
}

/** A listening unix socket and one connection to it: [the accepted end (paused, as the agents accept), the client]. */
async function socketPair(path: string, servers: Server[], sockets: Socket[]): Promise<[Socket, Socket]> {
  const server = createServer({ pauseOnConnect: true });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect(path);
  sockets.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const end = await accepted;
  sockets.push(end);
  server.close();
  return [end, client];
}

/** Disk blocks that share one fingerprint: more than the content table's HOT_LIMIT, so the index keeps them "hot". */
const HOT_BLOCKS = 16;

/**
 * A disk of random blocks (and a group sharing one fingerprint) and a QEMU stream over it: per 8
 * pages two zero, one found on the disk, one found in the group, one matching a block's
 * fingerprint but not its content and one matching the group's (the index hashes them and says
 * no), two unique (random). The live index takes each of these branches; one it never took in the
 * warm-up is compiled again mid-migration.
 */
function warmupData(): { disk: Buffer; stream: Buffer } {
  const random = randomBytes(DISK_BLOCKS * PAGE_SIZE);
  const hot = Array.from({ length: HOT_BLOCKS }, (_, k) => nearMiss(random.subarray(0, PAGE_SIZE), k + 1));
  const disk = Buffer.concat([random, ...hot]);
  const unique = randomBytes(64 * PAGE_SIZE);
  const block = (n: number) => random.subarray((n % DISK_BLOCKS) * PAGE_SIZE, ((n % DISK_BLOCKS) + 1) * PAGE_SIZE);
  const sections: SynthPage[][] = [];
  for (let s = 0; s < WARMUP_PAGES / 256; s++) {
    const pages: SynthPage[] = [];
    for (let i = 0; i < 256; i++) {
      const n = s * 256 + i;
      const addr = n * PAGE_SIZE;
      const kind = i % 8;
      let content: Buffer | undefined;
      if (kind === 2) content = block(n);
      else if (kind === 3) content = hot[n % HOT_BLOCKS];
      else if (kind === 4) content = nearMiss(block(n), 0xff);
      else if (kind === 5) content = nearMiss(hot[0], 0xff);
      else if (kind > 5) content = unique.subarray((n % 64) * PAGE_SIZE, ((n % 64) + 1) * PAGE_SIZE);
      pages.push(content ? { addr, content } : { addr, zero: true });
    }
    sections.push(pages);
  }
  return { disk, stream: synthStream({ sections, blockBytes: WARMUP_PAGES * PAGE_SIZE }) };
}

/** A copy of `page` with one byte outside the fingerprint's samples changed by `delta` (same fingerprint). */
function nearMiss(page: Buffer, delta: number): Buffer {
  const copy = Buffer.from(page);
  let at = 8;
  while (FINGERPRINT_OFFSETS.some((o) => at >= o && at < o + 4)) at++;
  copy[at] = (copy[at] + delta) & 0xff;
  return copy;
}
