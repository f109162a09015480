import { connect, type NetConnectOpts, type Server, type Socket } from 'node:net';
import { UserError } from '../util/errors.js';

export type Endpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Parses `unix:PATH` or `tcp:HOST:PORT` (flag values of the agent commands). */
export function parseEndpoint(spec: string, flag: string): Endpoint {
  if (spec.startsWith('unix:') && spec.length > 5) return { kind: 'unix', path: spec.slice(5) };
  const m = /^tcp:([^:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(spec);
  if (m && Number(m[2]) > 0 && Number(m[2]) < 65536)
    return { kind: 'tcp', host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  throw new UserError(`${flag} "${spec}" is not unix:PATH or tcp:HOST:PORT`);
}

/** The flag value `parseEndpoint` reads back (an IPv6 host in brackets). */
export function formatEndpoint(ep: Endpoint): string {
  if (ep.kind === 'unix') return `unix:${ep.path}`;
  return `tcp:${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`;
}

/** For log lines and errors. */
export const describe = (ep: Endpoint): string =>
  ep.kind === 'unix' ? `unix:${ep.path}` : `tcp:${ep.host}:${ep.port}`;

export function listenOn(server: Server, ep: Endpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (ep.kind === 'unix') server.listen(ep.path, () => resolve());
    else server.listen(ep.port, ep.host, () => resolve());
  });
}

export function connectTo(ep: Endpoint, timeoutMs = 10000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // a write queue of a few MiB: a 64 KiB write does not report "full" (and pause the reader) every time
    const writableHighWaterMark = 4 * 1024 * 1024;
    // (a Duplex option net.Socket honours; @types/node does not list it on the connect options)
    const where: NetConnectOpts = ep.kind === 'unix' ? { path: ep.path } : { port: ep.port, host: ep.host };
    const s = connect(Object.assign(where, { writableHighWaterMark }));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect to ${describe(ep)} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.setNoDelay?.(true);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot connect to ${describe(ep)}: ${e.message}`));
    });
  });
}
