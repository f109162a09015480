import type { Command } from 'commander';
import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { table } from 'table';
import { inspectStream, type StreamReport } from '../codec/inspect.js';
import { CodecError, RefMismatchError } from '../codec/errors.js';
import { imageBlockCount } from '../codec/blockindex.js';
import { buildIndex, decodeStream, encodeStream, parseIndexSpec } from '../agent/offline.js';
import { UserError } from '../util/errors.js';

const MiB = 1024 * 1024;

function input(file: string | undefined): Readable {
  if (!file || file === '-') {
    if (process.stdin.isTTY) throw new UserError('no input: pipe a stream into stdin or pass --in FILE');
    return process.stdin;
  }
  const s = createReadStream(file);
  return s;
}

function output(file: string | undefined): Writable {
  if (!file || file === '-') {
    if (process.stdout.isTTY)
      throw new UserError('refusing to write a binary stream to a terminal: redirect stdout or pass --out FILE');
    return process.stdout;
  }
  return createWriteStream(file);
}

/** A codec error is the input's fault: one line naming the offset, exit 2. */
async function asUserErrors<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CodecError || err instanceof RefMismatchError) throw new UserError(`${what}: ${err.message}`);
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') throw new UserError(`${what}: ${e.message}`);
    throw err;
  }
}

function renderReport(r: StreamReport): string {
  const rows: (string | number)[][] = [
    ['stream bytes', r.bytes],
    ['machine', r.machine ?? '-'],
    ['configuration subsections', r.configurationSubsections.join(', ') || '-'],
    ['RAM blocks', r.ramBlocks.map((b) => `${b.idstr} (${(b.length / MiB).toFixed(1)} MiB)`).join(', ') || '-'],
    [
      'sections START/PART/END, footers',
      `${r.sections.start}/${r.sections.part}/${r.sections.end}, ${r.sections.footers}`,
    ],
    ['commands', r.commands],
    [
      'PAGE records (bytes)',
      `${r.records.page.count} (${r.records.page.bytes}), ${r.records.page.allZeroPayload} with an all-zero payload`,
    ],
    ['distinct pages / re-sent', `${r.distinctPages} / ${r.resentPages}`],
    ['ZERO records (bytes)', `${r.records.zero.count} (${r.records.zero.bytes})`],
    ['MEM_SIZE records (bytes)', `${r.records.memSize.count} (${r.records.memSize.bytes})`],
    ['EOS records (bytes)', `${r.records.eos.count} (${r.records.eos.bytes})`],
    ['headers, sections, commands (bytes)', r.headerBytes],
    ['device state starts at', r.deviceStateOffset ?? '-'],
    ['device state bytes', r.deviceStateBytes],
  ];
  return table(rows.map((x) => x.map(String)));
}

/** `pofbench stream inspect`: what a QEMU stream holds. */
function registerInspect(stream: Command): void {
  stream
    .command('inspect')
    .description(
      'sections, RAM blocks, record counts and bytes of a QEMU (8.2-10.x) migration stream (e.g. from migrate ' +
        '"exec:cat > FILE")',
    )
    .argument('<file>', 'QEMU migration stream ("-" for stdin)')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      const r = await asUserErrors(`stream ${file}`, () => inspectStream(input(file)));
      console.log(o.json ? JSON.stringify(r, null, 2) : renderReport(r));
    });
}

/** `pofbench stream encode`: QEMU stream to POF stream, with statistics. */
function registerEncode(stream: Command): void {
  stream
    .command('encode')
    .description('QEMU stream → POF stream: every page whose content equals a NAS block becomes a 41-byte reference')
    .requiredOption('--nas-image <IMG>', 'the guest disk image as on the NAS')
    .requiredOption(
      '--index <scan|trace:LOG>',
      'scan: hash every block (the oracle); trace:LOG: only blocks in a QEMU block trace log (-trace ' +
        'enable=blk_co_p*,file=LOG)',
    )
    .option('--in <FILE>', 'QEMU stream (default: stdin)')
    .option('--out <FILE>', 'POF stream (default: stdout)')
    .option('--stats-json <FILE>', 'write the statistics as JSON here')
    .action(async (o: { nasImage: string; index: string; in?: string; out?: string; statsJson?: string }) => {
      const spec = parseIndexSpec(o.index);
      const t0 = performance.now();
      const built = await asUserErrors(`NAS image ${o.nasImage}`, () => buildIndex(o.nasImage, spec));
      const t1 = performance.now();
      const s = await asUserErrors('encode', () =>
        encodeStream(input(o.in), output(o.out), built.index, built.imageBlocks),
      );
      const stats = {
        full_pages: s.fullPages,
        ref_pages: s.refPages,
        zero_pages: s.zeroPages,
        other_records: s.otherRecords,
        bytes_in: s.bytesIn,
        bytes_out: s.bytesOut,
        device_state_bytes: s.deviceStateBytes,
        index: spec.kind,
        image_blocks: built.imageBlocks,
        index_blocks: built.indexBlocks,
        index_blocks_read: built.blocksRead,
        index_build_ms: Math.round(t1 - t0),
        encode_ms: Math.round(performance.now() - t1),
        ...(built.traceEvents !== undefined
          ? { trace_events: built.traceEvents, traced_blocks: built.tracedBlocks }
          : {}),
      };
      if (o.statsJson) await writeFile(o.statsJson, `${JSON.stringify(stats, null, 2)}\n`);
      process.stderr.write(
        `encode: ${s.fullPages} pages in full, ${s.refPages} by reference, ${s.zeroPages} zero; ` +
          `${s.bytesIn} bytes in, ${s.bytesOut} out (${(100 * (1 - s.bytesOut / Math.max(1, s.bytesIn))).toFixed(1)} ` +
          `% saved); ` +
          `index ${spec.kind}: ${built.indexBlocks} blocks in ${stats.index_build_ms} ms\n`,
      );
    });
}

/** `pofbench stream decode`: POF stream back to the exact QEMU stream. */
function registerDecode(stream: Command): void {
  stream
    .command('decode')
    .description(
      'POF stream → the exact QEMU stream, referenced blocks read from the NAS image and verified by SHA-256',
    )
    .requiredOption('--nas-image <IMG>', 'the guest disk image as on the NAS')
    .option('--in <FILE>', 'POF stream (default: stdin)')
    .option('--out <FILE>', 'QEMU stream (default: stdout)')
    .option('--stats-json <FILE>', 'write the statistics as JSON here')
    .action(async (o: { nasImage: string; in?: string; out?: string; statsJson?: string }) => {
      await asUserErrors(`NAS image ${o.nasImage}`, () => imageBlockCount(o.nasImage));
      const t0 = performance.now();
      const s = await asUserErrors('decode', () => decodeStream(input(o.in), output(o.out), o.nasImage));
      const stats = {
        bytes_in: s.bytesIn,
        bytes_out: s.qemuBytes,
        literal_bytes: s.literalBytes,
        ref_pages: s.refs,
        nas_read_bytes: s.nasReadBytes,
        verified_blocks: s.verifiedBlocks,
        decode_ms: Math.round(performance.now() - t0),
      };
      if (o.statsJson) await writeFile(o.statsJson, `${JSON.stringify(stats, null, 2)}\n`);
      process.stderr.write(
        `decode: ${s.bytesIn} bytes in, ${s.qemuBytes} out; ${s.refs} pages read from the NAS and verified\n`,
      );
    });
}

/** `pofbench stream inspect|encode|decode` — the POF codec offline, on files and pipes. */
export function registerStreamCommand(program: Command): void {
  const stream = program
    .command('stream')
    .description('the POF stream codec offline: inspect QEMU streams, encode to POF, decode back');
  registerInspect(stream);
  registerEncode(stream);
  registerDecode(stream);
}
