/**
 * Builds QEMU pre-copy migration streams (the 7.2-10.x format) byte by byte (DESIGN.md §3): exact control for the
 * codec tests, and a realistic load for warming up the agents' hot paths (see agent/pipelineWarmup.ts).
 */
import { mulberry32 } from '../util/prng.js';

export const PAGE = 4096;

export interface SynthPage {
  addr: number;
  content?: Buffer;
  zero?: boolean;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(n / 2 ** 32));
  b.writeUInt32BE(n >>> 0, 4);
  return b;
}
function str8(s: string): Buffer {
  return Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);
}

export interface SynthOptions {
  block?: string;
  blockBytes?: number;
  /** Pages per PART section; the last list goes into the END section. */
  sections: SynthPage[][];
  sectionId?: number;
  deviceState?: Buffer;
  /** Extra RAM flag bits to put on the first page record (e.g. 0x40 XBZRLE) — for refusal tests. */
  extraFlags?: number;
  /** Body of an early-setup FULL section (QEMU >= 8.0, e.g. virtio-mem) written after the RAM START section. */
  earlyDevice?: { idstr: string; sectionId: number; body: Buffer };
}

/** header, CONFIGURATION, START (MEM_SIZE + block list), PART…, END, opaque device state. */
export function synthStream(o: SynthOptions): Buffer {
  const block = o.block ?? 'pc.ram';
  const blockBytes = o.blockBytes ?? 64 * PAGE;
  const id = o.sectionId ?? 2;
  const parts: Buffer[] = [u32(0x5145564d), u32(3)];
  const machine = 'pc-i440fx-7.2';
  parts.push(Buffer.from([0x07]), u32(machine.length), Buffer.from(machine));
  // START: MEM_SIZE record, block list, EOS, footer
  parts.push(Buffer.from([0x01]), u32(id), str8('ram'), u32(0), u32(4));
  parts.push(u64(blockBytes + 0x04), str8(block), u64(blockBytes), u64(0x10), Buffer.from([0x7e]), u32(id));
  const e = o.earlyDevice;
  if (e)
    parts.push(
      Buffer.from([0x04]),
      u32(e.sectionId),
      str8(e.idstr),
      u32(0),
      u32(1),
      e.body,
      Buffer.from([0x7e]),
      u32(e.sectionId),
    );
  let first = true;
  o.sections.forEach((pages, i) => {
    const last = i === o.sections.length - 1;
    parts.push(Buffer.from([last ? 0x03 : 0x02]), u32(id));
    let named = false;
    for (const p of pages) {
      let flags = p.zero ? 0x02 : 0x08;
      if (named) flags |= 0x20;
      if (first && o.extraFlags) flags |= o.extraFlags;
      first = false;
      parts.push(u64(p.addr + flags));
      if (!named) parts.push(str8(block));
      named = true;
      parts.push(p.zero ? Buffer.from([0]) : p.content!);
    }
    parts.push(u64(0x10), Buffer.from([0x7e]), u32(id));
  });
  // device state: a FULL section, EOF, VMDESCRIPTION — opaque to the codec
  const dev =
    o.deviceState ??
    Buffer.concat([
      Buffer.from([0x04]),
      u32(3),
      str8('timer'),
      u32(0),
      u32(2),
      Buffer.alloc(24, 7),
      Buffer.from([0x7e]),
      u32(3),
    ]);
  const json = Buffer.from('{"page_size":4096,"devices":[]}');
  parts.push(dev, Buffer.from([0x00]), Buffer.from([0x06]), u32(json.length), json);
  return Buffer.concat(parts);
}

export function randomPage(rand: () => number): Buffer {
  const b = Buffer.alloc(PAGE);
  for (let i = 0; i < PAGE; i += 4) b.writeUInt32BE(Math.floor(rand() * 2 ** 32), i);
  return b;
}

/**
 * A small disk image (`blocks` random 4 KiB blocks) and a QEMU stream of `pages` pages of which a
 * third are blocks of that image (sent by reference), a third zero and a third random; seeded.
 * For agent tests and hostile-input runs that need a consistent pair without QEMU.
 */
export function synthImageAndStream(seed: number, blocks = 64, pages = 192): { image: Buffer; stream: Buffer } {
  const rand = mulberry32(seed);
  const image = Buffer.concat(Array.from({ length: blocks }, () => randomPage(rand)));
  const list: SynthPage[] = [];
  for (let n = 0; n < pages; n++) {
    const addr = n * PAGE;
    const b = Math.floor(rand() * blocks);
    if (n % 3 === 0) list.push({ addr, content: image.subarray(b * PAGE, (b + 1) * PAGE) });
    else if (n % 3 === 1) list.push({ addr, zero: true });
    else list.push({ addr, content: randomPage(rand) });
  }
  const sections = [list.slice(0, pages >> 1), list.slice(pages >> 1)];
  return { image, stream: synthStream({ sections, blockBytes: pages * PAGE }) };
}
