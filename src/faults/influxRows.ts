/**
 * InfluxDB rows: unreachable (nothing listens) and hanging (accepts, never answers). Either way the
 * run completes, its points are spooled in the run directory, and the sink gives up in bounded time.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseScenario } from '../scenario/load.js';
import { runSession } from '../runner/session.js';
import { InfluxSink } from '../sinks/influx.js';
import { DEFAULT_TUNING, type WriteTuning } from '../sinks/influxWriter.js';
import { sessionSink } from '../sinks/sessionSink.js';
import { leftoversAfter, row, type ExtraRow, type FaultRow, type SuiteContext } from './row.js';

/** A TCP server that accepts connections and never answers (a hung InfluxDB). */
async function hangingServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.resume(); // reads the request, answers nothing
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** How long the sink may take at most with this tuning (src/sinks/influxWriter.ts bounds it so). */
const sinkBoundMs = (t: WriteTuning) => (t.maxRetries + 1) * (t.timeoutMs + t.maxRetryDelayMs) + 5000;

async function influxRow(c: SuiteContext, name: string, url: string, tuning: WriteTuning): Promise<FaultRow> {
  const scenario = parseScenario(
    `name: fault-${name}\nguest: { memory_mib: 192 }\nworkload: { type: idle, warmup_s: 0 }\n`,
    `fault-${name}.yaml`,
  );
  const sink = sessionSink(
    new InfluxSink({ url, org: 'pofbench', bucket: 'faults' }, (l) => c.log(`  ${l}`), tuning),
    c.outDir,
  );
  let sinkMs = 0;
  const [r] = await runSession({
    scenarios: [scenario],
    strategies: ['stock'],
    testbed: c.testbed,
    image: c.image,
    outDir: c.outDir,
    seed: 1,
    quiet: true,
    onRecord: async (rec, dir) => {
      const t0 = Date.now();
      await sink.onRecord(rec, dir);
      sinkMs = Date.now() - t0;
    },
  });
  const spooled = existsSync(join(c.outDir, r.run_id, 'influx-spool.lp'));
  const leftovers = await leftoversAfter(c);
  const problems: string[] = [];
  if (r.status !== 'completed') problems.push(`the run failed: ${r.error}`);
  if (!spooled) problems.push('its points were not spooled');
  if (sinkMs > sinkBoundMs(tuning)) problems.push(`the sink took ${sinkMs} ms (bound ${sinkBoundMs(tuning)} ms)`);
  return row(
    {
      fault: name,
      strategy: 'stock',
      expected: `complete; points spooled within ${sinkBoundMs(tuning) / 1000} s`,
      observed: `${r.status}${spooled ? ', spooled' : ', NOT spooled'} after ${(sinkMs / 1000).toFixed(1)} s`,
      src_vm_after: '(moved)',
    },
    leftovers,
    problems,
  );
}

export const INFLUX_ROWS: ExtraRow[] = [
  {
    name: 'influx-unreachable',
    run: (c) => {
      c.log('influx-unreachable (stock): InfluxDB down for the whole run');
      const tuning = { batchSize: 5000, maxRetries: 1, minRetryDelayMs: 100, maxRetryDelayMs: 200, timeoutMs: 2000 };
      return influxRow(c, 'influx-unreachable', 'http://127.0.0.1:9', tuning);
    },
  },
  {
    name: 'influx-hanging',
    run: async (c) => {
      c.log("influx-hanging (stock): InfluxDB accepts connections and never answers (pofbench run's own tuning)");
      const server = await hangingServer();
      try {
        return await influxRow(c, 'influx-hanging', server.url, DEFAULT_TUNING);
      } finally {
        await server.close();
      }
    },
  },
];
