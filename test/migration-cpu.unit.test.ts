import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migrationCpu } from '../src/metrics/migrationCpu.js';
import { vcpuCpuSeconds, type HostCounters } from '../src/metrics/hostCounters.js';

test('migrationCpu: stock, the source QEMU without its vCPUs plus the destination QEMU and the NFS server', () => {
  assert.deepEqual(
    migrationCpu({ src_qemu_cpu_s: 8.3, src_vcpu_cpu_s: 5.1, dst_qemu_cpu_s: 6.32, nfs_server_cpu_s: 0 }),
    {
      src_qemu_non_vcpu_cpu_s: 3.2,
      migration_cpu_s: 9.52,
    },
  );
});

test('migrationCpu: pof adds both agents, the NAS views and the NFS server', () => {
  const r = migrationCpu({
    src_qemu_cpu_s: 8.32,
    src_vcpu_cpu_s: 4.02,
    dst_qemu_cpu_s: 4.66,
    source_agent_cpu_s: 2.52,
    target_agent_cpu_s: 3.28,
    src_nas_view_cpu_s: 0.1,
    dst_nas_view_cpu_s: 0.2,
    nfs_server_cpu_s: 0.86,
  });
  assert.deepEqual(r, { src_qemu_non_vcpu_cpu_s: 4.3, migration_cpu_s: 15.92 });
});

test('migrationCpu: vCPU run time above the tick-counted process time is 0, not negative', () => {
  assert.deepEqual(migrationCpu({ src_qemu_cpu_s: 3, src_vcpu_cpu_s: 3.004, dst_qemu_cpu_s: 1 }), {
    src_qemu_non_vcpu_cpu_s: 0,
    migration_cpu_s: 1,
  });
});

test('migrationCpu: nothing without the source QEMU, its vCPUs or the destination QEMU', () => {
  assert.deepEqual(migrationCpu({ src_vcpu_cpu_s: 1, dst_qemu_cpu_s: 1 }), {});
  assert.deepEqual(migrationCpu({ src_qemu_cpu_s: 2, dst_qemu_cpu_s: 1 }), {});
  assert.deepEqual(migrationCpu({ src_qemu_cpu_s: 2, src_vcpu_cpu_s: 1 }), {});
});

test('vcpuCpuSeconds: the vCPU threads run time between two reads, absent when a read missed them', () => {
  const at = (vcpuRunS?: number): HostCounters => ({ nic: {}, vcpuRunS, at: 0 });
  assert.equal(vcpuCpuSeconds(at(10.004), at(13.5)), 3.5);
  assert.equal(vcpuCpuSeconds(at(undefined), at(13.5)), undefined);
  assert.equal(vcpuCpuSeconds(at(1), at(undefined)), undefined);
});

test('migrationCpu: a host snapshot that could not be read leaves no sum (it would look low)', () => {
  assert.deepEqual(
    migrationCpu({
      src_qemu_cpu_s: 3,
      src_vcpu_cpu_s: 2,
      dst_qemu_cpu_s: 1,
      cpu_snapshot_error: 'nas (close): timed out',
    }),
    { src_qemu_non_vcpu_cpu_s: 1 },
  );
});
