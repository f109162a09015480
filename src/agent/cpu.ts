/** User + system CPU seconds of this process since `from` (a `process.cpuUsage()` reading). */
export function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return Number(((d.user + d.system) / 1e6).toFixed(3));
}
