import { homedir } from 'node:os';
import { isAbsolute, resolve, posix } from 'node:path';
import { UserError } from '../util/errors.js';
import { POFBENCH_NODE_FLAGS, controllerHostCommand } from '../util/paths.js';
import {
  guestRamProblem,
  hostKeyProblem,
  ifNameProblem,
  macProblem,
  type GuestRamMode,
  type HostSpec,
  type TestbedSpec,
} from './spec.js';

/**
 * Reads an Ansible YAML inventory (already parsed) as testbeds: one TestbedSpec per host pair.
 * Groups: `kvm_hosts` (each host with `pair`, optional `pair_role: src|dst`), `nas` (one host);
 * `controller` and `influxdb` are for Ansible only. Variables merge like Ansible's: `all.vars` <
 * group vars (outer < inner) < host vars. Values are taken literally (no Jinja templating).
 * The variables pofbench reads are listed in `ansible/README.md`.
 */
export type Vars = Record<string, unknown>;
interface Group {
  hosts?: Record<string, Vars | null>;
  vars?: Vars;
  children?: Record<string, Group | null>;
}

export function isInventory(doc: unknown): boolean {
  if (!doc || typeof doc !== 'object') return false;
  const d = doc as Record<string, unknown>;
  return 'all' in d || 'kvm_hosts' in d;
}

/** host name → { groups it is in, merged vars } */
export function inventoryHosts(doc: Record<string, unknown>): Map<string, { groups: Set<string>; vars: Vars }> {
  const hosts = new Map<string, { groups: Set<string>; vars: Vars; order: number }>();
  let order = 0;
  const walk = (name: string, g: Group | null, inherited: Vars, path: string[]) => {
    if (g === null || g === undefined) return;
    if (typeof g !== 'object')
      throw new UserError(`inventory group ${name} is not a mapping`, 'see ansible/inventory.example.yaml');
    const vars = { ...inherited, ...(g.vars ?? {}) };
    for (const [h, hv] of Object.entries(g.hosts ?? {})) {
      const entry = hosts.get(h) ?? { groups: new Set<string>(), vars: {}, order: order++ };
      for (const p of [...path, name]) entry.groups.add(p);
      // group vars never override what a host sets for itself
      entry.vars = { ...entry.vars, ...vars, ...(hv ?? {}) };
      hosts.set(h, entry);
    }
    for (const [c, cg] of Object.entries(g.children ?? {})) walk(c, cg, vars, [...path, name]);
  };
  const top = 'all' in doc ? { all: doc.all as Group } : { all: { children: doc as Record<string, Group> } };
  walk('all', top.all, {}, []);
  return new Map(
    [...hosts.entries()]
      .sort((a, b) => a[1].order - b[1].order)
      .map(([k, v]) => [k, { groups: v.groups, vars: v.vars }]),
  );
}

function str(vars: Vars, key: string, where: string, fallback?: string): string {
  const v = vars[key];
  if (v === undefined || v === null || v === '') {
    if (fallback !== undefined) return fallback;
    throw new UserError(
      `inventory: ${where} has no ${key}`,
      `set ${key} for ${where} (see ansible/inventory.example.yaml)`,
    );
  }
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new UserError(`inventory: ${key} of ${where} must be a string, not ${JSON.stringify(v)}`);
  const s = String(v);
  if (s.includes('{{'))
    throw new UserError(
      `inventory: ${key} of ${where} is a Jinja template (${s})`,
      'pofbench reads inventory values literally: give the value itself',
    );
  return s;
}

const optStr = (vars: Vars, key: string, where: string): string | undefined =>
  vars[key] === undefined || vars[key] === null ? undefined : str(vars, key, where);

/** A value `problem` finds nothing wrong with, or an error naming the variable and the host. */
function checked(value: string, problem: (v: unknown) => string | undefined, key: string, where: string): string {
  const why = problem(value);
  if (why) throw new UserError(`inventory: ${key} of ${where}: ${why}`);
  return value;
}

/** A guest RAM mode variable (`pofbench_source_ram`, `pofbench_destination_ram`): `on-demand` unless set. */
function ramMode(vars: Vars, key: string, where: string): GuestRamMode {
  return checked(str(vars, key, where, 'on-demand'), guestRamProblem, key, where) as GuestRamMode;
}

/** A NIC name variable (it reaches host commands): a Linux interface name. */
function nic(vars: Vars, key: string, where: string, required: boolean): string | undefined {
  const v = required ? str(vars, key, where) : optStr(vars, key, where);
  return v === undefined ? undefined : checked(v, ifNameProblem, key, where);
}

/** The host's keys from its known_hosts file: none would leave nothing to check the host against. */
function pinnedKeys(o: InventoryOptions, file: string, name: string, host: string, port: number): string[] {
  const keys = o.hostKeys(file, host, port);
  if (keys.length === 0) {
    throw new UserError(
      `inventory: host ${name} (${host}:${port}) has no key in known_hosts ${file}`,
      `add the host's key after checking it, e.g. ssh-keyscan -p ${port} -t ed25519 ${host} >> ${file}`,
    );
  }
  for (const k of keys) checked(k, hostKeyProblem, `its key in known_hosts ${file}`, `host ${name}`);
  return keys;
}

/** `~/x` → home, relative → next to the inventory file. */
function filePath(p: string, baseDir: string): string {
  if (p === '~' || p.startsWith('~/')) return posix.join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

export interface InventoryOptions {
  /** Directory of the inventory file (relative paths in it are taken from here). */
  baseDir: string;
  /** Reads the known_hosts file named by `pofbench_known_hosts` → the host's keys (`type base64`). */
  hostKeys: (file: string, host: string, port: number) => string[];
}

function sshHost(name: string, role: HostSpec['role'], vars: Vars, o: InventoryOptions): HostSpec {
  const where = `host ${name}`;
  const host = str(vars, 'ansible_host', where, name);
  const port = Number(str(vars, 'ansible_port', where, '22'));
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UserError(`inventory: ansible_port of ${where} is not a port number`);
  const knownHosts = filePath(str(vars, 'pofbench_known_hosts', where, '~/.ssh/known_hosts'), o.baseDir);
  const keys = pinnedKeys(o, knownHosts, name, host, port);
  const nics =
    role === 'nas'
      ? { storage: nic(vars, 'pofbench_nic_storage', where, false) }
      : {
          migration: nic(vars, 'pofbench_nic_migration', where, true),
          storage: nic(vars, 'pofbench_nic_storage', where, true),
          vm: nic(vars, 'pofbench_nic_vm', where, false),
        };
  return {
    name,
    role,
    ssh: {
      host,
      port,
      username: str(vars, 'ansible_user', where, 'root'),
      privateKeyPath: filePath(str(vars, 'ansible_ssh_private_key_file', where, '~/.ssh/id_ed25519'), o.baseDir),
      hostPublicKey: keys[0],
      knownHostKeys: keys,
      knownHostsFile: knownHosts,
    },
    nics,
    migrationAddress: role === 'nas' ? undefined : str(vars, 'pofbench_migration_address', where),
  };
}

const DEFAULT_MAC = '52:54:00:50:4f:46';

type InventoryHost = [name: string, vars: Vars];

/** The pair's two kvm_hosts as [src, dst]: by pair_role where given, else in inventory order. */
function pairMembers(pair: string, members: InventoryHost[]): [InventoryHost, InventoryHost] {
  if (members.length !== 2)
    throw new UserError(
      `inventory: pair ${pair} has ${members.length} host(s) (${members.map((m) => m[0]).join(', ')}); a pair is ` +
        `exactly two kvm_hosts`,
    );
  const roleOf = (m: InventoryHost) => optStr(m[1], 'pair_role', `host ${m[0]}`);
  for (const m of members) {
    const r = roleOf(m);
    if (r !== undefined && r !== 'src' && r !== 'dst')
      throw new UserError(`inventory: pair_role of host ${m[0]} must be src or dst, not ${r}`);
  }
  const src = members.find((m) => roleOf(m) === 'src') ?? members.find((m) => roleOf(m) !== 'dst')!;
  const dst = members.find((m) => m !== src)!;
  if (roleOf(dst) === 'src') throw new UserError(`inventory: pair ${pair} has two pair_role: src hosts`);
  return [src, dst];
}

/** The src host's testbed-wide settings: accelerator, testbed kind, install dir and host command (checked). */
function pairSettings(
  sv: Vars,
  where: string,
): {
  accel: TestbedSpec['accel'];
  kind: TestbedSpec['kind'];
  installDir: string;
  hostCommand: 'controller' | string[] | undefined;
} {
  const accel = str(sv, 'pofbench_accel', where, 'kvm');
  if (accel !== 'kvm' && accel !== 'tcg')
    throw new UserError(`inventory: pofbench_accel of ${where} must be kvm or tcg, not ${accel}`);
  const kind = str(sv, 'pofbench_testbed_kind', where, 'lab');
  if (kind !== 'lab' && kind !== 'local')
    throw new UserError(`inventory: pofbench_testbed_kind must be lab or local, not ${kind}`);
  const installDir = str(sv, 'pofbench_install_dir', where, '/opt/pofbench');
  const hostCommand = sv.pofbench_host_command;
  if (
    hostCommand !== undefined &&
    hostCommand !== 'controller' &&
    (!Array.isArray(hostCommand) || hostCommand.some((a) => typeof a !== 'string'))
  ) {
    throw new UserError(`inventory: pofbench_host_command of ${where} must be a list of strings or "controller"`);
  }
  return { accel, kind, installDir, hostCommand: hostCommand as 'controller' | string[] | undefined };
}

/** How the hosts run pofbench: "controller": the hosts see the controller's filesystem (local testbed) and run its CLI. */
function hostPofbenchCommand(
  sv: Vars,
  where: string,
  installDir: string,
  hostCommand: 'controller' | string[] | undefined,
): string[] {
  return hostCommand === 'controller'
    ? controllerHostCommand()
    : (hostCommand ?? [
        str(sv, 'pofbench_node', where, '/usr/bin/node'),
        ...POFBENCH_NODE_FLAGS,
        posix.join(installDir, 'app', 'dist', 'src', 'cli', 'main.js'),
      ]);
}

/** One testbed: the pair's src and dst hosts, the inventory's NAS. */
function pairTestbed(
  pair: string,
  members: InventoryHost[],
  nas: InventoryHost,
  nasDir: string,
  o: InventoryOptions,
): TestbedSpec {
  const [src, dst] = pairMembers(pair, members);
  const [nasName, nasVars] = nas;
  const sv = src[1];
  const where = `host ${src[0]}`;
  const { accel, kind, installDir, hostCommand } = pairSettings(sv, where);
  return {
    kind,
    pair,
    accel,
    sourceRam: ramMode(sv, 'pofbench_source_ram', where),
    destinationRam: ramMode(sv, 'pofbench_destination_ram', where),
    hosts: {
      src: sshHost(src[0], 'src', sv, o),
      dst: sshHost(dst[0], 'dst', dst[1], o),
      nas: sshHost(nasName, 'nas', nasVars, o),
    },
    nas: {
      server: str(nasVars, 'pofbench_storage_address', `host ${nasName}`),
      exportPath: str(nasVars, 'pofbench_nas_export', `host ${nasName}`, nasDir),
      localPath: nasDir,
      hostMountPath: optStr(sv, 'pofbench_nas_mount_path', where),
    },
    vm: {
      guestCidr: str(sv, 'pofbench_guest_cidr', where),
      tap: checked(str(sv, 'pofbench_vm_tap', where, 'tap0'), ifNameProblem, 'pofbench_vm_tap', where),
      mac: checked(str(sv, 'pofbench_guest_mac', where, DEFAULT_MAC), macProblem, 'pofbench_guest_mac', where),
    },
    guestFilesDir: str(sv, 'pofbench_images_dir', where, '/var/lib/pofbench/images'),
    hostRunDir: str(sv, 'pofbench_host_run_dir', where, '/run/pofbench'),
    controllerNetns: optStr(sv, 'pofbench_controller_netns', where),
    hostPofbench: hostPofbenchCommand(sv, where, installDir, hostCommand),
  };
}

/** The testbeds of an inventory, one per `pair` of kvm_hosts, in inventory order. */
export function inventoryTestbeds(doc: Record<string, unknown>, o: InventoryOptions): TestbedSpec[] {
  const hosts = inventoryHosts(doc);
  const inGroup = (g: string) => [...hosts.entries()].filter(([, h]) => h.groups.has(g));
  const nasHosts = inGroup('nas');
  if (nasHosts.length !== 1)
    throw new UserError(
      `inventory: the nas group must hold exactly one host (found ${nasHosts.length})`,
      'see ansible/inventory.example.yaml',
    );
  const [nasName, nas] = nasHosts[0];
  const kvm = inGroup('kvm_hosts');
  if (kvm.length < 2)
    throw new UserError(
      `inventory: kvm_hosts must hold at least two hosts (found ${kvm.length})`,
      'give each pair of hosts the same pair: value',
    );
  const pairs = new Map<string, InventoryHost[]>();
  for (const [name, h] of kvm) {
    const pair = str(h.vars, 'pair', `host ${name}`);
    pairs.set(pair, [...(pairs.get(pair) ?? []), [name, h.vars]]);
  }
  const nasDir = str(nas.vars, 'pofbench_nas_dir', `host ${nasName}`, '/srv/pofbench');
  return [...pairs.entries()].map(([pair, members]) => pairTestbed(pair, members, [nasName, nas.vars], nasDir, o));
}
