import { readSeries, type HostRow, type QmpRow } from '../results/series.js';
import type { RunSeries } from './influxPoints.js';

/**
 * The series the InfluxDB sink exports, from a run directory. A missing file gives no rows; a line
 * that does not parse (a run killed mid-write leaves a partial last line) is skipped.
 */
export async function readRunSeries(runDir: string): Promise<RunSeries> {
  const [qmp, hostSrc, hostDst] = await Promise.all([
    readSeries<QmpRow>(runDir, 'qmp'),
    readSeries<HostRow>(runDir, 'host-src'),
    readSeries<HostRow>(runDir, 'host-dst'),
  ]);
  return { qmp, hostSrc, hostDst };
}
