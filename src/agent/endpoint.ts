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
