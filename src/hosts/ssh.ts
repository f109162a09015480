import { Client, type ClientChannel, type ServerHostKeyAlgorithm } from 'ssh2';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { Duplex } from 'node:stream';
import { quote } from 'shell-quote';
import { UserError } from '../util/errors.js';
import { sleep } from '../util/exec.js';

/** How to reach one host over SSH, and the host keys it must present. */
export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKeyPath: string;
  /** Pinned host key: the `ssh-ed25519 AAAA...` line of the host's public key (never empty: see hostKeyProblem). */
  hostPublicKey: string;
  /**
   * Lab: the host's keys from a known_hosts file (`type base64` each). When set, the host must
   * present one of them (none listed = refused); `hostPublicKey` is then the first.
   */
  knownHostKeys?: string[];
  /** The known_hosts file the keys came from (named in errors). */
  knownHostsFile?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Shell-quotes argv for a remote POSIX shell. Every user-supplied value goes through this. */
export function sh(argv: (string | number)[]): string {
  return quote(argv.map(String));
}

/** ssh2 host-key algorithms for each known_hosts key type. */
const HOST_KEY_ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * known_hosts mode: the keys the host may present and the algorithms to ask for (only the types
 * we hold a key of, so the server cannot pick one we cannot verify). Undefined: pinned-key mode.
 */
function hostKeyPolicy(
  name: string,
  target: SshTarget,
): { keys: string[]; algorithms?: ServerHostKeyAlgorithm[] } | undefined {
  if (!target.knownHostKeys) return undefined;
  if (target.knownHostKeys.length === 0) {
    throw new UserError(
      `host ${name} (${target.host}:${target.port}): no key for it in known_hosts ` +
        `${target.knownHostsFile ?? '(none given)'}`,
      `add the host's key after checking it, e.g. ssh-keyscan -p ${target.port} -t ed25519 ${target.host} >> ` +
        `${target.knownHostsFile ?? 'KNOWN_HOSTS'}`,
    );
  }
  const types = target.knownHostKeys.map((k) => k.split(/\s+/)[0]);
  const algorithms = [...new Set(types.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? []))];
  return {
    keys: target.knownHostKeys.map((k) => k.split(/\s+/)[1]),
    algorithms: algorithms.length ? algorithms : undefined,
  };
}

type ConnectOptions = { controllerNetns?: string; timeoutMs?: number };
type Dialed = { client: Client; proxy?: { kill(): boolean } };

/** The private key, and the pinned key or known_hosts policy the host must match (an error if there is none). */
async function credentials(name: string, target: SshTarget) {
  const privateKey = await readFile(target.privateKeyPath).catch(() => {
    throw new UserError(
      `host ${name}: private key ${target.privateKeyPath} is unreadable`,
      'run "pofbench testbed up" (local) or fix the testbed file',
    );
  });
  const [, pinned] = (target.hostPublicKey ?? '').trim().split(/\s+/);
  const accepted = hostKeyPolicy(name, target);
  if (!accepted && !pinned) {
    const where = `host ${name} (${target.host}:${target.port})`;
    throw new UserError(
      `${where}: no host key pinned (ssh.hostPublicKey is empty)`,
      "pin the host's public key in the testbed file (ssh-keyscan -t ed25519 HOST, checked out of band)",
    );
  }
  return { privateKey, pinned, accepted };
}

/**
 * From the host machine the testbed's management network is only reachable inside the controller
 * namespace: the TCP connection is tunnelled through socat there (a ProxyCommand).
 */
function netnsProxy(target: SshTarget, netns: string | undefined) {
  if (!netns) return undefined;
  const argv = ['netns', 'exec', netns, 'socat', 'STDIO', `TCP:${target.host}:${target.port},connect-timeout=3`];
  const proxy = execa('ip', argv, { reject: false, buffer: false, stderr: 'ignore', cleanup: true });
  proxy.catch(() => undefined);
  return proxy;
}

/** One connection attempt; a wrong host key or refused authentication are UserErrors (no retry). */
async function dialOnce(name: string, target: SshTarget, opts: ConnectOptions): Promise<Dialed> {
  const { privateKey, pinned, accepted } = await credentials(name, target);
  const proxy = netnsProxy(target, opts.controllerNetns);
  const client = new Client();
  let hostKeyMismatch = false;
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed during handshake')));
      client.connect({
        host: target.host,
        port: target.port,
        username: target.username,
        privateKey,
        sock: proxy ? (proxy.duplex() as unknown as Duplex) : undefined,
        readyTimeout: 10000,
        keepaliveInterval: 5000,
        keepaliveCountMax: 6,
        algorithms: accepted?.algorithms ? { serverHostKey: accepted.algorithms } : undefined,
        hostVerifier: (key: Buffer) => {
          const ok = accepted ? accepted.keys.includes(key.toString('base64')) : key.toString('base64') === pinned;
          if (!ok) hostKeyMismatch = true;
          return ok;
        },
      });
    });
  } catch (err) {
    client.end();
    proxy?.kill();
    if (hostKeyMismatch) {
      throw new UserError(
        `host ${name} (${target.host}:${target.port}): SSH host key does not match ` +
          `${target.knownHostsFile ? `known_hosts ${target.knownHostsFile}` : 'the pinned key'}`,
        'check the testbed file / known_hosts entry for this host (a changed key can mean a reinstalled host, or ' +
          'someone in between)',
      );
    }
    if ((err as { level?: string }).level === 'client-authentication') {
      throw new UserError(
        `host ${name} (${target.host}:${target.port}): SSH authentication as ${target.username} failed`,
        `check that ${target.privateKeyPath}.pub is authorized on the host`,
      );
    }
    throw err;
  }
  client.removeAllListeners('close');
  client.removeAllListeners('error');
  client.on('error', () => undefined);
  return { client, proxy };
}

/** Connects, retrying for `timeoutMs` (15 s) while the host is unreachable. */
async function dial(name: string, target: SshTarget, opts: ConnectOptions): Promise<Dialed> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15000);
  let lastErr: Error | undefined;
  while (Date.now() < deadline) {
    try {
      return await dialOnce(name, target, opts);
    } catch (err) {
      if (err instanceof UserError) throw err;
      lastErr = err as Error;
      await sleep(300);
    }
  }
  throw new UserError(
    `host ${name} (${target.host}:${target.port}) is unreachable over SSH: ${lastErr?.message ?? 'timeout'}`,
    opts.controllerNetns
      ? 'run "pofbench testbed up" (or "pofbench testbed status" to see what is broken)'
      : 'check the host is up and the testbed file names the right address',
  );
}

/**
 * One SSH connection to a testbed host (ssh2): exec, long-running commands, and unix-socket
 * forwarding (QMP, the guest's serial control channel). Host keys are pinned. A connection that
 * drops is dialled again by the next command (what ran over the old one — streams, forwarded
 * sockets — is gone; `reconnects` counts it), so a run can still clean up and the next run go on.
 */
export class SshHost {
  /** How often the connection dropped and was made again. */
  reconnects = 0;
  private dropped = false;
  private closed = false;
  /** Why the connection last closed under us (its last error, if it gave one), for the errors of what ran on it. */
  private dropReason?: string;
  private redial?: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly target: SshTarget,
    private readonly opts: ConnectOptions,
    private client: Client,
    private proxy?: { kill(): boolean },
  ) {
    this.watch(client);
  }

  static async connect(name: string, target: SshTarget, opts: ConnectOptions = {}): Promise<SshHost> {
    const { client, proxy } = await dial(name, target, opts);
    return new SshHost(name, target, opts, client, proxy);
  }

  private watch(client: Client): void {
    let lastError: string | undefined;
    client.on('error', (e: Error) => {
      lastError = e.message;
    });
    client.on('close', () => {
      if (client !== this.client) return;
      this.dropped = true;
      if (!this.closed) this.dropReason = `${new Date().toISOString()}${lastError ? `: ${lastError}` : ''}`;
    });
  }

  /** The connection, dialled again first if it dropped. */
  private async live(): Promise<Client> {
    if (this.dropped && !this.closed) {
      this.redial ??= dial(this.name, this.target, { ...this.opts, timeoutMs: 20000 })
        .then(({ client, proxy }) => {
          this.proxy?.kill();
          this.client = client;
          this.proxy = proxy;
          this.dropped = false;
          this.reconnects++;
          this.watch(client);
        })
        .finally(() => {
          this.redial = undefined;
        });
      await this.redial;
    }
    return this.client;
  }

  /** Runs a shell command line; throws (naming the host) on a non-zero exit unless allowFail. */
  async exec(
    command: string,
    opts: { allowFail?: boolean; timeoutMs?: number; input?: string } = {},
  ): Promise<ExecResult> {
    const ch = await this.channel(command);
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            ch.close();
            reject(new Error(`${this.name}: "${command.slice(0, 120)}" timed out after ${opts.timeoutMs} ms`));
          }, opts.timeoutMs)
        : undefined;
      ch.on('data', (d: Buffer) => out.push(d));
      ch.stderr.on('data', (d: Buffer) => err.push(d));
      // the exit status comes with 'close' too (ssh2 repeats it there): a fast command's status can arrive in the same
      // read as the exec's reply, and then 'exit' was emitted before this code (after an await) could listen for it
      let exit: { code: number | null; signal?: string } | undefined;
      ch.on('exit', (code: number | null, signal?: string) => {
        exit = { code, signal };
      });
      ch.on('close', (closeCode?: number | null, closeSignal?: string) => {
        if (!exit && closeCode !== undefined) exit = { code: closeCode, signal: closeSignal };
        if (timer) clearTimeout(timer);
        const code = exit?.code ?? -1;
        const r = { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code };
        if (code !== 0 && !opts.allowFail) {
          const said = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
          reject(new Error(`${this.name}: "${command.slice(0, 160)}" failed (${this.exitText(exit)}): ${said}`));
        } else resolve(r);
      });
      if (opts.input !== undefined) ch.end(opts.input);
      else ch.end();
    });
  }

  /**
   * How a command ended, in words: its exit code, the signal that killed it, or the connection closing before
   * sshd sent either (with why, when the connection said).
   */
  private exitText(exit: { code: number | null; signal?: string } | undefined): string {
    if (exit?.code !== null && exit?.code !== undefined) return `exit ${exit.code}`;
    if (exit?.signal) return `exit -1: killed by ${exit.signal}`;
    // a dropped connection closes its channels at once, before any redial: an earlier drop's reason is not this one's
    if (!this.dropped) return 'exit -1: no exit status came though the connection stayed up';
    return `exit -1: no exit status came; the SSH connection closed ${this.dropReason ?? ''}`.trimEnd();
  }

  /** Starts a long-running command; its stdout/stderr stream back. Close stdin to tell it to stop. */
  async spawn(command: string): Promise<ClientChannel> {
    return this.channel(command);
  }

  /** Opens a stream to a unix socket on the host (e.g. QMP, the guest control serial port). */
  async openUnix(path: string): Promise<Duplex> {
    const client = await this.live();
    return new Promise((resolve, reject) => {
      client.openssh_forwardOutStreamLocal(path, (err, stream) => {
        if (err) reject(new Error(`${this.name}: cannot open unix socket ${path}: ${err.message}`));
        else resolve(stream);
      });
    });
  }

  close(): void {
    this.closed = true;
    this.client.end();
    this.proxy?.kill();
  }

  private async channel(command: string): Promise<ClientChannel> {
    const client = await this.live();
    return new Promise((resolve, reject) => {
      client.exec(command, (err, ch) =>
        err ? reject(new Error(`${this.name}: exec failed: ${err.message}`)) : resolve(ch),
      );
    });
  }
}
