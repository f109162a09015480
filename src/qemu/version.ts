/**
 * QEMU versions pofbench supports, and comparing them. 8.2-10.x: the stream format the codec
 * parses, the migration parameters the scenarios set (zero-page-detection, avail-switchover-bandwidth,
 * multifd-compression without the old compress capability). QEMU 7.2 loses pages under TCG from the
 * 4th pre-copy pass on and lacks those parameters: it is refused.
 */
export const MIN_QEMU: readonly [number, number] = [8, 2];

/** "10.0.2" or "10.0.2 (Debian 1:10.0.2+ds-2)" → [10, 0, 2]; undefined when it is no version. */
export function parseQemuVersion(v: string): number[] | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

export function qemuAtLeast(version: string, min: readonly number[]): boolean {
  const v = parseQemuVersion(version);
  if (!v) return false;
  for (let i = 0; i < min.length; i++) {
    if (v[i] !== min[i]) return v[i] > min[i];
  }
  return true;
}

/**
 * Preflight lines about the QEMU versions of a pair: each host's must be supported, and src and
 * dst must run the same one (a stream between versions is QEMU's compatibility, not the benchmark).
 */
export function qemuVersionProblems(
  src: { name: string; version?: string },
  dst: { name: string; version?: string },
): string[] {
  const out: string[] = [];
  for (const [role, h] of [
    ['src', src],
    ['dst', dst],
  ] as const) {
    if (h.version && !qemuAtLeast(h.version, MIN_QEMU)) {
      out.push(
        `${role} ${h.name}: QEMU ${h.version} is older than ${MIN_QEMU.join('.')} (pofbench supports 8.2-10.x; ` +
          'Debian 12: bookworm-backports, which the kvm_host role and scripts/setup.sh install)',
      );
    }
  }
  if (src.version && dst.version && src.version !== dst.version) {
    out.push(
      `src ${src.name} runs QEMU ${src.version} but dst ${dst.name} runs QEMU ${dst.version}: install the same ` +
        `version on both`,
    );
  }
  return out;
}
