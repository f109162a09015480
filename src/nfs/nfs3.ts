/**
 * Program numbers, status names and the XDR of the few portmap v2, MOUNT v3 and NFSv3 (RFC 1813)
 * procedures the client uses.
 */
import type { XdrReader, XdrWriter } from './xdr.js';

export const PMAP_PROG = 100000;
export const PMAP_VERS = 2;
export const PMAP_PORT = 111;
export const PMAPPROC_GETPORT = 3;
export const IPPROTO_TCP = 6;

export const MOUNT_PROG = 100005;
export const MOUNT_V3 = 3;
export const MOUNTPROC3_MNT = 1;
export const MOUNTPROC3_UMNT = 3;

export const NFS_PROG = 100003;
export const NFS_V3 = 3;
export const NFSPROC3_NULL = 0;
export const NFSPROC3_GETATTR = 1;
export const NFSPROC3_LOOKUP = 3;
export const NFSPROC3_READ = 6;
export const NFSPROC3_FSINFO = 19;

export const NFS3_FHSIZE = 64;
export const NFS3_OK = 0;
export const NFS3ERR_JUKEBOX = 10008;

const NFS3_STATUS: Record<number, string> = {
  0: 'NFS3_OK',
  1: 'NFS3ERR_PERM',
  2: 'NFS3ERR_NOENT',
  5: 'NFS3ERR_IO',
  6: 'NFS3ERR_NXIO',
  13: 'NFS3ERR_ACCES',
  17: 'NFS3ERR_EXIST',
  18: 'NFS3ERR_XDEV',
  19: 'NFS3ERR_NODEV',
  20: 'NFS3ERR_NOTDIR',
  21: 'NFS3ERR_ISDIR',
  22: 'NFS3ERR_INVAL',
  27: 'NFS3ERR_FBIG',
  28: 'NFS3ERR_NOSPC',
  30: 'NFS3ERR_ROFS',
  31: 'NFS3ERR_MLINK',
  63: 'NFS3ERR_NAMETOOLONG',
  66: 'NFS3ERR_NOTEMPTY',
  69: 'NFS3ERR_DQUOT',
  70: 'NFS3ERR_STALE',
  71: 'NFS3ERR_REMOTE',
  10001: 'NFS3ERR_BADHANDLE',
  10002: 'NFS3ERR_NOT_SYNC',
  10003: 'NFS3ERR_BAD_COOKIE',
  10004: 'NFS3ERR_NOTSUPP',
  10005: 'NFS3ERR_TOOSMALL',
  10006: 'NFS3ERR_SERVERFAULT',
  10007: 'NFS3ERR_BADTYPE',
  10008: 'NFS3ERR_JUKEBOX',
};

const MNT3_STATUS: Record<number, string> = {
  0: 'MNT3_OK',
  1: 'MNT3ERR_PERM',
  2: 'MNT3ERR_NOENT',
  5: 'MNT3ERR_IO',
  13: 'MNT3ERR_ACCES',
  20: 'MNT3ERR_NOTDIR',
  22: 'MNT3ERR_INVAL',
  63: 'MNT3ERR_NAMETOOLONG',
  10004: 'MNT3ERR_NOTSUPP',
  10006: 'MNT3ERR_SERVERFAULT',
};

export const nfs3StatusName = (s: number): string => NFS3_STATUS[s] ?? `NFS3 status ${s}`;
export const mnt3StatusName = (s: number): string => MNT3_STATUS[s] ?? `MNT3 status ${s}`;

/** NFS status errors: `status` is the protocol's number, `code` its name (e.g. NFS3ERR_NOENT). */
export class NfsError extends Error {
  readonly code: string;

  constructor(
    readonly op: string,
    readonly path: string,
    readonly status: number,
    code: string,
    server: string,
  ) {
    super(`${op} ${path}: ${code} (${status}) from ${server}`);
    this.name = 'NfsError';
    this.code = code;
  }
}

export const FTYPE_NAMES = [
  '?',
  'regular file',
  'directory',
  'block device',
  'char device',
  'symlink',
  'socket',
  'fifo',
];
export const NF3REG = 1;
export const NF3DIR = 2;

export interface Fattr3 {
  type: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  fileid: number;
  mtimeSec: number;
  mtimeNsec: number;
}

export function readFattr3(r: XdrReader): Fattr3 {
  const type = r.u32();
  const mode = r.u32();
  r.u32();
  const uid = r.u32();
  const gid = r.u32();
  const size = r.u64();
  r.skip(8 + 8 + 8);
  const fileid = r.u64();
  r.skip(8);
  const mtimeSec = r.u32();
  const mtimeNsec = r.u32();
  r.skip(8);
  return { type, mode, uid, gid, size, fileid, mtimeSec, mtimeNsec };
}

export function readPostOpAttr(r: XdrReader): Fattr3 | undefined {
  return r.bool() ? readFattr3(r) : undefined;
}

export const writeFh = (w: XdrWriter, fh: Buffer): void => {
  w.opaque(fh, NFS3_FHSIZE);
};

/** The file handle in a reply, copied out of the (possibly large, shared) received record. */
export const readFh = (r: XdrReader): Buffer => Buffer.from(r.opaque(NFS3_FHSIZE));

export interface FsInfo {
  rtmax: number;
  rtpref: number;
  rtmult: number;
  wtmax: number;
  maxFileSize: number;
}

/** FSINFO3resok after the status and post_op_attr. */
export function readFsInfo(r: XdrReader): FsInfo {
  const rtmax = r.u32();
  const rtpref = r.u32();
  const rtmult = r.u32();
  const wtmax = r.u32();
  r.skip(4 + 4 + 4);
  const hi = r.u32();
  const lo = r.u32();
  const maxFileSize = hi >= 0x20_0000 ? Number.MAX_SAFE_INTEGER : hi * 0x1_0000_0000 + lo;
  return { rtmax, rtpref, rtmult, wtmax, maxFileSize };
}

export interface ReadResult {
  data: Buffer;
  eof: boolean;
}

/** READ3resok after the status: attributes, count, eof, data (a view of the reply). */
export function readRead3Ok(r: XdrReader): ReadResult & { attrs?: Fattr3 } {
  const attrs = readPostOpAttr(r);
  const count = r.u32();
  const eof = r.bool();
  const data = r.opaque();
  if (data.length !== count) throw new Error(`READ reply says count ${count} but carries ${data.length} bytes`);
  return { data, eof, attrs };
}
