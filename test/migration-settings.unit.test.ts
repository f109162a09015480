import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario, parseScenarios } from '../src/scenario/load.js';
import { accelConflicts, migrationParams, qemuMigrationSettings } from '../src/qemu/migrationSettings.js';
import { MIN_QEMU, parseQemuVersion, qemuAtLeast, qemuVersionProblems } from '../src/qemu/version.js';

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
};

test(
  'stock at its best: multifd, compression, zero-page detection, switchover bandwidth, dirty-limit, ' + 'post-copy',
  () => {
    const s = parseScenario(
      `migration:
  link_cap_mbit: 1000
  multifd_channels: 4
  multifd_compression: zstd
  zero_page_detection: multifd
  avail_switchover_bandwidth_mbit: 800
  vcpu_dirty_limit_mbps: 50
  dirty_limit_period_ms: 500
  postcopy_after_passes: 3
  capabilities: { auto-converge: true }
`,
      'best.yaml',
    );
    const q = qemuMigrationSettings(s.migration);
    const caps = Object.fromEntries(q.capabilities.map((c) => [c.capability, c.state]));
    assert.deepEqual(caps, {
      events: true,
      'auto-converge': true,
      multifd: true,
      'dirty-limit': true,
      'postcopy-ram': true,
    });
    assert.deepEqual(q.sharedParameters, { 'multifd-channels': 4, 'multifd-compression': 'zstd' });
    assert.equal(q.sourceParameters['zero-page-detection'], 'multifd');
    assert.equal(q.sourceParameters['avail-switchover-bandwidth'], 100_000_000);
    assert.equal(q.sourceParameters['vcpu-dirty-limit'], 50);
    assert.equal(q.sourceParameters['x-vcpu-dirty-limit-period'], 500);
    assert.equal(q.sourceParameters['max-bandwidth'], 12_500_000_000);
    assert.equal(q.postcopyAfterPasses, 3);
    const p = migrationParams(s.migration);
    for (const k of [
      'multifd_channels',
      'multifd_compression',
      'zero_page_detection',
      'avail_switchover_bandwidth_mbit',
      'vcpu_dirty_limit_mbps',
      'dirty_limit_period_ms',
      'postcopy_after_passes',
      'link_cap_mbit',
    ]) {
      assert.ok(p[k] !== undefined, `params carry ${k}`);
    }
  },
);

test("pof_agent_nice: in the run's params when set (a different experiment), absent otherwise; 0-19", () => {
  assert.equal(
    migrationParams(parseScenario('migration: { pof_agent_nice: 5 }', 'n.yaml').migration).pof_agent_nice,
    5,
  );
  assert.equal('pof_agent_nice' in migrationParams(parseScenario('{}', 'd.yaml').migration), false);
  assert.throws(() => parseScenario('migration: { pof_agent_nice: 20 }', 'n.yaml'), /pof_agent_nice/);
});

test('defaults: multifd off, only events and the two source parameters', () => {
  const q = qemuMigrationSettings(parseScenario('{}', 'd.yaml').migration);
  assert.deepEqual(q.capabilities, [{ capability: 'events', state: true }]);
  assert.deepEqual(q.sharedParameters, {});
  assert.deepEqual(Object.keys(q.sourceParameters).sort(), ['downtime-limit', 'max-bandwidth']);
});

test('settings QEMU 10 no longer has, or that need another, are refused naming the field and the replacement', () => {
  assert.match(
    errorOf(() => parseScenarios('migration: { capabilities: { compress: true } }\n', 'c.yaml')),
    /c\.yaml:1: field "migration\.capabilities\.compress" QEMU 9\.1 removed the compress capability: use migration\.multifd_channels with migration\.multifd_compression/,
  );
  assert.match(
    errorOf(() => parseScenarios('migration: { capabilities: { multifd: true } }\n', 'm.yaml')),
    /field "migration\.capabilities\.multifd" multifd is set with migration\.multifd_channels/,
  );
  assert.match(
    errorOf(() => parseScenarios('migration: { multifd_compression: zlib }\n', 'z.yaml')),
    /field "migration\.multifd_compression" is zlib but multifd is off/,
  );
  assert.match(
    errorOf(() => parseScenarios('migration: { zero_page_detection: multifd }\n', 'z.yaml')),
    /field "migration\.zero_page_detection" is multifd but multifd is off/,
  );
  assert.match(
    errorOf(() => parseScenarios('migration: { dirty_limit_period_ms: 100 }\n', 'd.yaml')),
    /field "migration\.dirty_limit_period_ms" needs migration\.vcpu_dirty_limit_mbps/,
  );
  assert.match(
    errorOf(() => parseScenarios('migration: { multifd_compression: lz4 }\n', 'l.yaml')),
    /field "migration\.multifd_compression" must be one of "none", "zlib", "zstd"/,
  );
  assert.match(
    errorOf(() => parseScenarios('migration: { multifd_channels: -1 }\n', 'n.yaml')),
    /field "migration\.multifd_channels"/,
  );
});

test('dirty-limit is refused on a TCG testbed (no dirty ring), accepted with KVM', () => {
  const m = parseScenario('migration: { vcpu_dirty_limit_mbps: 20 }\n', 'dl.yaml').migration;
  assert.deepEqual(accelConflicts(m, 'kvm'), []);
  assert.equal(accelConflicts(m, 'tcg')[0].field, 'migration.vcpu_dirty_limit_mbps');
  assert.match(accelConflicts(m, 'tcg')[0].reason, /dirty ring/);
});

test('preflight: a version-mismatched pair gives one line naming both versions; QEMU older than 8.2 is refused', () => {
  const mismatch = qemuVersionProblems({ name: 'lab-a', version: '10.0.2' }, { name: 'lab-b', version: '9.2.0' });
  assert.deepEqual(mismatch, [
    'src lab-a runs QEMU 10.0.2 but dst lab-b runs QEMU 9.2.0: install the same version on both',
  ]);
  assert.deepEqual(qemuVersionProblems({ name: 'a', version: '10.0.2' }, { name: 'b', version: '10.0.2' }), []);
  assert.deepEqual(qemuVersionProblems({ name: 'a', version: '8.2.2' }, { name: 'b', version: '8.2.2' }), []);
  const old = qemuVersionProblems({ name: 'a', version: '7.2.22' }, { name: 'b', version: '7.2.22' });
  assert.equal(old.length, 2);
  assert.match(old[0], /^src a: QEMU 7\.2\.22 is older than 8\.2 .*bookworm-backports/);
  assert.ok(qemuAtLeast('10.0.2', MIN_QEMU) && qemuAtLeast('8.2.0', MIN_QEMU) && !qemuAtLeast('8.1.5', MIN_QEMU));
  assert.deepEqual(parseQemuVersion('10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)'), [10, 0, 2]);
});
