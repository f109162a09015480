/**
 * `pofbench bench codec`: throughput of the POF codec on a real QEMU stream, offline (parse,
 * encode, decode) and live (the agent pair over loopback), next to the two things it is bounded
 * by, measured in the same run: a raw SHA-256 loop over 4 KiB pages and a plain TCP relay with the
 * same hops as the agents. Every figure is measured here; nothing is assumed.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256, PAGE_SIZE } from '../codec/bytes.js';
import { QemuStreamParser } from '../codec/qemu.js';
import { Encoder } from '../codec/encoder.js';
import { Decoder } from '../codec/decoder.js';
import { restore } from '../codec/resolve.js';
import { buildScanIndex } from '../codec/blockindex.js';
import { runAgentPair } from './agentPair.js';
import { runPlainRelay } from './relay.js';
import { median as medianOf } from '../util/quantile.js';

export interface BenchRow {
  name: string;
  /** Bytes of QEMU stream (or hashed data) per repetition. */
  bytes: number;
  /** Median, min and max MB/s (10^6 bytes per second) over the repetitions. */
  mbps: number;
  min: number;
  max: number;
  note: string;
  /** CPU seconds (all processes of the path) per GB of stream, median over the repetitions, where measured. */
  coreSPerGb?: number;
}

/** The agent pair against the plain relay, same stream, same run: how many times its time and its CPU. */
export interface PairVsRelay {
  timeRatio: number;
  cpuRatio: number;
  agentsCoreSPerGb: number;
  relayCoreSPerGb: number;
}

/** The ratio row of two measured rows (agent pair / relay). */
export function pairVsRelay(pair: BenchRow, relay: BenchRow): PairVsRelay | undefined {
  if (pair.coreSPerGb === undefined || relay.coreSPerGb === undefined || relay.coreSPerGb <= 0) return undefined;
  return {
    timeRatio: Number((relay.mbps / pair.mbps).toFixed(2)),
    cpuRatio: Number((pair.coreSPerGb / relay.coreSPerGb).toFixed(2)),
    agentsCoreSPerGb: pair.coreSPerGb,
    relayCoreSPerGb: relay.coreSPerGb,
  };
}

const MB = 1e6;

function chunks(buf: Buffer, size = 1 << 20): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

async function measure(
  name: string,
  bytes: number,
  repeat: number,
  note: string,
  /** A measured action; when it returns a number, that is its own timing in ms (else the call is timed). */
  fn: () => unknown,
): Promise<BenchRow> {
  const rates: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    const own = await fn();
    const ms = typeof own === 'number' ? own : performance.now() - t0;
    rates.push(bytes / MB / (ms / 1000));
  }
  rates.sort((a, b) => a - b);
  return { name, bytes, mbps: rates[Math.floor(rates.length / 2)], min: rates[0], max: rates[rates.length - 1], note };
}

export interface CodecBenchOptions {
  stream: string;
  image: string;
  repeat: number;
  port?: number;
  log?: (l: string) => void;
}

/** What every offline phase works on: the stream and image in memory. */
interface OfflineInput {
  stream: Buffer;
  image: Buffer;
  imageBlocks: number;
  /** The stream in 1 MiB chunks, as the agents receive it. */
  input: Buffer[];
  repeat: number;
}

function measureSha256(d: OfflineInput): Promise<BenchRow> {
  const { stream } = d;
  return measure(
    'sha256 4 KiB pages (1 core)',
    stream.length - (stream.length % PAGE_SIZE),
    d.repeat,
    'upper bound of encode: it hashes every page',
    () => {
      for (let i = 0; i + PAGE_SIZE <= stream.length; i += PAGE_SIZE) sha256(stream.subarray(i, i + PAGE_SIZE));
    },
  );
}

function measureParse(d: OfflineInput): Promise<BenchRow> {
  const { input } = d;
  return measure('parse QEMU stream', d.stream.length, d.repeat, 'record walk, no hashing', () => {
    const p = new QemuStreamParser();
    for (const c of input) p.push(c);
    p.end();
  });
}

/** Encodes against a scan index of the image; also returns the POF stream of the last repetition. */
async function measureEncode(d: OfflineInput, imagePath: string): Promise<{ row: BenchRow; pof: Buffer }> {
  const { stream, input, imageBlocks } = d;
  const built = await buildScanIndex(imagePath);
  let refs = 0;
  let pof = Buffer.alloc(0);
  const row = await measure('encode (scan index)', stream.length, d.repeat, '', () => {
    const enc = new Encoder({ lookupAt: (b, at) => built.index.lookupAt(b, at), imageBlocks });
    const out: Buffer[] = [];
    for (const c of input) out.push(...enc.push(c));
    out.push(...enc.end());
    pof = Buffer.concat(out);
    refs = enc.stats().refPages;
  });
  row.note =
    `${refs} pages by reference; POF stream ${(pof.length / MB).toFixed(1)} MB of ` +
    `${(stream.length / MB).toFixed(1)} MB`;
  return { row, pof };
}

function measureDecode(d: OfflineInput, pof: Buffer): Promise<BenchRow> {
  const { stream, image, imageBlocks } = d;
  const pofChunks = chunks(pof);
  return measure(
    'decode + verify (image in memory)',
    stream.length,
    d.repeat,
    'every referenced block re-hashed',
    async () => {
      let n = 0;
      const read = async (b: number) => image.subarray(b * PAGE_SIZE, (b + 1) * PAGE_SIZE);
      for await (const b of restore(pofChunks, new Decoder({ imageBlocks }), read, { concurrency: 16 })) n += b.length;
      if (n !== stream.length) throw new Error(`decode produced ${n} bytes, expected ${stream.length}`);
    },
  );
}

/** The plain TCP relay (socat) with the agents' hops, on ports from `port` up. */
async function measurePlainRelay(dir: string, o: CodecBenchOptions, stream: Buffer, port: number): Promise<BenchRow> {
  let relayPort = port;
  const relayCpu: number[] = [];
  const row = await measure(
    'plain TCP relay (socat, loopback)',
    stream.length,
    o.repeat,
    'unix → socat → TCP → socat → unix, 256 KiB buffers',
    async () => {
      const r = await runPlainRelay(dir, o.stream, relayPort++);
      if (r.bytes !== stream.length) throw new Error(`relay delivered ${r.bytes} bytes, expected ${stream.length}`);
      relayCpu.push(r.cpuS / (stream.length / 1e9));
      return r.elapsedMs;
    },
  );
  row.coreSPerGb = Number(medianOf(relayCpu).toFixed(2));
  return row;
}

/** The live agent pair (scan index) over loopback, on ports from `port` up; checks byte-identical output. */
async function measureLiveAgentPair(
  dir: string,
  o: CodecBenchOptions,
  stream: Buffer,
  port: number,
): Promise<BenchRow> {
  let agentPort = port;
  let linkBytes = 0;
  const pairCpu: number[] = [];
  const row = await measure('live agent pair (scan index, loopback)', stream.length, o.repeat, '', async () => {
    const r = await runAgentPair(dir, {
      stream: o.stream,
      srcImage: o.image,
      dstImage: o.image,
      port: agentPort++,
      index: ['--index', 'scan'],
    });
    if (r.source.code !== 0 || r.target.code !== 0)
      throw new Error(`agents failed: ${r.source.log.slice(-300)} ${r.target.log.slice(-300)}`);
    if (!r.received.equals(stream)) throw new Error('the agent pair delivered different bytes');
    linkBytes = Number(r.source.stats?.bytes_out ?? 0);
    pairCpu.push(
      (Number(r.source.stats?.migration_cpu_s) + Number(r.target.stats?.migration_cpu_s)) / (stream.length / 1e9),
    );
    return r.streamMs ?? r.elapsedMs;
  });
  row.note = `agent link ${(linkBytes / MB).toFixed(1)} MB; byte-identical output checked`;
  row.coreSPerGb = Number(medianOf(pairCpu).toFixed(2));
  return row;
}

export async function benchCodec(o: CodecBenchOptions): Promise<BenchRow[]> {
  const log = o.log ?? (() => undefined);
  const stream = readFileSync(o.stream);
  const image = readFileSync(o.image);
  const d: OfflineInput = {
    stream,
    image,
    imageBlocks: Math.floor(image.length / PAGE_SIZE),
    input: chunks(stream),
    repeat: o.repeat,
  };
  const rows: BenchRow[] = [];

  log('raw SHA-256 over 4 KiB pages');
  rows.push(await measureSha256(d));
  log('parse only');
  rows.push(await measureParse(d));
  log('scan index of the image');
  const encoded = await measureEncode(d, o.image);
  rows.push(encoded.row);
  log('decode (image in memory)');
  rows.push(await measureDecode(d, encoded.pof));

  const dir = mkdtempSync(join(tmpdir(), 'pofbench-bench-'));
  const port = o.port ?? 47400;
  try {
    log('plain TCP relay over loopback (socat, same hops as the agents)');
    rows.push(await measurePlainRelay(dir, o, stream, port));
    log('live agent pair over loopback');
    rows.push(await measureLiveAgentPair(dir, o, stream, port + 50));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
