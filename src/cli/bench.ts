import type { Command } from 'commander';
import { table } from 'table';
import { benchCodec, type BenchRow, type DataPathFloor, type PairVsRelay } from '../bench/codecBench.js';
import { registerIndexBench } from './benchIndex.js';
import { buildImage, firstDatasetFiles } from '../image/build.js';
import { captureStream } from '../qemu/capture.js';
import { UserError } from '../util/errors.js';

interface BenchCodecOptions {
  stream?: string;
  nasImage?: string;
  memoryMib: string;
  datasetMib: string;
  repeat: string;
  json?: boolean;
}

type CapturedStream = Awaited<ReturnType<typeof captureStream>>;

/** Captures a QEMU stream from the project's guest with `datasetMib` of dataset in its page cache. */
async function captureBenchStream(o: BenchCodecOptions, log: (l: string) => void): Promise<CapturedStream> {
  const image = await buildImage({ log });
  const { files: picked, bytes: total } = firstDatasetFiles(image, Number(o.datasetMib));
  const files = picked.map((f) => f.path.split('/').pop()!);
  log(
    `capturing a stream: ${o.memoryMib} MiB guest, ${(total / 1048576).toFixed(0)} MiB of dataset in its ` +
      `page cache`,
  );
  return captureStream(image, {
    memoryMib: Number(o.memoryMib),
    script: `cd /data/dataset && cat ${files.join(' ')} > /dev/null && echo read`,
  });
}

/** The rows as a table, then the agent pair / relay ratio and the data path's floor when measured. */
function printBenchTable(rows: BenchRow[], ratio: PairVsRelay | undefined, floor: DataPathFloor | undefined): void {
  console.log(
    table(
      [
        ['measurement', 'MB/s (median)', 'min–max', 'MB per run', 'core-s per GB', 'note'],
        ...rows.map((r) => [
          r.name,
          r.mbps.toFixed(0),
          `${r.min.toFixed(0)}–${r.max.toFixed(0)}`,
          (r.bytes / 1e6).toFixed(1),
          r.coreSPerGb?.toFixed(2) ?? '',
          r.note,
        ]),
      ],
      { columns: { 5: { width: 44, wrapWord: true } } },
    ),
  );
  if (ratio) {
    console.log(
      `agent pair / relay: ${ratio.timeRatio}x the time, ${ratio.cpuRatio}x the CPU ` +
        `(${ratio.agentsCoreSPerGb} vs ${ratio.relayCoreSPerGb} core-s per GB of QEMU stream)`,
    );
  }
  if (floor) {
    console.log(
      `floor of the pof data path here: relay ${floor.relayCoreSPerGb} + SHA-256 of the referenced pages ` +
        `(${(floor.referencedFraction * 100).toFixed(0)} % of the stream) on both ends ${floor.sha256CoreSPerGb} + ` +
        `CRC-32 on both ends ${floor.crc32CoreSPerGb} = ${floor.totalCoreSPerGb} core-s per GB of QEMU stream ` +
        '(before parsing, lookups and NAS reads)',
    );
  }
}

async function runBenchCodec(o: BenchCodecOptions): Promise<void> {
  const repeat = Number(o.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 50)
    throw new UserError(`--repeat must be 1..50, got "${o.repeat}"`);
  if (o.stream && !o.nasImage) throw new UserError('--stream needs --nas-image (the disk its pages refer to)');
  const log = (l: string) => process.stderr.write(`bench: ${l}\n`);
  let captured: CapturedStream | undefined;
  try {
    let stream = o.stream;
    let img = o.nasImage;
    if (!stream) {
      captured = await captureBenchStream(o, log);
      stream = captured.stream;
      img = captured.disk;
    }
    const { rows, ratio, floor } = await benchCodec({ stream, image: img!, repeat, log });
    if (o.json) {
      console.log(JSON.stringify({ repeat, rows, agent_pair_vs_relay: ratio, data_path_floor: floor }, null, 2));
      return;
    }
    printBenchTable(rows, ratio, floor);
  } finally {
    captured?.cleanup();
  }
}

/** `pofbench bench codec` — measured codec throughput (see src/bench/codecBench.ts). */
export function registerBenchCommand(program: Command): void {
  const bench = program.command('bench').description('benchmarks that print measured numbers');
  registerIndexBench(bench);
  bench
    .command('codec')
    .description(
      "encode/decode throughput on a real QEMU stream and of a live agent pair on loopback, next to the agents' " +
        'SHA-256 and CRC-32 loops, a socat relay and a copy-only Node relay with the same hops, measured in the same ' +
        "run, and the data path's floor from them",
    )
    .option(
      '--stream <FILE>',
      "a captured QEMU stream (default: capture one from the project's guest with a warm page cache)",
    )
    .option('--nas-image <IMG>', "the disk image the stream's pages refer to (required with --stream)")
    .option('--memory-mib <n>', 'guest size when capturing', '256')
    .option('--dataset-mib <n>', 'MiB of dataset read into the page cache before capturing', '96')
    .option('--repeat <n>', 'repetitions per measurement (median, min, max printed)', '3')
    .option('--json', 'print JSON')
    .action(runBenchCodec);
}
