/**
 * `pofbench bench codec`: throughput of the POF codec on a real QEMU stream, offline (parse,
 * encode, decode) and live (the agent pair over loopback), next to what it is bounded by, measured
 * in the same run: the agents' SHA-256 over 4 KiB pages and CRC-32 over the stream, a plain TCP
 * relay (socat) with the same hops as the agents, and the same hops through Node processes that
 * only copy; and the data path's floor computed from those rows. Every figure is measured here;
 * nothing is assumed.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PAGE_SIZE } from '../codec/bytes.js';
import { sha256Into, sha256Native } from '../codec/sha256.js';
import { crc32, crc32Simd } from '../codec/crc32.js';
import { QemuStreamParser } from '../codec/qemu.js';
import { Encoder } from '../codec/encoder.js';
import { Decoder } from '../codec/decoder.js';
import { restore } from '../codec/resolve.js';
import { buildScanIndex } from '../codec/blockindex.js';
import { runAgentPair } from './agentPair.js';
import { runNodeRelay, runPlainRelay } from './relay.js';
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

/**
 * The least CPU per GB of QEMU stream the pof data path can cost here, whatever its code: the
 * relay's hops (socat: C, large buffers), SHA-256 of every referenced page on both ends (the source
 * to find it, the target to verify the NAS block) and the CRC-32 of the whole stream on both ends,
 * each at the rate measured in the same run. Parsing, lookups, NAS reads and the NFS client come on top.
 */
export interface DataPathFloor {
  relayCoreSPerGb: number;
  sha256CoreSPerGb: number;
  crc32CoreSPerGb: number;
  totalCoreSPerGb: number;
  /** Share of the stream's bytes that are pages sent by reference. */
  referencedFraction: number;
}

/** The floor from the socat relay row, the SHA-256 and CRC-32 rows (MB/s on one core) and the referenced share. */
export function dataPathFloor(
  relay: BenchRow,
  sha: BenchRow,
  crc: BenchRow,
  referencedFraction: number,
): DataPathFloor | undefined {
  if (relay.coreSPerGb === undefined || !(sha.mbps > 0) || !(crc.mbps > 0)) return undefined;
  const perGb = (mbps: number) => 1000 / mbps;
  const sha256CoreSPerGb = 2 * referencedFraction * perGb(sha.mbps);
  const crc32CoreSPerGb = 2 * perGb(crc.mbps);
  const r2 = (x: number) => Number(x.toFixed(2));
  return {
    relayCoreSPerGb: relay.coreSPerGb,
    sha256CoreSPerGb: r2(sha256CoreSPerGb),
    crc32CoreSPerGb: r2(crc32CoreSPerGb),
    totalCoreSPerGb: r2(relay.coreSPerGb + sha256CoreSPerGb + crc32CoreSPerGb),
    referencedFraction: Number(referencedFraction.toFixed(3)),
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

/** The agents' SHA-256 (native when built, else Node's crypto) over every 4 KiB page of the stream. */
function measureSha256(d: OfflineInput): Promise<BenchRow> {
  const { stream } = d;
  const out = Buffer.alloc(32);
  return measure(
    'sha256 4 KiB pages (1 core)',
    stream.length - (stream.length % PAGE_SIZE),
    d.repeat,
    `the agents' hash (${sha256Native ? 'native, OpenSSL' : "Node's crypto: the native module is not built"}); ` +
      'encode hashes every candidate page, decode every referenced block',
    () => {
      for (let i = 0; i + PAGE_SIZE <= stream.length; i += PAGE_SIZE)
        sha256Into(stream.subarray(i, i + PAGE_SIZE), out, 0);
    },
  );
}

/** The agents' CRC-32 over the stream in 1 MiB chunks (each agent checksums every QEMU byte once). */
function measureCrc32(d: OfflineInput): Promise<BenchRow> {
  return measure(
    'crc32 of the stream (1 core)',
    d.stream.length,
    d.repeat,
    `the agents' CRC-32 (${crc32Simd ? 'SIMD' : 'node:zlib'}); each agent takes it over the whole QEMU stream`,
    () => {
      let c = 0;
      for (const chunk of d.input) c = crc32(chunk, c);
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
async function measureEncode(
  d: OfflineInput,
  imagePath: string,
): Promise<{ row: BenchRow; pof: Buffer; refs: number }> {
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
  return { row, pof, refs };
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

/** A relay with the agents' hops (socat, or Node processes that only copy), on ports from `port` up. */
async function measureRelay(
  dir: string,
  o: CodecBenchOptions,
  stream: Buffer,
  port: number,
  kind: 'socat' | 'node',
): Promise<BenchRow> {
  let relayPort = port;
  const relayCpu: number[] = [];
  const [name, note, run] =
    kind === 'socat'
      ? ['plain TCP relay (socat, loopback)', 'unix → socat → TCP → socat → unix, 256 KiB buffers', runPlainRelay]
      : [
          'Node relay (loopback)',
          "the same hops through two Node processes that only copy: the agents' I/O",
          runNodeRelay,
        ];
  const row = await measure(name, stream.length, o.repeat, note, async () => {
    const r = await run(dir, o.stream, relayPort++);
    if (r.bytes !== stream.length) throw new Error(`relay delivered ${r.bytes} bytes, expected ${stream.length}`);
    relayCpu.push(r.cpuS / (stream.length / 1e9));
    return r.elapsedMs;
  });
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

export interface CodecBenchResult {
  rows: BenchRow[];
  /** The agent pair against the socat relay of the same run. */
  ratio?: PairVsRelay;
  /** The least CPU this data path can cost on this machine, from rows of the same run. */
  floor?: DataPathFloor;
}

export async function benchCodec(o: CodecBenchOptions): Promise<CodecBenchResult> {
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

  log("the agents' SHA-256 over 4 KiB pages");
  const sha = await measureSha256(d);
  rows.push(sha);
  log("the agents' CRC-32 of the stream");
  const crc = await measureCrc32(d);
  rows.push(crc);
  log('parse only');
  rows.push(await measureParse(d));
  log('scan index of the image');
  const encoded = await measureEncode(d, o.image);
  rows.push(encoded.row);
  log('decode (image in memory)');
  rows.push(await measureDecode(d, encoded.pof));

  const dir = mkdtempSync(join(tmpdir(), 'pofbench-bench-'));
  const port = o.port ?? 47400;
  let relay: BenchRow;
  let pair: BenchRow;
  try {
    log('plain TCP relay over loopback (socat, same hops as the agents)');
    relay = await measureRelay(dir, o, stream, port, 'socat');
    rows.push(relay);
    log('Node relay over loopback (same hops, Node processes that only copy)');
    rows.push(await measureRelay(dir, o, stream, port + 25, 'node'));
    log('live agent pair over loopback');
    pair = await measureLiveAgentPair(dir, o, stream, port + 50);
    rows.push(pair);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const referenced = (encoded.refs * PAGE_SIZE) / stream.length;
  return { rows, ratio: pairVsRelay(pair, relay), floor: dataPathFloor(relay, sha, crc, referenced) };
}
