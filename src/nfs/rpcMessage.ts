/**
 * ONC-RPC v2 messages (RFC 5531): call headers, AUTH_NONE / AUTH_SYS credentials and the reply
 * header, whose failures become `RpcError`s naming what the server said.
 */
import { hostname } from 'node:os';
import { type XdrReader, XdrWriter } from './xdr.js';

export const RPC_VERSION = 2;
export const MSG_CALL = 0;
export const MSG_REPLY = 1;
export const AUTH_NONE = 0;
export const AUTH_SYS = 1;

/** An opaque_auth: flavor and body. */
export interface RpcAuth {
  flavor: number;
  body: Buffer;
}

export const authNone = (): RpcAuth => ({ flavor: AUTH_NONE, body: Buffer.alloc(0) });

export interface AuthSysOptions {
  uid: number;
  gid: number;
  /** Supplementary groups, at most 16. */
  gids?: number[];
  /** Defaults to this machine's host name (cut to 255 bytes). */
  machineName?: string;
  stamp?: number;
}

/** AUTH_SYS (a.k.a. AUTH_UNIX) credential: stamp, machine name, uid, gid, groups. */
export function authSys(o: AuthSysOptions): RpcAuth {
  const gids = o.gids ?? [];
  if (gids.length > 16) throw new Error(`AUTH_SYS carries at most 16 groups, got ${gids.length}`);
  const name = Buffer.from(o.machineName ?? hostname(), 'utf8').subarray(0, 255);
  const w = new XdrWriter(64 + name.length + 4 * gids.length);
  w.u32((o.stamp ?? Math.floor(Date.now() / 1000)) >>> 0)
    .opaque(name)
    .u32(o.uid)
    .u32(o.gid)
    .u32(gids.length);
  for (const g of gids) w.u32(g);
  const body = Buffer.from(w.finish());
  if (body.length > 400) throw new Error(`AUTH_SYS credential of ${body.length} bytes exceeds 400`);
  return { flavor: AUTH_SYS, body };
}

export interface CallHeader {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  cred: RpcAuth;
}

/** Writes a call header after the 4 reserved record-mark bytes; the caller appends the arguments. */
export function writeCallHeader(w: XdrWriter, h: CallHeader): void {
  w.u32(h.xid).u32(MSG_CALL).u32(RPC_VERSION).u32(h.prog).u32(h.vers).u32(h.proc);
  w.u32(h.cred.flavor).opaque(h.cred.body, 400);
  w.u32(AUTH_NONE).u32(0);
}

const ACCEPT_STAT = ['SUCCESS', 'PROG_UNAVAIL', 'PROG_MISMATCH', 'PROC_UNAVAIL', 'GARBAGE_ARGS', 'SYSTEM_ERR'];
const AUTH_STAT = [
  'AUTH_OK',
  'AUTH_BADCRED',
  'AUTH_REJECTEDCRED',
  'AUTH_BADVERF',
  'AUTH_REJECTEDVERF',
  'AUTH_TOOWEAK',
  'AUTH_INVALIDRESP',
  'AUTH_FAILED',
  'AUTH_KERB_GENERIC',
  'AUTH_TIMEEXPIRE',
  'AUTH_TKT_FILE',
  'AUTH_DECODE',
  'AUTH_NET_ADDR',
  'RPCSEC_GSS_CREDPROBLEM',
  'RPCSEC_GSS_CTXPROBLEM',
];

/** The server refused or could not run a call (not a status of the program itself). */
export class RpcError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/**
 * Reads a reply's header after xid and message type; returns normally when the call was accepted
 * and run (the reader then sits at the results), throws an RpcError otherwise. `what` names the
 * call in the message.
 */
export function readReplyHeader(r: XdrReader, what: string): void {
  const replyStat = r.u32();
  if (replyStat === 0) {
    r.u32();
    r.opaque(400);
    const acceptStat = r.u32();
    if (acceptStat === 0) return;
    const name = ACCEPT_STAT[acceptStat] ?? `accept_stat ${acceptStat}`;
    const range = acceptStat === 2 ? ` (server has versions ${r.u32()}..${r.u32()})` : '';
    throw new RpcError(`${what}: RPC call not run: ${name}${range}`, name);
  }
  if (replyStat !== 1) throw new RpcError(`${what}: bad RPC reply_stat ${replyStat}`, 'BAD_REPLY');
  const rejectStat = r.u32();
  if (rejectStat === 0) {
    throw new RpcError(`${what}: RPC_MISMATCH (server speaks RPC ${r.u32()}..${r.u32()})`, 'RPC_MISMATCH');
  }
  const authStat = r.u32();
  const name = AUTH_STAT[authStat] ?? `auth_stat ${authStat}`;
  throw new RpcError(`${what}: RPC call denied: AUTH_ERROR ${name}`, name);
}
