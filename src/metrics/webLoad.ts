/**
 * Controller side of the web workload's load: runs `pofbench host webload` (./webLoadClient.ts)
 * as a child process — inside the controller netns when the testbed has one (the vm network is
 * only reachable there locally), directly otherwise — and collects its 100 ms rows.
 */
import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { pofbenchCommand } from '../util/paths.js';
import type { WebRowWithSamples } from './webBuckets.js';
import type { WebLoadSpec } from '../workload/types.js';

const isRow = (v: unknown): v is WebRowWithSamples =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { t?: unknown }).t === 'number' &&
  Array.isArray((v as { lat_ms?: unknown }).lat_ms);

export class WebLoad {
  readonly rows: WebRowWithSamples[] = [];
  private proc?: ResultPromise;
  private exited = false;
  private stderr = '';
  startedAt = 0;

  constructor(
    private readonly address: string,
    private readonly spec: WebLoadSpec,
    private readonly netns?: string,
  ) {}

  /** The child's command line (argv), without the netns wrapper. */
  argv(maxSeconds: number): string[] {
    const s = this.spec;
    return [
      ...pofbenchCommand(),
      'host',
      'webload',
      '--url',
      `http://${this.address}:${s.port}`,
      ...s.files.flatMap((f) => ['--file', `${f.path}:${f.bytes}`]),
      '--order',
      s.order,
      '--object-bytes',
      String(s.objectBytes),
      '--connections',
      String(s.connections),
      '--timeout-s',
      String(s.timeoutS),
      '--max-seconds',
      String(Math.ceil(maxSeconds)),
      '--interval-ms',
      '100',
    ];
  }

  /** Starts the load; it ends by itself after `maxSeconds` at the latest. */
  start(maxSeconds: number): void {
    const argv = this.argv(maxSeconds);
    const [file, args] = this.netns ? ['ip', ['netns', 'exec', this.netns, ...argv]] : [argv[0], argv.slice(1)];
    this.startedAt = Date.now();
    this.proc = execa(file, args, { reject: false, buffer: false, stdin: 'pipe', cleanup: true });
    this.proc.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-500);
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      try {
        const row: unknown = JSON.parse(line);
        if (isRow(row)) this.rows.push(row);
      } catch {
        /* not a row */
      }
    });
    void this.proc.then(() => {
      this.exited = true;
    });
  }

  /** Resolves once a successful response arrived after `sinceMs`; rejects on timeout or if the load died. */
  async waitForOk(sinceMs: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.rows.some((r) => r.ok > 0 && r.t >= sinceMs)) return;
      if (this.exited) throw new Error(`web load generator exited: ${this.stderr.trim() || 'no output'}`);
      if (Date.now() > deadline)
        throw new Error(
          `no successful HTTP response from ${this.address}:${this.spec.port} within ${timeoutMs} ` +
            `ms${this.rows.length ? ` (${this.rows.reduce((s, r) => s + r.errors, 0)} errors)` : ''}`,
        );
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  /** Stops the load (stdin closed: it prints its last bucket and exits), killing it by PID if it lingers. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = undefined;
    proc.stdin?.end();
    const timer = setTimeout(() => {
      if (proc.pid) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }, 5000);
    await proc;
    clearTimeout(timer);
  }
}
