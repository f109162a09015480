/**
 * A strategy's switchover rate (avail-switchover-bandwidth) kept no higher than QEMU's own estimate.
 *
 * QEMU stops the guest once what is left to send fits in `downtime_limit` at a rate: its estimate (the bytes it
 * sent in the last ~100 ms period; what stock uses) or the `avail-switchover-bandwidth` it was given. The estimate
 * dips wherever the stream is cheap on the wire (never-touched zero pages) and stock's threshold with it, so stock
 * waits there; a fixed rate does not, and stops the guest with more left (anon 1 GiB guest at 1 Gbit/s: 67-71 MB
 * sent after the stop against stock's 57-65). Each sample, the rate QEMU is told becomes the lower of the
 * strategy's and QEMU's estimate of the period before: never more optimistic than stock's own rule, one period late.
 */
import type { MigrateInfo, QmpClient } from './qmp.js';

/** Changes smaller than this share of the rate in effect are not sent to QEMU (one QMP command less per sample). */
const MIN_CHANGE = 0.05;

/**
 * The rate to tell QEMU now (bytes/s), or undefined to leave it: the lower of `cap` and the estimate (`mbps` of
 * the last period), when that differs from `current` by more than MIN_CHANGE. No estimate yet (0): leave it.
 */
export function followedRate(cap: number, current: number, mbps: number): number | undefined {
  if (!(mbps > 0)) return undefined;
  const want = Math.max(1, Math.min(cap, Math.round((mbps * 1e6) / 8)));
  return Math.abs(want - current) > current * MIN_CHANGE ? want : undefined;
}

/** Follows one migration's `query-migrate` samples, setting the source's avail-switchover-bandwidth as it goes. */
export class SwitchoverRate {
  /** How often the rate was changed. */
  updates = 0;
  /** The lowest rate QEMU was told (bytes/s). */
  lowest: number;
  /** The rate in effect at the last sample of the live phase (bytes/s): what the stop was decided with. */
  atLastActive: number;
  private current: number;

  constructor(
    private readonly qmp: Pick<QmpClient, 'execute'>,
    private readonly cap: number,
  ) {
    this.current = cap;
    this.lowest = cap;
    this.atLastActive = cap;
  }

  async onSample(info: MigrateInfo): Promise<void> {
    if (info.status !== 'active' || !info.ram) return;
    this.atLastActive = this.current;
    const next = followedRate(this.cap, this.current, info.ram.mbps);
    if (next === undefined) return;
    await this.qmp.execute('migrate-set-parameters', { 'avail-switchover-bandwidth': next });
    this.current = next;
    this.atLastActive = next;
    this.updates++;
    if (next < this.lowest) this.lowest = next;
  }
}
