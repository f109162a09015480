import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { knownHostKeys } from '../hosts/knownHosts.js';
import { UserError, errorMessage } from '../util/errors.js';
import { inventoryTestbeds, isInventory } from './inventory.js';
import type { TestbedSpec } from './spec.js';

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
    throw new UserError(`testbed file ${file}: ${errorMessage(err)}`, 'pass --testbed local, a testbed YAML/JSON file or an Ansible inventory');
  }
  if (isInventory(doc)) {
    try {
      return inventoryTestbeds(doc as Record<string, unknown>, { baseDir: dirname(resolve(file)), hostKeys: readKnownHosts });
    } catch (err) {
      if (err instanceof UserError) throw new UserError(`${file}: ${err.message}`, err.hint);
      throw err;
    }
  }
  const spec = doc as Partial<TestbedSpec> | null;
  if (!spec || typeof spec !== 'object' || !spec.hosts?.src || !spec.hosts.dst || !spec.hosts.nas || !spec.nas || !spec.vm) {
    throw new UserError(`testbed file ${file}: neither an Ansible inventory (all:/kvm_hosts:) nor a testbed spec (hosts.src/dst/nas, nas, vm)`,
      'see ansible/inventory.example.yaml or testbed/local-inventory.yaml');
  }
  return [spec as TestbedSpec];
}
