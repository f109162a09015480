import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostRow, QmpRow, RunSeries } from './influxPoints.js';

/**
 * Rows of `series/<name>.jsonl` in a run directory. A missing file gives no rows; a line that does
 * not parse (a run killed mid-write leaves a partial last line) is skipped.
 */
export async function readSeries<T>(runDir: string, name: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(join(runDir, 'series', `${name}.jsonl`), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const rows: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch {
      /* partial line */
    }
  }
  return rows;
}

/** The series the InfluxDB sink exports, from a run directory. */
export async function readRunSeries(runDir: string): Promise<RunSeries> {
  const [qmp, hostSrc, hostDst] = await Promise.all([
    readSeries<QmpRow>(runDir, 'qmp'),
    readSeries<HostRow>(runDir, 'host-src'),
    readSeries<HostRow>(runDir, 'host-dst'),
  ]);
  return { qmp, hostSrc, hostDst };
}
