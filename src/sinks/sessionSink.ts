import { join } from 'node:path';
import type { RunRecord } from '../results/record.js';
import type { InfluxSink } from './influx.js';

/**
 * How a session hands its runs to the InfluxDB sink: each finished run is sent (or spooled when
 * InfluxDB does not take it); a run the session's interruption ended is spooled without trying to
 * send (the exit must not wait on InfluxDB), and at the interruption every record not yet handed
 * over is spooled — no run's points are lost to an exit.
 */
export function sessionSink(sink: InfluxSink, outDir: string) {
  const handed = new Set<string>();
  const interruptedRun = (r: RunRecord) => /^runner interrupted by /.test(r.error ?? '');
  return {
    onRecord: async (record: RunRecord, runDir: string): Promise<void> => {
      handed.add(record.run_id);
      if (interruptedRun(record)) await sink.spoolRun(record, runDir);
      else await sink.writeRun(record, runDir);
    },
    onInterrupted: async (records: readonly RunRecord[]): Promise<void> => {
      for (const r of records) {
        if (handed.has(r.run_id)) continue;
        handed.add(r.run_id);
        await sink.spoolRun(r, join(outDir, r.run_id));
      }
    },
  };
}
