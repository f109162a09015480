import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { pofStreamRows } from '../src/agent/streamTimeline.js';
import {
  SOURCE_FLAGS,
  TARGET_FLAGS,
  agentRecordFields,
  declareFlags,
  parseSourceFlags,
  parseTargetFlags,
  sourceAgentArgv,
  targetAgentArgv,
  type SourceAgentFlags,
  type TargetAgentFlags,
} from '../src/agent/protocol.js';
import { SCENARIO_SCHEMA_PATH, parseScenarios } from '../src/scenario/load.js';
import { STRATEGY_NAMES } from '../src/scenario/types.js';
import { createStrategy } from '../src/strategy/index.js';

/** argv → the agent command's own flag declarations → the typed flags, as `pofbench agent ROLE` parses them. */
function parsed(flags: typeof SOURCE_FLAGS | typeof TARGET_FLAGS, argv: string[]): Record<string, string> {
  const cmd = declareFlags(new Command('agent').exitOverride(), flags);
  cmd.parse(argv, { from: 'user' });
  return cmd.opts();
}

test('source agent flags: what the controller builds is what the agent parses, for both index modes', () => {
  const trace: SourceAgentFlags = {
    listen: { kind: 'unix', path: '/run/pof/src-agent.sock' },
    target: { kind: 'tcp', host: '198.18.0.2', port: 4445 },
    nasImage: 'nfs://198.18.1.1/export/runs/r1/data.raw',
    secretFile: '/run/pof/secret',
    label: 'r1',
    index: { mode: 'trace', traceLog: '/run/blk-trace.log' },
    statsJson: '/run/pof/source-stats.json',
    statusFile: '/run/pof/index-status.json',
    retentionPages: 4096,
    streamWindowBytes: 77 * 1024 * 1024,
  };
  const argv = sourceAgentArgv(trace);
  assert.deepEqual(argv.slice(argv.indexOf('--trace-log'), argv.indexOf('--trace-log') + 2), [
    '--trace-log',
    '/run/blk-trace.log',
  ]);
  assert.deepEqual(parseSourceFlags(parsed(SOURCE_FLAGS, argv)), trace);
  const scan: SourceAgentFlags = { ...trace, index: { mode: 'scan' }, retentionPages: undefined };
  const scanArgv = sourceAgentArgv(scan);
  assert.ok(scanArgv.join(' ').includes('--index scan'));
  // the agent's defaults fill what the controller leaves out
  assert.deepEqual(parseSourceFlags(parsed(SOURCE_FLAGS, scanArgv)), { ...scan, retentionPages: 16384 });
  assert.throws(() => parseSourceFlags({ ...parsed(SOURCE_FLAGS, scanArgv), index: 'full' }), /--index must be "scan"/);
  const neither = parsed(SOURCE_FLAGS, scanArgv);
  delete neither.index;
  assert.throws(() => parseSourceFlags(neither), /needs --trace-log LOG or --index scan/);
});

test('target agent flags: round trip, defaults, IPv6 hosts, and a listen address that must be TCP', () => {
  const flags: TargetAgentFlags = {
    listen: { kind: 'tcp', host: 'fd00::2', port: 4445 },
    qemu: { kind: 'unix', path: '/run/pof/dst-qemu.sock' },
    nasImage: '/mnt/nas/runs/r1/data.raw',
    secretFile: '/run/pof/secret',
    label: 'r1',
    statsJson: '/run/pof/target-stats.json',
  };
  const defaults = { nasTimeoutMs: 2000, concurrency: 64, maxReadBlocks: 64, maxPending: 4, handshakeMs: 3000 };
  assert.deepEqual(parseTargetFlags(parsed(TARGET_FLAGS, targetAgentArgv(flags))), { ...flags, ...defaults });
  const tuned = { ...flags, concurrency: 8, maxReadBlocks: 16, nasTimeoutMs: 500, maxPending: 2, handshakeMs: 100 };
  assert.deepEqual(parseTargetFlags(parsed(TARGET_FLAGS, targetAgentArgv(tuned))), tuned);
  const unixListen = targetAgentArgv({ ...flags, listen: { kind: 'unix', path: '/tmp/x.sock' } });
  assert.throws(() => parseTargetFlags(parsed(TARGET_FLAGS, unixListen)), /--listen must be tcp:HOST:PORT/);
});

test('agent stats to record fields: renamed, summed, converted; absent stats leave their fields out', () => {
  const fields = agentRecordFields(
    { ref_pages: 10, full_pages: 5, bytes_in: 900, bytes_out: 300, cpu_s: 1.234, stream_window_bytes: 8 << 20 },
    { nas_reads: 3, fallback_pages: 1, cpu_s: 2.5, native_sha256: true },
  );
  assert.deepEqual(fields, {
    pof_full_pages: 5,
    pof_ref_pages: 10,
    pof_fallback_pages: 1,
    pof_stream_bytes: 300,
    agent_cpu_s: 3.73,
    src_agent_cpu_s: 1.234,
    dst_agent_cpu_s: 2.5,
    pof_qemu_stream_bytes: 900,
    pof_nas_reads: 3,
    pof_stream_window_mib: 8,
  });
  assert.equal(agentRecordFields({ native_sha256: true, stream_identical: true }, {}).pof_native_sha256, 0);
  assert.equal(agentRecordFields({ stream_identical: true }, {}).pof_stream_identical, 1);
  assert.equal(agentRecordFields({ nice: 19 }, { nice: 19 }).pof_agent_nice, 19, 'the nice the agents ran at');
});

test('strategy names: the schema lists STRATEGY_NAMES, each makes a strategy of that name', () => {
  const schema = JSON.parse(readFileSync(SCENARIO_SCHEMA_PATH, 'utf8'));
  assert.deepEqual(schema.properties.strategies.items.enum, [...STRATEGY_NAMES]);
  for (const name of STRATEGY_NAMES) assert.equal(createStrategy(name).name, name);
});

test('a refused setting is a typed value: the dotted field, the reason, the fix', () => {
  const [xbzrle] = parseScenarios('migration: { capabilities: { xbzrle: true } }\nstrategies: [pof]\n', 'x.yaml');
  assert.deepEqual(createStrategy('pof-scan').refusal?.(xbzrle), {
    strategy: 'pof',
    field: 'migration.capabilities.xbzrle',
    reason: 'it changes the RAM stream format',
    fix: 'turn xbzrle off or run --strategies stock',
  });
  assert.equal(createStrategy('stock').refusal?.(xbzrle), undefined);
  assert.throws(() => createStrategy('pof').validate(xbzrle), {
    name: 'UserError',
    message:
      'scenario x.yaml: field "migration.capabilities.xbzrle" is not supported by the pof strategy (it changes ' +
      'the RAM stream format)',
  });
});

test('the source agent stream timeline becomes pof-stream series rows, naming what held QEMU back', () => {
  const rows = pofStreamRows({
    stream_timeline: [
      [1000, 10, 8, 0, 0, 0],
      [1100, 4096, 900, 10, 2, 1],
      [1200, 8192, 950, 4096, 3, 2],
      [1300, 8192, 950, 8192, 3, 3],
    ],
  });
  assert.deepEqual(
    rows.map((r) => r.held_by),
    ['', 'link', 'stream_window', 'retention_window'],
  );
  assert.deepEqual(rows[1], {
    t: 1100,
    qemu_bytes: 4096,
    pof_bytes: 900,
    delivered_bytes: 10,
    ref_pages: 2,
    held_by: 'link',
  });
  assert.deepEqual(pofStreamRows({}), [], 'an agent that wrote no timeline gives no rows');
});
