/**
 * A progress report to the peer (DELIVERED, ACK) sent at once when it is far behind, otherwise
 * within `delayMs`: each report is a small frame on the migration link, a TCP segment and a
 * wake-up of the source agent, and reporting whenever the output queue ran empty (once per batch,
 * up to a thousand times a second) cost the target ~10 % of its CPU. The delay bounds how stale
 * the source's view gets while the stream is slow or idle.
 */
export class LazyReport {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly delayMs: number,
    /** Sends the report of everything so far (called from `due` or the timer). */
    private readonly send: () => void,
  ) {}

  /** Progress was made: `farBehind` sends now, otherwise the timer sends within `delayMs`. */
  due(farBehind: boolean): void {
    if (this.stopped) return;
    if (farBehind) {
      this.cancel();
      this.send();
      return;
    }
    this.timer ??= setTimeout(this.fire, this.delayMs);
  }

  /** No more reports (the stream ended or failed). */
  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    if (!this.stopped) this.send();
  };

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
