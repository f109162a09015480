/** QEMU pre-copy migration stream format (DESIGN.md §3): constants, limits and the items the parser (qemu.ts) yields. */
export const QEMU_VM_FILE_MAGIC = 0x5145564d;
export const QEMU_VM_FILE_VERSION = 3;

export const SECTION = {
  EOF: 0x00,
  START: 0x01,
  PART: 0x02,
  END: 0x03,
  FULL: 0x04,
  SUBSECTION: 0x05,
  VMDESCRIPTION: 0x06,
  CONFIGURATION: 0x07,
  COMMAND: 0x08,
  FOOTER: 0x7e,
} as const;

export const RAM_FLAG = {
  ZERO: 0x02,
  MEM_SIZE: 0x04,
  PAGE: 0x08,
  EOS: 0x10,
  CONTINUE: 0x20,
  XBZRLE: 0x40,
  HOOK: 0x80,
  COMPRESS_PAGE: 0x100,
  MULTIFD_FLUSH: 0x200,
} as const;

/** Low bits of the u64 `offset | flags` word that hold flags (TARGET_PAGE_BITS = 12 on x86). */
export const RAM_FLAGS_MASK = 0xfff;
export const RAM_SECTION_VERSION = 4;

/** Limits on length fields beyond what u8/u16 already bound. */
export const MAX_MACHINE_NAME = 256;
export const MAX_CAPABILITIES = 64;
/** Longest early-setup FULL section the parser looks for the end of. */
export const MAX_EARLY_SECTION = 1024 * 1024;

export type SectionType = 'start' | 'part' | 'end';

export type QemuItem =
  | { kind: 'file-header'; offset: number; raw: Buffer; version: number }
  | {
      kind: 'configuration';
      offset: number;
      raw: Buffer;
      machine: string;
      subsections: string[];
      capabilities: string[];
    }
  | { kind: 'command'; offset: number; raw: Buffer; command: number; length: number }
  | {
      kind: 'section-header';
      offset: number;
      raw: Buffer;
      type: SectionType;
      sectionId: number;
      idstr: string;
      instanceId?: number;
      versionId?: number;
    }
  | { kind: 'section-footer'; offset: number; raw: Buffer; sectionId: number }
  /**
   * A RAM record. `raw` = the u64 header + idstr when present (+ the fill byte of a ZERO record); `page` = the 4096
   * payload of a PAGE record.
   */
  | {
      kind: 'ram';
      offset: number;
      raw: Buffer;
      record: RamRecordKind;
      flags: number;
      addr: number;
      block: string;
      page?: Buffer;
    }
  /**
   * One RAM block declared after a MEM_SIZE record: u8 len, idstr, u64 used length (+ u64 addr under x-ignore-shared).
   */
  | { kind: 'ram-block'; offset: number; raw: Buffer; idstr: string; length: number }
  /** An early-setup device's FULL section (before the RAM END section), header to footer, passed on as is. */
  | { kind: 'early-device-state'; offset: number; raw: Buffer; idstr: string; sectionId: number }
  /** Opaque bytes after the RAM END section (device state, EOF, VMDESCRIPTION). */
  | { kind: 'device-state'; offset: number; raw: Buffer };

export type RamRecordKind = 'page' | 'zero' | 'mem-size' | 'eos';

/** Section type names, for errors. */
export const SECTION_NAMES: Record<number, string> = {
  0x00: 'EOF',
  0x01: 'START',
  0x02: 'PART',
  0x03: 'END',
  0x04: 'FULL',
  0x05: 'SUBSECTION',
  0x06: 'VMDESCRIPTION',
  0x07: 'CONFIGURATION',
  0x08: 'COMMAND',
  0x7e: 'FOOTER',
};
