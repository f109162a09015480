/**
 * /proc/<pid>/stat parsing. The command name (field 2) is in parentheses and may itself contain
 * spaces and ')', so fields are counted from the last ')'.
 */

/** Fields 3.. of a /proc/<pid>/stat line: [0] is the state (R, S, Z, …), [11] utime, [12] stime. */
export function statFieldsAfterComm(stat: string): string[] {
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
}

/** CPU seconds (user + system) from a /proc/<pid>/stat line; USER_HZ is 100 on Linux. */
export function processCpuSeconds(stat: string): number {
  const f = statFieldsAfterComm(stat);
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * Has the process of this /proc/<pid>/stat line ended? A zombie (Z) or dead (X) one has, though its entry is still
 * there.
 */
export function processEnded(stat: string): boolean {
  return /^[ZX]/.test(statFieldsAfterComm(stat)[0] ?? '');
}
