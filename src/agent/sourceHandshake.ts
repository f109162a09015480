import type { Socket } from 'node:net';
import {
  FrameType,
  encodeFrame,
  readFrames,
  newNonce,
  authPayload,
  checkAuthOk,
  frameName,
  PROTOCOL_VERSION,
} from './channel.js';
import { connectTo, type Endpoint } from './endpoint.js';

/**
 * Connects to the target agent and authenticates. A target holding its most unauthenticated
 * connections closes new ones before HELLO (gate.ts): tried again for up to 10 s.
 */
export async function connectAuthenticated(
  target: Endpoint,
  secret: Buffer,
  label: string,
  log: (l: string) => void,
): Promise<Socket> {
  const until = Date.now() + 10000;
  for (let attempt = 1; ; attempt++) {
    const peer = await connectTo(target);
    try {
      await handshake(peer, secret, label);
      return peer;
    } catch (err) {
      peer.destroy();
      if (!(err instanceof ClosedBeforeHelloError) || Date.now() > until) throw err;
      log(`${(err as Error).message} (busy?): trying again (${attempt})`);
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
    }
  }
}

/** The target closed the connection before its HELLO: busy with other connections (gate.ts), worth another try. */
export class ClosedBeforeHelloError extends Error {}

/** HELLO → AUTH → AUTH_OK; resolves once both sides proved the per-run secret. */
export function handshake(peer: Socket, secret: Buffer, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const nonceS = newNonce();
    let nonceT: Buffer | undefined;
    let settled = false;
    const timer = setTimeout(() => finish(new Error('target agent did not complete the handshake within 10 s')), 10000);
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      peer.removeAllListeners('data');
      peer.removeListener('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onClose = () =>
      finish(
        nonceT
          ? new Error('target agent closed the connection during the handshake')
          : new ClosedBeforeHelloError('target agent closed the connection before its HELLO'),
      );
    peer.once('error', (e) => finish(new Error(`target agent connection: ${e.message}`)));
    peer.on('close', onClose);
    readFrames(
      peer,
      (f) => {
        if (f.type === FrameType.HELLO && !nonceT) {
          if (f.payload.length !== 33 || f.payload[0] !== PROTOCOL_VERSION)
            return finish(new Error(`target agent speaks protocol ${f.payload[0]}, not ${PROTOCOL_VERSION}`));
          nonceT = Buffer.from(f.payload.subarray(1));
          peer.write(encodeFrame(FrameType.AUTH, authPayload(secret, label, nonceT, nonceS)));
        } else if (f.type === FrameType.AUTH_OK && nonceT) {
          if (!checkAuthOk(secret, label, nonceS, nonceT, f.payload))
            return finish(new Error('target agent failed authentication (wrong secret or run)'));
          finish();
        } else if (f.type === FrameType.ERROR) {
          finish(new Error(`target agent refused us: ${f.payload.toString('utf8')}`));
        } else {
          finish(new Error(`unexpected ${frameName(f.type)} frame during the handshake`));
        }
      },
      (e) => finish(e),
    );
  });
}
