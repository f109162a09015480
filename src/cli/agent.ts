import type { Command } from 'commander';
import { runSourceAgent } from '../agent/source.js';
import { runTargetAgent } from '../agent/target.js';
import { parseEndpoint } from '../agent/endpoint.js';
import { UserError } from '../util/errors.js';

const NAS_IMAGE_HELP =
  "the guest disk image on the NAS: a path (the host's NFS mount) or nfs://HOST/EXPORT/PATH (read with the agent's " +
  'own NFSv3 client)';

interface TargetFlags {
  listen: string;
  qemu: string;
  nasImage: string;
  nasTimeoutMs: string;
  secretFile: string;
  label: string;
  statsJson?: string;
  concurrency: string;
  maxReadBlocks: string;
  maxPending: string;
  handshakeMs: string;
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} must be a positive integer, got "${v}"`);
  return n;
}

const stamp = (role: string) => (line: string) =>
  process.stderr.write(`${new Date().toISOString()} ${role}: ${line}\n`);

/** `pofbench agent source|target` — the POF-SVLM agents the runner starts on src and dst. */
export function registerAgentCommand(program: Command): void {
  const agent = program
    .command('agent', { hidden: true })
    .description('POF-SVLM migration agents (started on the hosts by the runner)');
  agent
    .command('target')
    .description(
      'receive the POF stream from the source agent, restore pages from the NAS, feed the destination QEMU; exits ' +
        'after one migration',
    )
    .requiredOption('--listen <tcp:HOST:PORT>', 'where the source agent connects (migration network)')
    .requiredOption('--qemu <unix:PATH|tcp:HOST:PORT>', "the destination QEMU's incoming migration socket")
    .requiredOption('--nas-image <IMG>', NAS_IMAGE_HELP)
    .option(
      '--nas-timeout-ms <ms>',
      'deadline of one NAS read (nfs:// images): past it the NAS counts as unreachable and pages come from the source',
      '2000',
    )
    .requiredOption('--secret-file <F>', 'per-run secret shared with the source agent')
    .option('--label <run>', 'run label both agents must agree on', 'pofbench')
    .option('--stats-json <F>', "write the agent's stats here on exit")
    .option('--concurrency <n>', 'NAS reads in flight', '64')
    .option('--max-read-blocks <n>', 'most blocks per NAS read (refs to consecutive blocks are read together)', '64')
    .option('--max-pending <n>', 'unauthenticated connections held at once; more are closed on arrival', '4')
    .option('--handshake-ms <ms>', 'how long a connection has to authenticate', '3000')
    .action(async (o: TargetFlags) => {
      const listen = parseEndpoint(o.listen, '--listen');
      if (listen.kind !== 'tcp') throw new UserError('--listen must be tcp:HOST:PORT for the target agent');
      const stats = await runTargetAgent({
        listen,
        qemu: parseEndpoint(o.qemu, '--qemu'),
        nasImage: o.nasImage,
        nasTimeoutMs: Number(o.nasTimeoutMs),
        secretFile: o.secretFile,
        label: o.label,
        statsJson: o.statsJson,
        concurrency: Number(o.concurrency),
        maxReadBlocks: Number(o.maxReadBlocks),
        log: stamp('target'),
        maxPending: positiveInt(o.maxPending, '--max-pending'),
        handshakeMs: positiveInt(o.handshakeMs, '--handshake-ms'),
      });
      console.log(JSON.stringify(stats));
    });
  agent
    .command('source')
    .description(
      "take the source QEMU's migration stream, send NAS-resident pages by reference to the target agent; exits " +
        'after one migration',
    )
    .requiredOption('--listen <unix:PATH|tcp:HOST:PORT>', 'where the source QEMU migrates to (migrate uri)')
    .requiredOption('--target <tcp:HOST:PORT>', 'the target agent')
    .requiredOption('--nas-image <IMG>', NAS_IMAGE_HELP)
    .requiredOption('--secret-file <F>', 'per-run secret shared with the target agent')
    .option('--label <run>', 'run label both agents must agree on', 'pofbench')
    .option('--trace-log <LOG>', 'QEMU block trace log to follow (I/O monitoring index)')
    .option('--index <scan>', 'index the whole image instead (the oracle)')
    .option('--stats-json <F>', "write the agent's stats here on exit")
    .option(
      '--status-file <F>',
      'keep the index status here (JSON; caught_up: the trace log is indexed, or the scan is done)',
    )
    .option(
      '--retention-pages <n>',
      'pages sent by reference kept until the target confirms them (4 KiB each)',
      '16384',
    )
    .option(
      '--stream-window-mib <n>',
      'QEMU stream MiB in the pipeline at most (read, not yet handed to the destination QEMU)',
      '8',
    )
    .action(
      async (o: {
        listen: string;
        target: string;
        nasImage: string;
        secretFile: string;
        label: string;
        traceLog?: string;
        index?: string;
        statsJson?: string;
        statusFile?: string;
        retentionPages: string;
        streamWindowMib: string;
      }) => {
        if (o.index !== undefined && o.index !== 'scan')
          throw new UserError(`--index must be "scan", got "${o.index}"`);
        if (!o.traceLog && !o.index) throw new UserError('the source agent needs --trace-log LOG or --index scan');
        const stats = await runSourceAgent({
          listen: parseEndpoint(o.listen, '--listen'),
          target: parseEndpoint(o.target, '--target'),
          nasImage: o.nasImage,
          secretFile: o.secretFile,
          label: o.label,
          traceLog: o.traceLog,
          scan: o.index === 'scan',
          statsJson: o.statsJson,
          retentionPages: Number(o.retentionPages),
          statusFile: o.statusFile,
          log: stamp('source'),
          streamWindowBytes: positiveInt(o.streamWindowMib, '--stream-window-mib') * 1024 * 1024,
        });
        console.log(JSON.stringify(stats));
      },
    );
}
