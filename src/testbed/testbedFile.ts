import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { knownHostKeys } from '../hosts/knownHosts.js';
import { UserError, errorMessage } from '../util/errors.js';
import { inventoryTestbeds, isInventory } from './inventory.js';
import {
  guestRamProblem,
  hostKeyProblem,
  ifNameProblem,
  macProblem,
  type HostRole,
  type HostSpec,
  type TestbedSpec,
} from './spec.js';

/** known_hosts → keys; a missing file is an empty list (the connect then names the file). */
function readKnownHosts(file: string, host: string, port: number): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return knownHostKeys(text, host, port);
}

/**
 * `--testbed FILE`: a YAML/JSON TestbedSpec (one pair), or an Ansible YAML inventory (one testbed
 * per `pair` of kvm_hosts; host keys from the known_hosts file the inventory names).
 */
export async function loadTestbedFile(file: string): Promise<TestbedSpec[]> {
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UserError(
      `testbed file ${file}: ${errorMessage(err)}`,
      'pass --testbed local, a testbed YAML/JSON file or an Ansible inventory',
    );
  }
  if (isInventory(doc)) {
    try {
      return inventoryTestbeds(doc as Record<string, unknown>, {
        baseDir: dirname(resolve(file)),
        hostKeys: readKnownHosts,
      });
    } catch (err) {
      if (err instanceof UserError) throw new UserError(`${file}: ${err.message}`, err.hint);
      throw err;
    }
  }
  const spec = doc as Partial<TestbedSpec> | null;
  if (
    !spec ||
    typeof spec !== 'object' ||
    !spec.hosts?.src ||
    !spec.hosts.dst ||
    !spec.hosts.nas ||
    !spec.nas ||
    !spec.vm
  ) {
    throw new UserError(
      `testbed file ${file}: neither an Ansible inventory (all:/kvm_hosts:) nor a testbed spec (hosts.src/dst/nas, ` +
        `nas, vm)`,
      'see ansible/inventory.example.yaml or testbed/local-inventory.yaml',
    );
  }
  checkSpecFile(spec as TestbedSpec, file);
  return [spec as TestbedSpec];
}

/**
 * What a testbed spec file says about each host, before anything connects: a pinned host key
 * (`ssh.hostPublicKey`, or `ssh.knownHostKeys`), NIC names and the guest's tap and MAC (they reach
 * host commands and QEMU options), and the guest RAM modes. Errors name the file, the host and the field.
 */
export function checkSpecFile(spec: TestbedSpec, file: string): void {
  const fail = (where: string, field: string, why: string, hint?: string): never => {
    throw new UserError(`testbed file ${file}: ${where}: ${field} ${why}`, hint);
  };
  for (const role of ['src', 'dst', 'nas'] as HostRole[]) {
    const h = spec.hosts[role] as Partial<HostSpec>;
    const where = `host ${typeof h.name === 'string' ? h.name : role} (hosts.${role})`;
    const keys = h.ssh?.knownHostKeys;
    const keyField = keys?.length ? 'ssh.knownHostKeys' : 'ssh.hostPublicKey';
    for (const k of keys?.length ? keys : [h.ssh?.hostPublicKey]) {
      const why = hostKeyProblem(k);
      if (why) fail(where, keyField, why, "pin the host's key (ssh-keyscan -t ed25519 HOST, checked out of band)");
    }
    for (const [net, nic] of Object.entries(h.nics ?? {})) {
      const why = nic === undefined ? undefined : ifNameProblem(nic);
      if (why) fail(where, `nics.${net}`, why);
    }
  }
  const tap = ifNameProblem(spec.vm.tap);
  if (tap) fail('vm', 'tap', tap);
  const mac = macProblem(spec.vm.mac);
  if (mac) fail('vm', 'mac', mac);
  for (const field of ['sourceRam', 'destinationRam'] as const) {
    const ram = spec[field] === undefined ? undefined : guestRamProblem(spec[field]);
    if (ram) fail('testbed', field, ram);
  }
}
