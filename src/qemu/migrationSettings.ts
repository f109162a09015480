/**
 * The QEMU migration settings of a scenario: capabilities and parameters for
 * `migrate-set-capabilities` / `migrate-set-parameters` (QEMU 8.2-10.x names), and the scenario
 * fields they come from. Pure: no I/O.
 */
import type { Scenario } from '../scenario/types.js';

/** The scenario's `migration` block (defaults filled in by the schema). */
export type MigrationSpec = Scenario['migration'];

export interface QemuMigrationSettings {
  /** for both sides (`migrate-set-capabilities`) */
  capabilities: { capability: string; state: boolean }[];
  /** for both sides: what the destination must agree on (multifd channels and compression) */
  sharedParameters: Record<string, number | string>;
  /** for the source only */
  sourceParameters: Record<string, number | string>;
  /** switch to post-copy once this many pre-copy passes have run (`migrate-start-postcopy`) */
  postcopyAfterPasses?: number;
}

const MBIT_BYTES_PER_S = 1e6 / 8;

/** Does the scenario limit the guest's dirty rate (QEMU's dirty-limit; needs KVM's dirty ring)? */
export function usesDirtyLimit(m: MigrationSpec): boolean {
  return (m.vcpu_dirty_limit_mbps ?? 0) > 0;
}

/** Capabilities and parameters to set before `migrate` (QEMU's max-bandwidth always explicit). */
export function qemuMigrationSettings(m: MigrationSpec): QemuMigrationSettings {
  const caps: Record<string, boolean> = { events: true, ...m.capabilities };
  const shared: Record<string, number | string> = {};
  const source: Record<string, number | string> = {
    'max-bandwidth': Math.round(m.max_bandwidth_mbit * MBIT_BYTES_PER_S),
    'downtime-limit': m.downtime_limit_ms,
  };
  if (m.multifd_channels > 0) {
    caps.multifd = true;
    shared['multifd-channels'] = m.multifd_channels;
    shared['multifd-compression'] = m.multifd_compression;
  }
  if (m.zero_page_detection) source['zero-page-detection'] = m.zero_page_detection;
  if (m.avail_switchover_bandwidth_mbit) {
    source['avail-switchover-bandwidth'] = Math.round(m.avail_switchover_bandwidth_mbit * MBIT_BYTES_PER_S);
  }
  if (usesDirtyLimit(m)) {
    caps['dirty-limit'] = true;
    source['vcpu-dirty-limit'] = m.vcpu_dirty_limit_mbps!;
    if (m.dirty_limit_period_ms) source['x-vcpu-dirty-limit-period'] = m.dirty_limit_period_ms;
  }
  if (m.postcopy_after_passes) caps['postcopy-ram'] = true;
  return {
    capabilities: Object.entries(caps).map(([capability, state]) => ({ capability, state })),
    sharedParameters: shared,
    sourceParameters: source,
    ...(m.postcopy_after_passes ? { postcopyAfterPasses: m.postcopy_after_passes } : {}),
  };
}

/** The migration fields a record's `params` carries (every knob, so groups never mix settings). */
export function migrationParams(m: MigrationSpec): Record<string, unknown> {
  return {
    link_cap_mbit: m.link_cap_mbit,
    max_bandwidth_mbit: m.max_bandwidth_mbit,
    downtime_limit_ms: m.downtime_limit_ms,
    capabilities: m.capabilities,
    multifd_channels: m.multifd_channels,
    multifd_compression: m.multifd_compression,
    ...(m.zero_page_detection ? { zero_page_detection: m.zero_page_detection } : {}),
    ...(m.avail_switchover_bandwidth_mbit
      ? { avail_switchover_bandwidth_mbit: m.avail_switchover_bandwidth_mbit }
      : {}),
    ...(usesDirtyLimit(m)
      ? { vcpu_dirty_limit_mbps: m.vcpu_dirty_limit_mbps, dirty_limit_period_ms: m.dirty_limit_period_ms }
      : {}),
    ...(m.postcopy_after_passes ? { postcopy_after_passes: m.postcopy_after_passes } : {}),
    ...(m.pof_agent_nice !== undefined ? { pof_agent_nice: m.pof_agent_nice } : {}),
  };
}

/**
 * Scenario settings this accelerator cannot honour, as `{field, reason}` (dirty-limit needs KVM's
 * dirty ring: TCG has none).
 */
export function accelConflicts(m: MigrationSpec, accel: 'tcg' | 'kvm'): { field: string; reason: string }[] {
  if (accel !== 'kvm' && usesDirtyLimit(m)) {
    return [
      {
        field: 'migration.vcpu_dirty_limit_mbps',
        reason: `dirty-limit needs KVM's dirty ring; this testbed runs guests with accel ${accel}`,
      },
    ];
  }
  return [];
}
