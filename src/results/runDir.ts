import { mkdir, writeFile } from 'node:fs/promises';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { RUN_FILE, type RunRecord } from './record.js';
import { writeFileAtomic } from '../util/atomicFile.js';

export { writeFileAtomic } from '../util/atomicFile.js';

/**
 * One migration's directory under the results dir: `run.json` (the record), `series/*.jsonl`
 * (time series), logs. Local files are the source of truth for every report and sink.
 */
export class RunDir {
  private readonly streams = new Map<string, WriteStream>();
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
    s.write(`${JSON.stringify(row)}\n`);
  }

  async writeText(name: string, text: string): Promise<void> {
    await writeFile(join(this.path, name), text);
  }

  async writeRecord(record: RunRecord): Promise<void> {
    await writeFileAtomic(join(this.path, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => new Promise<void>((r) => s.end(r))));
    this.streams.clear();
  }
}
