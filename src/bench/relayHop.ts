/**
 * One hop of `runNodeRelay` (relay.ts), run as its own Node process: `node relayHop.js LISTEN CONNECT`,
 * each `tcp:PORT` (127.0.0.1) or `unix:PATH`. Accepts one connection, connects onward and copies what
 * arrives ('data' → write, paused while the onward socket drains): the agents' socket I/O without any
 * codec, so `bench codec` can tell Node's own cost of the hops from the codec's. It stays up (still
 * listening) until killed, so its CPU can be read after the stream is through.
 */
import { createServer, connect, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

type End = { port: number; host: string } | { path: string };

function parseEnd(arg: string | undefined): End {
  const m = /^(tcp|unix):(.+)$/.exec(arg ?? '');
  if (!m) throw new Error(`relayHop: expected tcp:PORT or unix:PATH, got "${arg}"`);
  return m[1] === 'tcp' ? { port: Number(m[2]), host: '127.0.0.1' } : { path: m[2] };
}

function relay(input: Socket, onward: End): void {
  const out = connect(onward);
  input.on('data', (d: Buffer) => {
    if (!out.write(d)) {
      input.pause();
      out.once('drain', () => input.resume());
    }
  });
  input.on('end', () => out.end());
  for (const s of [input, out])
    s.on('error', (e) => {
      console.error(`relayHop: ${e.message}`);
      process.exit(1);
    });
}

const listen = parseEnd(process.argv[2]);
const onward = parseEnd(process.argv[3]);
if ('path' in listen) rmSync(listen.path, { force: true });
createServer((s) => relay(s, onward)).listen(listen);
