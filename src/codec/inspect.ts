/**
 * What a QEMU migration stream holds (`pofbench stream inspect`): sections, RAM blocks, counts and
 * bytes per record kind, where device state starts. Pure: fed with the parser's items.
 */
import { QemuStreamParser, type QemuItem } from './qemu.js';
import { isZeroPage } from './bytes.js';

export interface StreamReport {
  bytes: number;
  machine?: string;
  configurationSubsections: string[];
  capabilities: string[];
  ramBlocks: { idstr: string; length: number }[];
  sections: { start: number; part: number; end: number; footers: number };
  commands: number;
  records: {
    page: { count: number; bytes: number; allZeroPayload: number };
    zero: { count: number; bytes: number };
    memSize: { count: number; bytes: number };
    eos: { count: number; bytes: number };
  };
  /** Distinct guest pages (block + offset) sent as PAGE at least once, and how many were sent again. */
  distinctPages: number;
  resentPages: number;
  headerBytes: number;
  /** Byte offset where the opaque device state (FULL sections, EOF, VMDESCRIPTION) starts. */
  deviceStateOffset?: number;
  deviceStateBytes: number;
  /** Early-setup device sections (QEMU >= 8.0, e.g. virtio-mem) met before the RAM END section. */
  earlySections: { idstr: string; bytes: number }[];
}

export class StreamInspector {
  private readonly r: StreamReport = {
    bytes: 0,
    configurationSubsections: [],
    capabilities: [],
    ramBlocks: [],
    sections: { start: 0, part: 0, end: 0, footers: 0 },
    commands: 0,
    records: {
      page: { count: 0, bytes: 0, allZeroPayload: 0 },
      zero: { count: 0, bytes: 0 },
      memSize: { count: 0, bytes: 0 },
      eos: { count: 0, bytes: 0 },
    },
    distinctPages: 0,
    resentPages: 0,
    headerBytes: 0,
    deviceStateBytes: 0,
    earlySections: [],
  };
  private readonly seen = new Map<string, Set<number>>();

  item(item: QemuItem): void {
    const len = item.raw.length + (item.kind === 'ram' && item.page ? item.page.length : 0);
    this.r.bytes += len;
    switch (item.kind) {
      case 'file-header':
        this.r.headerBytes += len;
        break;
      case 'configuration':
        this.r.machine = item.machine;
        this.r.configurationSubsections = item.subsections;
        this.r.capabilities = item.capabilities;
        this.r.headerBytes += len;
        break;
      case 'command':
        this.r.commands++;
        this.r.headerBytes += len;
        break;
      case 'section-header':
        this.r.sections[item.type]++;
        this.r.headerBytes += len;
        break;
      case 'section-footer':
        this.r.sections.footers++;
        this.r.headerBytes += len;
        break;
      case 'ram-block':
        this.r.ramBlocks.push({ idstr: item.idstr, length: item.length });
        this.r.records.memSize.bytes += len;
        break;
      case 'early-device-state':
        this.r.earlySections.push({ idstr: item.idstr, bytes: len });
        break;
      case 'device-state':
        this.r.deviceStateOffset ??= item.offset;
        this.r.deviceStateBytes += len;
        break;
      case 'ram': {
        if (item.record === 'page') {
          const rec = this.r.records.page;
          rec.count++;
          rec.bytes += len;
          if (isZeroPage(item.page!)) rec.allZeroPayload++;
          let set = this.seen.get(item.block);
          if (!set) this.seen.set(item.block, (set = new Set()));
          if (set.has(item.addr)) this.r.resentPages++;
          else {
            set.add(item.addr);
            this.r.distinctPages++;
          }
        } else {
          const rec =
            item.record === 'zero'
              ? this.r.records.zero
              : item.record === 'eos'
                ? this.r.records.eos
                : this.r.records.memSize;
          rec.count++;
          rec.bytes += len;
        }
        break;
      }
    }
  }

  report(): StreamReport {
    return structuredClone(this.r);
  }
}

/** Inspects a whole stream given as chunks (throws CodecError naming the offset on bad input). */
export async function inspectStream(chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<StreamReport> {
  const parser = new QemuStreamParser();
  const insp = new StreamInspector();
  for await (const c of chunks) for (const it of parser.push(c)) insp.item(it);
  for (const it of parser.end()) insp.item(it);
  return insp.report();
}
