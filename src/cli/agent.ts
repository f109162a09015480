import type { Command } from 'commander';
import { runSourceAgent } from '../agent/source.js';
import { runTargetAgent } from '../agent/target.js';
import {
  SOURCE_FLAGS,
  TARGET_FLAGS,
  declareFlags,
  parseSourceFlags,
  parseTargetFlags,
  type RawFlags,
} from '../agent/protocol.js';

const stamp = (role: string) => (line: string) =>
  process.stderr.write(`${new Date().toISOString()} ${role}: ${line}\n`);

/** `pofbench agent source|target` — the POF-SVLM agents the runner starts on src and dst (flags: agent/protocol.ts). */
export function registerAgentCommand(program: Command): void {
  const agent = program
    .command('agent', { hidden: true })
    .description('POF-SVLM migration agents (started on the hosts by the runner)');
  declareFlags(
    agent
      .command('target')
      .description(
        'receive the POF stream from the source agent, restore pages from the NAS, feed the destination QEMU; exits ' +
          'after one migration',
      ),
    TARGET_FLAGS,
  ).action(async (o: RawFlags<typeof TARGET_FLAGS>) => {
    const stats = await runTargetAgent({ ...parseTargetFlags(o), log: stamp('target') });
    console.log(JSON.stringify(stats));
  });
  declareFlags(
    agent
      .command('source')
      .description(
        "take the source QEMU's migration stream, send NAS-resident pages by reference to the target agent; exits " +
          'after one migration',
      ),
    SOURCE_FLAGS,
  ).action(async (o: RawFlags<typeof SOURCE_FLAGS>) => {
    const stats = await runSourceAgent({ ...parseSourceFlags(o), log: stamp('source') });
    console.log(JSON.stringify(stats));
  });
}
