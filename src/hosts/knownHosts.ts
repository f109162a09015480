import { createHmac } from 'node:crypto';

/**
 * OpenSSH known_hosts lookup: plain (`host1,host2 type key`, `[host]:port type key`) and hashed
 * (`|1|salt|hash type key`) entries; `@revoked` lines exclude a key, `@cert-authority` lines are
 * ignored (host certificates are not supported). Returns `type base64` strings.
 */
export function knownHostKeys(text: string, host: string, port: number): string[] {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const keys: string[] = [];
  const revoked = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0].startsWith('@')) {
      marker = fields[0];
      fields = fields.slice(1);
    }
    if (fields.length < 3 || marker === '@cert-authority') continue;
    const [hosts, type, key] = fields;
    if (!hostsMatch(hosts, name)) continue;
    if (marker === '@revoked') revoked.add(key);
    else keys.push(`${type} ${key}`);
  }
  return keys.filter((k) => !revoked.has(k.split(' ')[1]));
}

function hostsMatch(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let match = false;
  for (const pattern of field.split(',')) {
    const negated = pattern.startsWith('!');
    const p = negated ? pattern.slice(1) : pattern;
    if (globMatch(p, name)) {
      if (negated) return false;
      match = true;
    }
  }
  return match;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(name);
}

/** One known_hosts line for a host (as `ssh-keyscan` prints it). */
export function knownHostsLine(host: string, port: number, publicKey: string): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  return `${port === 22 ? host : `[${host}]:${port}`} ${type} ${key}`;
}
