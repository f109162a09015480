/**
 * Progress on stderr: phases as lines, and a live status line (rewritten in place on a TTY, printed
 * at most once a second otherwise) so long migrations show where they are.
 */
export class Progress {
  private readonly tty = !!process.stderr.isTTY;
  private lastStatusAt = 0;
  private statusShown = false;

  constructor(
    private readonly prefix: string = '',
    private readonly quiet = false,
  ) {}

  phase(text: string): void {
    if (this.quiet) return;
    this.clearStatus();
    process.stderr.write(`${this.prefix}${text}\n`);
  }

  status(text: string): void {
    if (this.quiet) return;
    const now = Date.now();
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${this.prefix}  ${text}`);
      this.statusShown = true;
    } else if (now - this.lastStatusAt >= 1000) {
      process.stderr.write(`${this.prefix}  ${text}\n`);
      this.lastStatusAt = now;
    }
  }

  clearStatus(): void {
    if (this.tty && this.statusShown) process.stderr.write('\r\x1b[2K');
    this.statusShown = false;
  }
}
