/**
 * One hop of `runNodeRelay` (relay.ts), run as its own Node process: `node relayHop.js LISTEN CONNECT`,
 * each `tcp:PORT` (127.0.0.1) or `unix:PATH`. Accepts one connection, connects onward and copies what
 * arrives the way the agents read: into one reused buffer (readIntoReusedBuffer), each read written
 * onward as a view, reading paused until the write is in the kernel. The agents' socket I/O without
 * any codec, so `bench codec` can tell Node's own cost of the hops from the codec's. It stays up (still
 * listening) until killed, so its CPU can be read after the stream is through.
 */
import { createServer, connect, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { readIntoReusedBuffer } from '../util/reusedInput.js';

type End = { port: number; host: string } | { path: string };

function parseEnd(arg: string | undefined): End {
  const m = /^(tcp|unix):(.+)$/.exec(arg ?? '');
  if (!m) throw new Error(`relayHop: expected tcp:PORT or unix:PATH, got "${arg}"`);
  return m[1] === 'tcp' ? { port: Number(m[2]), host: '127.0.0.1' } : { path: m[2] };
}

function relay(accepted: Socket, onward: End): void {
  const out = connect(onward);
  const input = readIntoReusedBuffer(accepted, (view) => {
    let written = false;
    out.write(view, () => {
      written = true;
      if (input.socket.isPaused()) input.socket.resume();
    });
    // the next read reuses the buffer: wait while the view is still queued in Node
    if (!written && out.writableLength > 0) input.socket.pause();
  });
  input.socket.on('end', () => out.end());
  for (const s of [input.socket, out])
    s.on('error', (e) => {
      console.error(`relayHop: ${e.message}`);
      process.exit(1);
    });
}

const listen = parseEnd(process.argv[2]);
const onward = parseEnd(process.argv[3]);
if ('path' in listen) rmSync(listen.path, { force: true });
createServer({ pauseOnConnect: true }, (s) => relay(s, onward)).listen(listen);
