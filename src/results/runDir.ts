import { mkdir, writeFile } from 'node:fs/promises';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { RUN_FILE, type RunRecord } from './record.js';
import { writeFileAtomic } from '../util/atomicFile.js';

export { writeFileAtomic } from '../util/atomicFile.js';

/** Series rows are written to disk at most this often (a 100 Hz probe: one write, not 25). */
export const SERIES_FLUSH_MS = 250;

/**
 * One migration's directory under the results dir: `run.json` (the record), `series/*.jsonl`
 * (time series), logs. Local files are the source of truth for every report and sink.
 */
export class RunDir {
  private readonly streams = new Map<string, WriteStream>();
  /** Series corked since their first row after the last flush; uncorked by one timer. */
  private readonly corked = new Set<WriteStream>();
  private flushTimer: NodeJS.Timeout | undefined;
  constructor(readonly path: string) {}

  static async create(outDir: string, runId: string): Promise<RunDir> {
    const d = new RunDir(join(outDir, runId));
    await mkdir(join(d.path, 'series'), { recursive: true });
    return d;
  }

  /** Appends one JSON line to `series/<name>.jsonl`. */
  series(name: string, row: unknown): void {
    let s = this.streams.get(name);
    if (!s) {
      s = createWriteStream(join(this.path, 'series', `${name}.jsonl`), { flags: 'a' });
      this.streams.set(name, s);
    }
    if (!this.corked.has(s)) {
      s.cork();
      this.corked.add(s);
      this.flushTimer ??= setTimeout(() => this.flushSeries(), SERIES_FLUSH_MS);
    }
    s.write(`${JSON.stringify(row)}\n`);
  }

  /** Hands every corked series' rows to the file system (one write per series). */
  private flushSeries(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const s of this.corked) s.uncork();
    this.corked.clear();
  }

  async writeText(name: string, text: string): Promise<void> {
    await writeFile(join(this.path, name), text);
  }

  async writeRecord(record: RunRecord): Promise<void> {
    await writeFileAtomic(join(this.path, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
  }

  async close(): Promise<void> {
    this.flushSeries();
    await Promise.all([...this.streams.values()].map((s) => new Promise<void>((r) => s.end(r))));
    this.streams.clear();
  }
}
