import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { runSession } from '../runner/session.js';
import { renderRunTable } from '../reports/runTable.js';
import { localUpPairs } from '../testbed/local/localTestbed.js';
import { buildImage } from '../image/build.js';
import {
  GUEST_RAM_MODES,
  destinationRamOf,
  sourceRamOf,
  type GuestRamMode,
  type TestbedSpec,
} from '../testbed/spec.js';
import { loadTestbedFile } from '../testbed/testbedFile.js';
import { assertPreflight } from '../testbed/preflight.js';
import { planSession } from '../plan/plan.js';
import { planInputs, type PlanFlags } from './planOptions.js';
import { InfluxSink } from '../sinks/influx.js';
import { addInfluxOptions, influxConfig, type InfluxFlags } from './influxOptions.js';
import { accelConflicts } from '../qemu/migrationSettings.js';
import { STRATEGY_NAMES, type Scenario } from '../scenario/types.js';
import { errorMessage, UserError } from '../util/errors.js';
import { acquireTestbedLock } from '../testbed/lock.js';
import { sessionSink } from '../sinks/sessionSink.js';
import {
  countSessionRuns,
  createSessionDir,
  readSession,
  writeSession,
  type SessionManifest,
  type SessionStatus,
} from '../results/session.js';
import { paramsHash, runParams } from '../results/params.js';
import { pofbenchRevision } from '../runner/session.js';
import { defaultSeed } from '../plan/order.js';
import type { RunRecord } from '../results/record.js';
import { loadRecords } from '../analysis/group.js';
import { comparisonText } from './compare.js';
import { checkScenarioWorkloads } from '../workload/check.js';
import { plannedImageLayout } from '../image/layout.js';
import { parseDatasetMib } from './image.js';

/** Scenario settings the testbed's accelerator cannot honour are refused before any run starts. */
function assertAccelSupports(scenarios: Scenario[], accel: 'tcg' | 'kvm'): void {
  for (const s of scenarios) {
    const c = accelConflicts(s.migration, accel)[0];
    if (c)
      throw new UserError(
        `scenario ${s.file}: field "${c.field}": ${c.reason}`,
        'drop the field or run on a KVM testbed',
      );
  }
}

/**
 * `--testbed`: the local testbed (brought up, with as many pairs as are up: `testbed up --pairs N`), or a
 * testbed file / Ansible inventory (one spec per host pair).
 */
async function resolveTestbeds(which: string, log: (l: string) => void): Promise<TestbedSpec[]> {
  if (which === 'local') return localUpPairs(log);
  return loadTestbedFile(which);
}

type RunFlags = InfluxFlags &
  PlanFlags & {
    out: string;
    testbed: string;
    datasetMib: string;
    quiet?: boolean;
    verbose?: boolean;
    json?: boolean;
    verifyRam?: boolean;
    parallelPairs?: boolean;
    skipPreflight?: boolean;
    sourceRam?: GuestRamMode;
    destinationRam?: GuestRamMode;
  };

/** Everything a session needs that is checked or built before it starts: inputs, sink, image, host pairs. */
async function prepareSession(files: string[], o: RunFlags, log: (l: string) => void) {
  const inputs = await planInputs(files, o);
  const { scenarios, strategies, repeat, resumeDir } = inputs;
  // the session to resume must be one (its manifest), checked before anything starts
  const earlier = resumeDir ? await readSession(resumeDir) : undefined;
  // strategy/capability conflicts and unknown strategies are refused here, before anything starts
  planSession(scenarios, { strategies, repeat });
  // so are workloads the guest or the image cannot hold (checked against the image the build will make)
  checkScenarioWorkloads(scenarios, plannedImageLayout(parseDatasetMib(o.datasetMib)), o);
  const influx = influxConfig(o);
  const sink = influx ? new InfluxSink(influx, log) : undefined;
  log(
    sink
      ? `influx: sending each run to ${sink.describe()}`
      : 'influx: no InfluxDB configured (--influx-url or INFLUX_URL); results stay in local files only',
  );
  // one session per testbed at a time: a second one is refused, naming the holder (src/testbed/lock.ts)
  acquireTestbedLock(o.testbed);
  const image = await buildImage({ datasetMib: parseDatasetMib(o.datasetMib), log });
  const all = (await resolveTestbeds(o.testbed, log)).map((t) => ({
    ...t,
    ...(o.sourceRam ? { sourceRam: o.sourceRam } : {}),
    ...(o.destinationRam ? { destinationRam: o.destinationRam } : {}),
  }));
  const pairs = o.parallelPairs ? all : all.slice(0, 1);
  log(
    `testbed: source QEMU backs guest RAM ${sourceRamOf(pairs[0])}, destination QEMU ` +
      `${destinationRamOf(pairs[0])}`,
  );
  assertAccelSupports(scenarios, pairs[0].accel);
  if (all.length > 1 && !o.parallelPairs)
    log(`testbed: ${all.length} host pairs; using pair ${all[0].pair} only (--parallel-pairs uses all)`);
  if (!o.skipPreflight) {
    await assertPreflight(pairs, { image, memoryMib: Math.max(...scenarios.map((s) => s.guest.memory_mib)) }, log);
  }
  return { inputs, earlier, sink, image, pairs, seed: inputs.seed ?? defaultSeed() };
}

type PreparedSession = Awaited<ReturnType<typeof prepareSession>>;

/** session.json as the session starts (a resumed session keeps its id, start and QEMU versions). */
async function startManifest(p: PreparedSession, session: { id: string }, started: string): Promise<SessionManifest> {
  const { inputs, earlier, image, pairs, seed } = p;
  const testbed = pairs[0];
  return {
    session_id: session.id,
    status: 'running',
    started_at: earlier?.started_at ?? started,
    seed,
    command_line: process.argv.slice(2),
    pofbench_rev: await pofbenchRevision(),
    testbed: {
      kind: testbed.kind,
      accel: testbed.accel,
      source_ram: sourceRamOf(testbed),
      destination_ram: destinationRamOf(testbed),
      pairs: pairs.map((p) => ({
        ...(p.pair !== undefined ? { pair: p.pair } : {}),
        src: p.hosts.src.name,
        dst: p.hosts.dst.name,
        nas: p.hosts.nas.name,
      })),
    },
    qemu_versions: { ...earlier?.qemu_versions },
    scenarios: inputs.scenarios.map((sc) => {
      const params = runParams(sc, testbed, image.id);
      return {
        name: sc.name,
        file: sc.file,
        ...(sc.config_id ? { config_id: sc.config_id } : {}),
        strategies: inputs.strategies ?? sc.strategies,
        repeat: inputs.repeat ?? sc.repeat,
        params_hash: paramsHash(params),
        params,
      };
    }),
    runs: { planned: 0, completed: 0, failed: 0, warmups: 0 },
    ...(earlier ? { resumed_at: [...(earlier.resumed_at ?? []), started] } : {}),
  };
}

/**
 * The end of the session, written once per outcome, one write at a time: after SIGINT the
 * interrupt handler and the returning run loop both finish it, and "interrupted" stays.
 */
function sessionFinisher(dir: string, manifest: SessionManifest) {
  let writing = Promise.resolve();
  return (status: SessionStatus, records: readonly RunRecord[]): Promise<void> =>
    (writing = writing.then(async () => {
      for (const r of records) if (r.qemu_version) manifest.qemu_versions[r.src_host] = r.qemu_version;
      manifest.runs = {
        planned: Math.max(manifest.runs.planned, records.length),
        ...(await countSessionRuns(dir)),
      };
      if (manifest.status !== 'interrupted') manifest.status = status;
      manifest.ended_at = new Date().toISOString();
      await writeSession(dir, manifest);
    }));
}

/** The records as JSON, or the run table and (with two strategies completed) the stock-vs-pof comparison. */
async function printResults(records: RunRecord[], sessionDir: string, json: boolean | undefined): Promise<void> {
  if (json) {
    console.log(JSON.stringify(records, null, 2));
    console.error(`session: ${sessionDir}`);
    return;
  }
  console.log(renderRunTable(records));
  // the session's stock-vs-pof comparison, exactly as `pofbench compare SESSION` prints it
  const ran = new Set(
    (await loadRecords([sessionDir]).catch(() => []))
      .filter((r) => r.status === 'completed' && r.warmup !== true)
      .map((r) => r.strategy),
  );
  if (ran.size >= 2) {
    console.log(`\ncomparison (pofbench compare ${sessionDir}):\n`);
    process.stdout.write(await comparisonText([sessionDir]));
  }
  console.log(`session: ${sessionDir}`);
}

/** The `run` command's action: prepare, write session.json, run the session, finish it, print. */
async function runCommand(files: string[], o: RunFlags): Promise<void> {
  const log = (l: string) => {
    if (!o.quiet) console.error(`  ${l}`);
  };
  const p = await prepareSession(files, o, log);
  const { inputs, earlier, sink, image, pairs, seed } = p;
  const { resumeDir } = inputs;
  const started = new Date().toISOString();
  const session =
    earlier && resumeDir
      ? { id: earlier.session_id, dir: resumeDir }
      : await createSessionDir(
          resolve(o.out),
          inputs.scenarios.map((sc) => sc.name),
        );
  const manifest = await startManifest(p, session, started);
  await writeSession(session.dir, manifest);
  log(`session ${session.id}: ${session.dir}`);
  const finish = sessionFinisher(session.dir, manifest);
  const toInflux = sink && sessionSink(sink, session.dir);
  let records: RunRecord[];
  try {
    records = await runSession({
      scenarios: inputs.scenarios,
      strategies: inputs.strategies,
      repeat: inputs.repeat,
      seed,
      warmupRuns: inputs.warmupRuns,
      resume: resumeDir !== undefined,
      testbed: pairs[0],
      pairs,
      image,
      outDir: session.dir,
      quiet: o.quiet,
      verifyRam: o.verifyRam,
      onRecord: toInflux?.onRecord,
      onInterrupted: async (_sig, done) => {
        await toInflux?.onInterrupted(done).catch((err) => log(`influx: ${errorMessage(err)}`));
        await finish('interrupted', done);
      },
    });
  } catch (err) {
    await finish('failed', []).catch(() => undefined);
    throw err;
  }
  await finish(records.some((r) => r.status !== 'completed') ? 'failed' : 'completed', records);
  await printResults(records, session.dir, o.json);
  if (records.some((r) => r.status !== 'completed')) process.exitCode = 1;
}

/**
 * `pofbench run SCENARIO.yaml... [--strategies stock] [--repeat N] [--seed N] [--warmup-runs N] [--out ROOT | --resume
 * SESSION]`: one session
 */
export function registerRunCommand(program: Command): void {
  addInfluxOptions(
    program
      .command('run')
      .description(
        'run migrations of the given scenarios (one session: OUT/<session-id>/session.json, a directory per run) and ' +
          'print a table; with two or more strategies, the comparison',
      )
      .argument('<scenarios...>', 'scenario YAML files')
      .option(
        '--strategies <list>',
        `comma-separated strategies (${STRATEGY_NAMES.join(', ')}); default: the scenario's own list`,
      )
      .option('--repeat <n>', "repeats per configuration and strategy (default: the scenario's repeat)")
      .option(
        '--seed <n>',
        'seed of the shuffled run order (default: from the clock, printed so the order can be reproduced)',
      )
      .option(
        '--warmup-runs <n>',
        'record the first N runs of each configuration and strategy as warmup: true (statistics discard them)',
        '0',
      )
      .option('--out <dir>', 'results root: the session gets its own directory under it', 'results')
      .option(
        '--resume <session>',
        'continue this session directory (instead of --out): skip runs it has completed (same scenario, config, ' +
          'strategy, repeat and parameters), run failed and missing ones',
      )
      .option(
        '--testbed <local|FILE>',
        'the local namespace testbed (brought up if needed), a testbed YAML/JSON file, or an Ansible inventory (lab ' +
          'mode; see ansible/README.md)',
        'local',
      )
      .option(
        '--parallel-pairs',
        'with several host pairs in the inventory: shard the runs across the pairs, side by side (records carry ' +
          'pair); default: the first pair only',
      )
      .option(
        '--skip-preflight',
        'do not check the testbed before the run (ssh, QEMU, /dev/kvm, NAS mount and image, clocks, memory)',
      )
      .addOption(
        new Option(
          '--source-ram <mode>',
          'how the source QEMU backs guest RAM: on demand (first touch; pass 1 of the migration faults in the pages ' +
            "the guest never touched) or preallocated when it starts (default: the testbed's; local: prealloc)",
        ).choices(GUEST_RAM_MODES),
      )
      .addOption(
        new Option(
          '--destination-ram <mode>',
          'how the destination QEMU backs guest RAM: on demand (first touch, in the migration) or preallocated ' +
            "before it (default: the testbed's; local: prealloc)",
        ).choices(GUEST_RAM_MODES),
      )
      .option('--dataset-mib <n>', 'dataset size of the guest image', '640')
      .option(
        '--verify-ram',
        'compare source and destination RAM byte for byte at switchover (destination starts paused; adds a RAM dump ' +
          'per run)',
      )
      .option('--quiet', 'no progress output')
      .option('--verbose', 'debug output, and the stack of an internal error')
      .option('--json', 'print the records as JSON instead of a table'),
  ).action(runCommand);
}
