import { createHash } from 'node:crypto';

/** 20250101T120000 (UTC, to the second) */
export function timestampId(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
}

const MAX_CONFIG_PART = 96;

/**
 * Scenario names (the schema's `name` pattern; also names taken from a file name): they start run
 * ids, which are directory names and end up in QEMU option strings and host commands, so only
 * letters, digits, '.', '_' and '-' (a subset of the characters config ids are reduced to below).
 */
export const SCENARIO_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The config id as it appears in a run id — a directory name that also ends up in QEMU option
 * strings (`-qmp unix:DIR/...,server=on`), where ',' and '=' are syntax: `key=value,key=value`
 * becomes `key-value_key-value`. Other unsafe characters, or a long id, are replaced/shortened with
 * a hash of the full id appended so ids stay unique.
 */
export function configIdPart(configId: string): string {
  const readable = configId.replace(/=/g, '-').replace(/,/g, '_');
  const safe = readable.replace(/[^A-Za-z0-9._+-]/g, '_');
  if (safe === readable && safe.length <= MAX_CONFIG_PART) return safe;
  const hash = createHash('sha256').update(configId).digest('hex').slice(0, 8);
  return `${safe.slice(0, MAX_CONFIG_PART - 9)}~${hash}`;
}

/** `<time>-<scenario>[-<config id>]-<strategy>-r<repeat>`: unique per run, readable in a listing. */
export function makeRunId(o: {
  scenario: string;
  configId: string;
  strategy: string;
  repeat: number;
  at?: Date;
}): string {
  if (!SCENARIO_NAME_RE.test(o.scenario)) {
    throw new Error(`scenario name ${JSON.stringify(o.scenario)} does not match ${SCENARIO_NAME_RE.source}`);
  }
  const config = o.configId ? `-${configIdPart(o.configId)}` : '';
  return `${timestampId(o.at)}-${o.scenario}${config}-${o.strategy}-r${o.repeat}`;
}
