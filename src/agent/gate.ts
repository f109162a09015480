import type { Server, Socket } from 'node:net';
import { FrameType, encodeFrame, newNonce, helloPayload, checkAuth, authOkPayload, frameName } from './channel.js';

/** The one frame a source sends before it is authenticated: AUTH, nonceS[32] | HMAC[32]. */
export const AUTH_FRAME_BYTES = 5 + 64;
/** Unauthenticated connections held at once; more are closed as they arrive. */
export const DEFAULT_MAX_PENDING = 4;
/** How long a connection has to authenticate. */
export const DEFAULT_HANDSHAKE_MS = 3000;

/**
 * How far a refused peer got: `busy` (closed on arrival, all slots taken), `header` (its first frame
 * header was not AUTH of 64 bytes, or it sent more than that), `auth` (wrong secret or label, or
 * another source was first), `deadline`, `closed` (it went away).
 */
export type RefusalStage = 'busy' | 'header' | 'auth' | 'deadline' | 'closed';
export interface Refusal {
  stage: RefusalStage;
  reason: string;
  pastHeader: boolean;
  bytes: number;
}

export interface GateOptions {
  secret: Buffer;
  label: string;
  maxPending?: number;
  handshakeMs?: number;
  log?: (line: string) => void;
  /** Every refused connection (counted by the target's stats; the fuzz reads how deep each got). */
  onRefused?: (r: Refusal) => void;
}

export interface Gate {
  /** The first connection that authenticated (paused; AUTH_OK sent). */
  peer: Promise<Socket>;
  /** Refuses every pending connection (the gate is done with them). */
  close(): void;
}

/**
 * Admits the source agent on `server`: HELLO → AUTH → AUTH_OK (see channel.ts). Before that a
 * connection costs little: at most `maxPending` are held at once (more are destroyed on arrival),
 * each has `handshakeMs` to authenticate, and its bytes are checked as they come — the first frame
 * header must be AUTH of 64 bytes, and a connection is refused the moment it sends more than the
 * 69 bytes of that frame. No stream byte is read before authentication.
 */
export function admitSource(server: Server, o: GateOptions): Gate {
  const maxPending = o.maxPending ?? DEFAULT_MAX_PENDING;
  const handshakeMs = o.handshakeMs ?? DEFAULT_HANDSHAKE_MS;
  const pending = new Set<(stage: RefusalStage, why: string) => void>();
  let admitted = false;
  let resolvePeer!: (s: Socket) => void;
  const peer = new Promise<Socket>((resolve) => {
    resolvePeer = resolve;
  });
  const refused = (r: Refusal, addr: string | undefined) => {
    o.log?.(`refused peer ${addr}: ${r.reason}`);
    o.onRefused?.(r);
  };
  server.on('connection', (sock: Socket) => {
    sock.on('error', () => undefined);
    if (admitted || pending.size >= maxPending) {
      sock.destroy();
      const reason = admitted ? 'a source is already authenticated' : `${maxPending} connections already pending`;
      refused({ stage: 'busy', reason, pastHeader: false, bytes: 0 }, sock.remoteAddress);
      return;
    }
    const refuse = handshake(sock, o, handshakeMs, {
      done: () => pending.delete(refuse),
      refused: (r) => refused(r, sock.remoteAddress),
      claim: () => {
        if (admitted) return false;
        admitted = true;
        for (const other of [...pending]) other('auth', 'another source authenticated first');
        return true;
      },
      admitted: resolvePeer,
    });
    pending.add(refuse);
  });
  return {
    peer,
    close: () => {
      for (const r of [...pending]) r('closed', 'the target agent stopped waiting');
    },
  };
}

interface HandshakeHooks {
  done(): void;
  refused(r: Refusal): void;
  /** True for the first authenticated connection only. */
  claim(): boolean;
  admitted(s: Socket): void;
}

/** One connection's handshake; returns the function that refuses it. */
function handshake(sock: Socket, o: GateOptions, handshakeMs: number, h: HandshakeHooks) {
  sock.setNoDelay(true);
  const nonceT = newNonce();
  const got = Buffer.alloc(AUTH_FRAME_BYTES);
  let bytes = 0;
  let pastHeader = false;
  let settled = false;
  const settle = () => {
    if (settled) return false;
    settled = true;
    clearTimeout(timer);
    sock.removeListener('data', onData);
    h.done();
    return true;
  };
  const refuse = (stage: RefusalStage, reason: string) => {
    if (!settle()) return;
    h.refused({ stage, reason, pastHeader, bytes });
    if (stage === 'closed') return void sock.destroy();
    // a short ERROR frame for a source that got something wrong, then the connection is gone
    sock.end(encodeFrame(FrameType.ERROR, Buffer.from(`refused: ${reason}`)), () => sock.destroy());
    setTimeout(() => sock.destroy(), 500).unref();
  };
  const onData = (d: Buffer) => {
    if (bytes + d.length > AUTH_FRAME_BYTES) {
      bytes += d.length;
      return refuse('header', `${bytes} bytes before authentication (the AUTH frame is ${AUTH_FRAME_BYTES})`);
    }
    d.copy(got, bytes);
    bytes += d.length;
    if (!pastHeader && bytes >= 5) {
      const type = got[0];
      const len = got.readUInt32BE(1);
      if (type !== FrameType.AUTH || len !== 64) {
        return refuse('header', `expected AUTH, got ${frameName(type)} of ${len} bytes`);
      }
      pastHeader = true;
    }
    if (bytes < AUTH_FRAME_BYTES) return;
    const nonceS = checkAuth(o.secret, o.label, nonceT, got.subarray(5));
    if (!nonceS) return refuse('auth', 'bad secret or label');
    settle();
    if (!h.claim()) {
      h.refused({ stage: 'auth', reason: 'another source authenticated first', pastHeader, bytes });
      return void sock.destroy();
    }
    sock.pause();
    sock.write(encodeFrame(FrameType.AUTH_OK, authOkPayload(o.secret, o.label, nonceS, nonceT)));
    h.admitted(sock);
  };
  const timer = setTimeout(() => refuse('deadline', `no authentication within ${handshakeMs} ms`), handshakeMs);
  sock.on('data', onData);
  sock.on('close', () => refuse('closed', 'closed before authenticating'));
  sock.write(encodeFrame(FrameType.HELLO, helloPayload(nonceT)));
  return refuse;
}
