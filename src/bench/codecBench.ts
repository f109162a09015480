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

export async function benchCodec(o: {
  stream: string;
  image: string;
  repeat: number;
  port?: number;
  log?: (l: string) => void;
}): Promise<BenchRow[]> {
  const log = o.log ?? (() => undefined);
  const stream = readFileSync(o.stream);
  const image = readFileSync(o.image);
  const imageBlocks = Math.floor(image.length / PAGE_SIZE);
  const input = chunks(stream);
  const rows: BenchRow[] = [];

  log('raw SHA-256 over 4 KiB pages');
  rows.push(
    await measure(
      'sha256 4 KiB pages (1 core)',
      stream.length - (stream.length % PAGE_SIZE),
      o.repeat,
      'upper bound of encode: it hashes every page',
      () => {
        for (let i = 0; i + PAGE_SIZE <= stream.length; i += PAGE_SIZE) sha256(stream.subarray(i, i + PAGE_SIZE));
      },
    ),
  );

  log('parse only');
  rows.push(
    await measure('parse QEMU stream', stream.length, o.repeat, 'record walk, no hashing', () => {
      const p = new QemuStreamParser();
      for (const c of input) p.push(c);
      p.end();
    }),
  );

  log('scan index of the image');
  const built = await buildScanIndex(o.image);
  let refs = 0;
  let pof = Buffer.alloc(0);
  rows.push(
    await measure('encode (scan index)', stream.length, o.repeat, '', () => {
      const enc = new Encoder({ lookup: (pg) => built.index.lookup(pg), imageBlocks });
      const out: Buffer[] = [];
      for (const c of input) out.push(...enc.push(c));
      out.push(...enc.end());
      pof = Buffer.concat(out);
      refs = enc.stats().refPages;
    }),
  );
  rows[rows.length - 1].note =
    `${refs} pages by reference; POF stream ${(pof.length / MB).toFixed(1)} MB of ` +
    `${(stream.length / MB).toFixed(1)} MB`;

  log('decode (image in memory)');
  const pofChunks = chunks(pof);
  rows.push(
    await measure(
      'decode + verify (image in memory)',
      stream.length,
      o.repeat,
      'every referenced block re-hashed',
      async () => {
        let n = 0;
        const read = async (b: number) => image.subarray(b * PAGE_SIZE, (b + 1) * PAGE_SIZE);
        for await (const b of restore(pofChunks, new Decoder({ imageBlocks }), read, { concurrency: 16 }))
          n += b.length;
        if (n !== stream.length) throw new Error(`decode produced ${n} bytes, expected ${stream.length}`);
      },
    ),
  );

  const dir = mkdtempSync(join(tmpdir(), 'pofbench-bench-'));
  const port = o.port ?? 47400;
  try {
    log('plain TCP relay over loopback (socat, same hops as the agents)');
    let relayPort = port;
    const relayCpu: number[] = [];
    rows.push(
      await measure(
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
      ),
    );
    rows[rows.length - 1].coreSPerGb = Number(medianOf(relayCpu).toFixed(2));
    log('live agent pair over loopback');
    let agentPort = port + 50;
    let linkBytes = 0;
    const pairCpu: number[] = [];
    rows.push(
      await measure('live agent pair (scan index, loopback)', stream.length, o.repeat, '', async () => {
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
      }),
    );
    rows[rows.length - 1].note = `agent link ${(linkBytes / MB).toFixed(1)} MB; byte-identical output checked`;
    rows[rows.length - 1].coreSPerGb = Number(medianOf(pairCpu).toFixed(2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
