import { test } from 'node:test';
import assert from 'node:assert/strict';
import { release } from 'node:os';
import { collectEnvironment } from '../src/runner/environment.js';
import type { SshHost } from '../src/hosts/ssh.js';
import type { TestbedSpec } from '../src/testbed/spec.js';

const host = (exec: () => Promise<{ code: number; stdout: string }>) => ({ exec }) as unknown as SshHost;
const testbed = {
  kind: 'lab',
  accel: 'kvm',
  hosts: { src: { name: 'kvm1' }, dst: { name: 'kvm2' } },
} as unknown as TestbedSpec;

test(
  'environment.json: kernels of controller and hosts, testbed, revision, node; a host that fails is ' + 'left out',
  async () => {
    const env = await collectEnvironment(
      testbed,
      {
        src: host(async () => ({ code: 0, stdout: '6.1.0-18-amd64\n' })),
        dst: host(async () => {
          throw new Error('ssh: connection lost');
        }),
      },
      'abc123-dirty',
    );
    assert.deepEqual(env, {
      kernel: { controller: release(), src: '6.1.0-18-amd64', dst: undefined },
      testbed: 'lab',
      accel: 'kvm',
      source_ram: 'on-demand',
      destination_ram: 'on-demand',
      src_host: 'kvm1',
      dst_host: 'kvm2',
      pofbench_rev: 'abc123-dirty',
      node_version: process.version,
    });
  },
);
