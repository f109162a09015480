/**
 * NAS read paths measured side by side against one throwaway nfs-ganesha (src/testbed/local/scratchNas.ts):
 * pofbench's own NFSv3 client (src/nfs) and the FUSE file a qemu-storage-daemon (libnfs) exposes, which
 * is how the target agent reads NAS blocks today (src/testbed/nasView.ts). For each access pattern:
 * MB/s and CPU seconds per GB read of the reading process, of the helper (qemu-storage-daemon) and of
 * ganesha.
 *
 *   node dist/src/bench/nfsBench.js [--mib 256] [--repeat 3] [--no-fuse] [--json]
 *
 * Needs root (namespaces, FUSE). Starts and stops everything itself.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { NfsClient, type NfsFile } from '../nfs/index.js';
import { startScratchNas, type ScratchNas } from '../testbed/local/scratchNas.js';
import { stopPid } from '../testbed/local/daemons.js';
import { processCpuSeconds } from '../util/procStat.js';
import { mulberry32 } from '../util/prng.js';
import { run, sleep } from '../util/exec.js';
import { median } from '../util/quantile.js';

const BLOCK = 4096;
const KiB = 1024;

/** One read: `len` bytes at `offset`, into the slot's buffer where the path uses one; resolves to bytes read. */
type ReadFn = (offset: number, len: number, slot: number) => Promise<number>;

export interface Pattern {
  name: string;
  /** Bytes per request. */
  size: number;
  /** Requests kept in flight. */
  depth: number;
  /** Request offsets for one run over a file of `fileSize` bytes. */
  offsets(fileSize: number, seed: number): number[];
}

export const PATTERNS: Pattern[] = [
  {
    name: 'sequential 256 KiB',
    size: 256 * KiB,
    depth: 8,
    offsets: (n) => Array.from({ length: Math.floor(n / (256 * KiB)) }, (_, i) => i * 256 * KiB),
  },
  {
    name: 'runs of 16 blocks (64 KiB), random',
    size: 64 * KiB,
    depth: 64,
    offsets: (n, seed) => randomBlocks(n, seed, 16, n / 2),
  },
  {
    name: 'single 4 KiB blocks, random',
    size: BLOCK,
    depth: 64,
    offsets: (n, seed) => randomBlocks(n, seed, 1, n / 4),
  },
];

/** Offsets of random runs of `run` blocks, `total` bytes in all. */
function randomBlocks(fileSize: number, seed: number, run: number, total: number): number[] {
  const rnd = mulberry32(seed);
  const starts = Math.floor(fileSize / BLOCK) - run;
  return Array.from({ length: Math.floor(total / (run * BLOCK)) }, () => Math.floor(rnd() * starts) * BLOCK);
}

export interface Sample {
  path: string;
  pattern: string;
  bytes: number;
  seconds: number;
  /** CPU seconds of this process (the reader). */
  readerCpu: number;
  /** CPU seconds of the helper process (qemu-storage-daemon), 0 without one. */
  helperCpu: number;
  /** CPU seconds of nfs-ganesha. */
  serverCpu: number;
}

async function cpuOf(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  return processCpuSeconds(await readFile(`/proc/${pid}/stat`, 'utf8'));
}

/** Issues `offsets` through `read`, `depth` at a time; measures time and CPU. */
async function measure(
  path: string,
  p: Pattern,
  offsets: number[],
  read: ReadFn,
  pids: { helper?: number; server: number },
): Promise<Sample> {
  const [h0, s0] = [await cpuOf(pids.helper), await cpuOf(pids.server)];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  let bytes = 0;
  await Promise.all(
    Array.from({ length: p.depth }, async (_, slot) => {
      while (next < offsets.length) {
        const n = await read(offsets[next++], p.size, slot);
        bytes += n;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const [h1, s1] = [await cpuOf(pids.helper), await cpuOf(pids.server)];
  const expected = offsets.length * p.size;
  if (bytes !== expected) throw new Error(`${path} ${p.name}: read ${bytes} bytes, expected ${expected}`);
  const readerCpu = (c.user + c.system) / 1e6;
  return { path, pattern: p.name, bytes, seconds, readerCpu, helperCpu: h1 - h0, serverCpu: s1 - s0 };
}

/** A qemu-storage-daemon exposing the image over libnfs as a FUSE file, as src/testbed/nasView.ts does. */
async function startFuseView(
  nas: ScratchNas,
  rel: string,
): Promise<{ path: string; pid: number; stop(): Promise<void> }> {
  const mountpoint = join(nas.dir, 'fuse-view.raw');
  const pidfile = join(nas.dir, 'fuse-view.pid');
  await writeFile(mountpoint, '');
  const nfs = {
    driver: 'nfs',
    'node-name': 'nas',
    server: { type: 'inet', host: nas.server },
    path: `${nas.exportPath}/${rel}`,
  };
  await run(
    'qemu-storage-daemon',
    [
      '--blockdev',
      JSON.stringify({ ...nfs, 'read-only': true }),
      '--blockdev',
      JSON.stringify({ driver: 'raw', 'node-name': 'img', file: 'nas', 'read-only': true }),
      '--export',
      `type=fuse,id=view,node-name=img,mountpoint=${mountpoint},writable=off`,
      '--pidfile',
      pidfile,
      '--daemonize',
    ],
    { timeoutMs: 30000 },
  );
  const pid = Number((await readFile(pidfile, 'utf8')).trim());
  return {
    path: mountpoint,
    pid,
    stop: async () => {
      await stopPid(pid, 5000);
      await run('umount', [mountpoint], { allowFail: true });
    },
  };
}

/**
 * The floor: receiving `bytes` over a plain TCP connection from inside the NAS namespace (a node
 * sender writing 1 MiB buffers), measured like the read paths: what any userspace reader pays here.
 */
async function plainTcpReceive(nas: ScratchNas, bytes: number): Promise<Sample> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, nas.client, r));
  const port = (server.address() as AddressInfo).port;
  const mib = Math.floor(bytes / (1 << 20));
  const send =
    `const s=require('net').connect(${port},'${nas.client}');const b=Buffer.alloc(1<<20,1);let n=0;` +
    `function w(){while(n<${mib}){n++;if(!s.write(b))return s.once('drain',w);}s.end();}s.on('connect',w);`;
  const sender = spawn('ip', ['netns', 'exec', nas.ns, process.execPath, '-e', send], { stdio: 'ignore' });
  try {
    return await new Promise<Sample>((resolve, reject) => {
      sender.on('exit', (code) => code !== 0 && reject(new Error(`TCP sender in ${nas.ns} exited with ${code}`)));
      server.once('connection', (sock) => {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        let got = 0;
        sock.on('data', (d: Buffer) => {
          got += d.length;
        });
        sock.on('end', () => {
          const c = process.cpuUsage(c0);
          const seconds = (performance.now() - t0) / 1000;
          const readerCpu = (c.user + c.system) / 1e6;
          const path = 'plain TCP receive (floor)';
          resolve({ path, pattern: 'stream', bytes: got, seconds, readerCpu, helperCpu: 0, serverCpu: 0 });
        });
      });
    });
  } finally {
    if (sender.exitCode === null && sender.pid) await stopPid(sender.pid, 2000);
    server.close();
  }
}

function nfsReader(f: NfsFile): ReadFn {
  return async (offset, len) => (await f.read(offset, len)).length;
}

/** Reads into one reused buffer per slot, as the target agent does with its slabs. */
function fileReader(fh: FileHandle, maxSize: number, depth: number): ReadFn {
  const slabs = Array.from({ length: depth }, () => Buffer.allocUnsafe(maxSize));
  return async (offset, len, slot) => {
    let done = 0;
    while (done < len) {
      const { bytesRead } = await fh.read(slabs[slot], done, len - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  };
}

export interface NfsBenchOptions {
  mib: number;
  repeat: number;
  fuse: boolean;
  log?: (line: string) => void;
}

/** Starts a scratch NAS with a random image of `mib` MiB and measures every pattern `repeat` times per path. */
export async function benchNfs(o: NfsBenchOptions): Promise<Sample[]> {
  const log = o.log ?? (() => undefined);
  const nas = await startScratchNas({ name: 'bench', slot: 1, log });
  const samples: Sample[] = [];
  let fuse: Awaited<ReturnType<typeof startFuseView>> | undefined;
  let client: NfsClient | undefined;
  try {
    const rel = 'img.raw';
    const size = o.mib * 1024 * 1024;
    await writeFile(join(nas.exportDir, rel), randomBytes(size));
    client = await NfsClient.connect({ host: nas.server, exportPath: nas.exportPath, uid: 0, gid: 0 });
    const file = await client.open(rel);
    const { maxRead, fsinfo, mountPort } = client.info;
    log(`nfs client: READ size ${maxRead} (rtmax ${fsinfo.rtmax}), mount port ${mountPort}`);
    if (o.fuse) fuse = await startFuseView(nas, rel);
    const view = fuse;
    const bothPaths = async (p: Pattern, offsets: number[]): Promise<Sample[]> => {
      const out = [await measure('own NFSv3 client', p, offsets, nfsReader(file), { server: nas.ganeshaPid })];
      if (!view) return out;
      const fh = await open(view.path, 'r');
      try {
        const pids = { helper: view.pid, server: nas.ganeshaPid };
        out.push(await measure('qemu-storage-daemon FUSE', p, offsets, fileReader(fh, p.size, p.depth), pids));
      } finally {
        await fh.close();
      }
      return out;
    };
    // one untimed pass over an eighth of each pattern first: JIT and caches warm for both paths
    for (const p of PATTERNS) {
      const offsets = p.offsets(size, 999);
      await bothPaths(p, offsets.slice(0, Math.ceil(offsets.length / 8)));
    }
    for (let r = 0; r < o.repeat; r++) {
      samples.push(await plainTcpReceive(nas, size));
      log(describe(samples[samples.length - 1]));
      for (const p of PATTERNS) {
        for (const sample of await bothPaths(p, p.offsets(size, 1000 + r))) {
          samples.push(sample);
          log(describe(sample));
        }
        await sleep(100);
      }
    }
    return samples;
  } finally {
    await client?.close().catch(() => undefined);
    await fuse?.stop();
    await nas.stop();
  }
}

const perGB = (cpu: number, bytes: number) => cpu / (bytes / 1e9);

function describe(s: Sample): string {
  return (
    `${s.path}, ${s.pattern}: ${(s.bytes / 1e6 / s.seconds).toFixed(0)} MB/s, ` +
    `reader ${perGB(s.readerCpu, s.bytes).toFixed(2)} + helper ${perGB(s.helperCpu, s.bytes).toFixed(2)} CPU s/GB, ` +
    `ganesha ${perGB(s.serverCpu, s.bytes).toFixed(2)} CPU s/GB`
  );
}

/** Medians per path and pattern, as printable rows. */
export function summarize(samples: Sample[]): string[][] {
  const rows = [
    ['path', 'pattern', 'MB/s', 'reader CPU s/GB', 'helper CPU s/GB', 'access path CPU s/GB', 'ganesha CPU s/GB'],
  ];
  const keys = [...new Set(samples.map((s) => `${s.pattern}\u0000${s.path}`))];
  for (const key of keys) {
    const [pattern, path] = key.split('\u0000');
    const ss = samples.filter((s) => s.path === path && s.pattern === pattern);
    const m = (f: (s: Sample) => number) => median(ss.map(f));
    const cpu = (f: (s: Sample) => number) => m((s) => perGB(f(s), s.bytes)).toFixed(2);
    rows.push([
      path,
      pattern,
      m((s) => s.bytes / 1e6 / s.seconds).toFixed(0),
      cpu((s) => s.readerCpu),
      cpu((s) => s.helperCpu),
      cpu((s) => s.readerCpu + s.helperCpu),
      cpu((s) => s.serverCpu),
    ]);
  }
  return rows;
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string, dflt: number) => {
    const i = argv.indexOf(name);
    const v = i >= 0 ? Number(argv[i + 1]) : dflt;
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} needs a positive integer`);
    return v;
  };
  if (process.getuid?.() !== 0) throw new Error('the NFS bench needs root (network namespace, FUSE)');
  const fuse = !argv.includes('--no-fuse') && spawnSync('sh', ['-c', 'command -v qemu-storage-daemon']).status === 0;
  const samples = await benchNfs({
    mib: arg('--mib', 256),
    repeat: arg('--repeat', 3),
    fuse,
    log: (l) => process.stderr.write(`nfs-bench: ${l}\n`),
  });
  if (argv.includes('--json')) {
    console.log(JSON.stringify(samples, null, 2));
    return;
  }
  const rows = summarize(samples);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
  console.log(`(medians of ${arg('--repeat', 3)}; CPU s/GB = CPU seconds per GB read; access path = reader + helper)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(`nfs-bench: ${err.message}`);
    process.exit(1);
  });
}
