/**
 * The web workload's load generator (`pofbench host webload`, started by the runner on the
 * controller side, inside the controller netns locally): autocannon against the guest's HTTP
 * server, one JSON line per 100 ms on stdout (./webBuckets.ts rows with their latency samples).
 * Stops when stdin closes, on SIGTERM/SIGINT, or after `maxSeconds`; prints the open bucket last.
 */
import autocannon from 'autocannon';
import { WebBucketer, type WebRowWithSamples } from './webBuckets.js';

export interface WebLoadClientOptions {
  /** `http://host:port` */
  url: string;
  /** Files to request: URL path and size in bytes. */
  files: { path: string; bytes: number }[];
  order: 'round-robin' | 'random';
  /** Bytes per request (a Range of the file); 0 = the whole file. */
  objectBytes: number;
  connections: number;
  timeoutS: number;
  maxSeconds: number;
  intervalMs: number;
}

/** The request sequence: which file and which Range each successive request asks for. Pure given `random`. */
export function requestPicker(
  o: Pick<WebLoadClientOptions, 'files' | 'order' | 'objectBytes'>,
  random: () => number = Math.random,
): () => { path: string; range?: string } {
  let i = 0;
  return () => {
    const n = i++;
    const fi = o.order === 'random' ? Math.floor(random() * o.files.length) : n % o.files.length;
    const f = o.files[fi];
    if (o.objectBytes <= 0 || o.objectBytes >= f.bytes) return { path: f.path };
    const slots = Math.floor(f.bytes / o.objectBytes);
    const slot = o.order === 'random' ? Math.floor(random() * slots) : Math.floor(n / o.files.length) % slots;
    const from = slot * o.objectBytes;
    return { path: f.path, range: `bytes=${from}-${from + o.objectBytes - 1}` };
  };
}

/**
 * autocannon's client keeps one queue of outstanding requests per connection and assumes
 * keep-alive. busybox httpd closes the connection after each response, and autocannon then writes
 * the next request on the closing socket before reconnecting: the queue gains a stale entry per
 * request and every later latency is measured from a stale start. Dropping the old socket (and
 * its queue) whenever the client (re)connects keeps one request per connection, timed from its
 * connect — the latency a client of a non-keep-alive server sees.
 */
interface AutocannonClientInternals {
  conn?: unknown;
  _connect(): void;
  _destroyConnection(): void;
}
function oneRequestPerConnection(client: unknown): void {
  const c = client as AutocannonClientInternals;
  const connect = c._connect;
  c._connect = function (this: AutocannonClientInternals) {
    if (this.conn) this._destroyConnection();
    connect.call(this);
  };
}

export async function runWebLoadClient(o: WebLoadClientOptions): Promise<void> {
  const started = Date.now();
  const buckets = new WebBucketer(started, o.intervalMs);
  const print = (rows: WebRowWithSamples[]) => {
    for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  };
  const pick = requestPicker(o);
  let finished!: () => void;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const instance = autocannon(
    {
      url: o.url,
      connections: o.connections,
      duration: o.maxSeconds,
      timeout: o.timeoutS,
      setupClient: oneRequestPerConnection,
      requests: [
        {
          setupRequest: (req) => {
            const p = pick();
            return { ...req, path: p.path, headers: { ...req.headers, ...(p.range ? { range: p.range } : {}) } };
          },
        },
      ],
    },
    () => finished(),
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    const t = Date.now();
    print(statusCode >= 200 && statusCode < 300 ? buckets.ok(t, responseTime) : buckets.error(t, false));
  });
  instance.on('reqError', (err: unknown) => {
    print(buckets.error(Date.now(), err instanceof Error && /timed out/.test(err.message)));
  });
  const timer = setInterval(() => print(buckets.flush(Date.now())), o.intervalMs);
  let stopped = false;
  const stop = () => {
    if (!stopped) {
      stopped = true;
      instance.stop();
    }
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await done;
  clearInterval(timer);
  print(buckets.finish(Date.now()));
  process.stdin.pause();
}
