import { posix } from 'node:path';
import type { SshHost } from '../hosts/ssh.js';
import { sh } from '../hosts/ssh.js';
import { killOwnCommand } from '../hosts/killOwn.js';
import { QmpClient, type QmpEvent } from './qmp.js';
import { qemuArgv, type VmConfig } from './commandLine.js';
import { sleep } from '../util/exec.js';
import { processCpuSeconds, processEnded } from '../util/procStat.js';

export type { VmConfig } from './commandLine.js';

/** A run-state or migration-state change as QEMU reported it. */
export interface TimelineEvent {
  event: string;
  status?: string;
  t: number;
}
const TIMELINE_EVENTS = new Set(['STOP', 'RESUME', 'MIGRATION']);

/** QMP events worth quoting when a VM fails: the guest reset, shut down or panicked. */
const EXIT_EVENTS = new Set(['SHUTDOWN', 'RESET', 'GUEST_PANICKED', 'GUEST_CRASHLOADED']);

/** A QEMU process on a testbed host, started over SSH and driven through QMP (forwarded unix socket). */
export class RemoteVm {
  /** QMP events that explain a QEMU that stops or exits (a -no-reboot guest reset exits silently). */
  readonly exitEvents: string[] = [];
  /** When the guest stopped and resumed and the migration changed state, by QEMU's clock (ms since epoch). */
  readonly timeline: TimelineEvent[] = [];

  private constructor(
    readonly host: SshHost,
    readonly cfg: VmConfig,
    readonly dir: string,
    readonly pid: number,
    readonly qmp: QmpClient,
  ) {
    qmp.on('event', (e: QmpEvent) => {
      if (TIMELINE_EVENTS.has(e.event) && this.timeline.length < 1000) {
        const status = typeof e.data?.status === 'string' ? e.data.status : undefined;
        this.timeline.push({
          event: e.event,
          ...(status ? { status } : {}),
          t: e.timestamp.seconds * 1000 + e.timestamp.microseconds / 1000,
        });
      }
      if (!EXIT_EVENTS.has(e.event)) return;
      const why = e.data && typeof e.data.reason === 'string' ? ` (${e.data.reason})` : '';
      this.exitEvents.push(`${e.event}${why}`);
      if (this.exitEvents.length > 5) this.exitEvents.shift();
    });
  }

  static async start(host: SshHost, cfg: VmConfig, runDir: string): Promise<RemoteVm> {
    const dir = posix.join(runDir, cfg.id);
    // what QEMU prints before it daemonizes goes to qemu.stderr, later errors to qemu.log (-D): stderrTail reads both
    const cmd =
      `mkdir -p ${sh([dir])} && ${sh(qemuArgv(cfg, dir))} 2>>${sh([`${dir}/qemu.stderr`])} && cat ` +
      `${sh([`${dir}/qemu.pid`])}`;
    const r = await host.exec(cmd, { allowFail: true, timeoutMs: 60000 });
    if (r.code !== 0) {
      throw new Error(
        `${host.name}: QEMU did not start (exit ${r.code}): ` +
          `${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    const pid = Number(r.stdout.trim().split('\n').pop());
    let qmp: QmpClient | undefined;
    for (let i = 0; !qmp; i++) {
      try {
        qmp = await QmpClient.open(await host.openUnix(`${dir}/qmp.sock`), `${host.name} QEMU`);
      } catch (err) {
        if (i >= 20) {
          await host.exec(killOwnCommand(pid, `${dir}/qmp.sock`), { allowFail: true });
          throw err;
        }
        await sleep(100);
      }
    }
    return new RemoteVm(host, cfg, dir, pid, qmp);
  }

  /** Opens the guest's control serial port (ttyS1). */
  openControl() {
    return this.host.openUnix(`${this.dir}/ctl.sock`);
  }

  async status(): Promise<string> {
    return (await this.qmp.execute<{ status: string }>('query-status')).status;
  }

  /** Is the QEMU process still there? A killed QEMU is a zombie until it is reaped: that counts as gone. */
  async alive(): Promise<boolean> {
    const r = await this.host.exec(`cat /proc/${this.pid}/stat`, { allowFail: true });
    return r.code === 0 && !processEnded(r.stdout);
  }

  /** CPU seconds (user + system) the QEMU process has used so far. */
  async cpuSeconds(): Promise<number | undefined> {
    const r = await this.host.exec(`cat /proc/${this.pid}/stat`, { allowFail: true });
    if (r.code !== 0) return undefined;
    return processCpuSeconds(r.stdout);
  }

  /**
   * The last lines QEMU wrote to stderr (error reports, e.g. why an incoming migration failed),
   * followed by QMP events that explain an exit (e.g. "QMP event SHUTDOWN (guest-reset)").
   */
  async stderrTail(lines = 5): Promise<string> {
    // a daemonized QEMU reports errors (e.g. "load of migration failed") to its -D log, not stderr
    const text = (
      await this.host.exec(
        `cat ${sh([`${this.dir}/qemu.stderr`, `${this.dir}/qemu.log`])} 2>/dev/null | tail -n ${lines}`,
        { allowFail: true },
      )
    ).stdout.trim();
    return [text, ...this.exitEvents.map((e) => `QMP event ${e}`)].filter(Boolean).join('\n');
  }

  /**
   * Why this QEMU is gone, or '' while it runs: a guest that dies after a migration makes QEMU exit
   * (panic=-1 + -no-reboot), so its log, QMP exit events and the console's last lines say why.
   */
  async exitReport(): Promise<string> {
    if (await this.alive().catch(() => true)) return '';
    const said = (await this.stderrTail().catch(() => '')).split('\n').filter(Boolean).join(' | ');
    const tail = (await this.consoleTail(3).catch(() => '')).trim().split('\n').filter(Boolean).join(' | ');
    return (
      `QEMU on ${this.host.name} ` +
      `exited${said ? `: ${said}` : ''}${tail ? `; console: ${tail}` : '; console silent'}`
    );
  }

  async consoleTail(lines = 20): Promise<string> {
    return (await this.host.exec(`tail -n ${lines} ${sh([`${this.dir}/console.log`])}`, { allowFail: true })).stdout;
  }

  /** Ends the VM: QMP quit, then SIGTERM/SIGKILL by PID; removes its directory. Never throws. */
  async stop(): Promise<void> {
    await this.qmp.execute('quit', undefined, 3000).catch(() => undefined);
    this.qmp.close();
    await this.host
      .exec(
        `${killOwnCommand(this.pid, `${this.dir}/qmp.sock`, { waitFirstMs: 3000, graceMs: 2000 })}; ` +
          `rm -rf ${sh([this.dir])}`,
        { allowFail: true, timeoutMs: 15000 },
      )
      .catch(() => undefined);
  }
}
