import { relative } from 'node:path';
import type { RunRecord } from '../results/record.js';
import { runLines } from './influxPoints.js';
import { readRunSeries } from './runDirSeries.js';
import { writeLines, DEFAULT_TUNING, type InfluxConfig, type WriteTuning } from './influxWriter.js';
import { findSpooledRuns, readSpool, settleSpool, spoolLines, spoolPath } from './influxSpool.js';

export type { InfluxConfig } from './influxWriter.js';

export interface PushSummary {
  runs: number;
  lines: number;
  /** Run directories whose spool (or part of it) is still waiting, with the reason. */
  failed: { dir: string; error: string }[];
}

/**
 * The InfluxDB sink: sends each finished run (its record and series) to InfluxDB; what cannot be
 * sent is spooled in the run directory for `pofbench results push`. Local files stay the source of
 * truth: nothing here ever changes run.json.
 */
export class InfluxSink {
  constructor(
    readonly config: InfluxConfig,
    private readonly log: (line: string) => void,
    private readonly tuning: WriteTuning = DEFAULT_TUNING,
  ) {}

  describe(): string {
    return `InfluxDB ${this.config.url} (org ${this.config.org}, bucket ${this.config.bucket})`;
  }

  /** Sends one run; returns whether it was sent or spooled. */
  async writeRun(record: RunRecord, runDir: string): Promise<'sent' | 'spooled'> {
    const lines = runLines(record, await readRunSeries(runDir));
    const r = await writeLines(this.config, lines, this.tuning);
    if (r.unsent.length === 0) {
      this.log(`influx: ${record.run_id}: ${r.sent} points written`);
      return 'sent';
    }
    await spoolLines(runDir, r.unsent);
    this.log(
      `influx: ${record.run_id}: ${this.config.url} failed (${r.error}); ${r.unsent.length} of ${lines.length} ` +
        `points spooled to ${spoolPath(runDir)} — send later with \`pofbench results push\``,
    );
    return 'spooled';
  }

  /**
   * Spools one run without trying to send it (an interrupted session: exit must not wait on InfluxDB);
   * `pofbench results push` sends it later.
   */
  async spoolRun(record: RunRecord, runDir: string): Promise<void> {
    const lines = runLines(record, await readRunSeries(runDir));
    await spoolLines(runDir, lines);
    this.log(`influx: ${record.run_id}: ${lines.length} points spooled to ${spoolPath(runDir)} (session interrupted)`);
  }

  /** Sends every spooled run under `dir` and marks each fully sent spool as pushed. */
  async pushSpools(dir: string): Promise<PushSummary> {
    const summary: PushSummary = { runs: 0, lines: 0, failed: [] };
    for (const runDir of await findSpooledRuns(dir)) {
      const name = relative(dir, runDir) || runDir;
      const lines = await readSpool(runDir);
      const r = await writeLines(this.config, lines, this.tuning);
      await settleSpool(runDir, r.unsent);
      summary.lines += r.sent;
      if (r.unsent.length) {
        summary.failed.push({ dir: runDir, error: r.error ?? 'not accepted' });
        this.log(`${name}: ${r.unsent.length} of ${lines.length} points not sent (${r.error}); kept in the spool`);
      } else {
        summary.runs++;
        this.log(`${name}: ${r.sent} points sent`);
      }
    }
    return summary;
  }
}
