import type { Command } from 'commander';
import type { InfluxConfig } from '../sinks/influxWriter.js';
import { UserError } from '../util/errors.js';

/** The `--influx-*` flags as commander hands them over. */
export interface InfluxFlags {
  influxUrl?: string;
  influxToken?: string;
  influxOrg?: string;
  influxBucket?: string;
}

const KEYS = [
  ['url', 'influxUrl', '--influx-url', 'INFLUX_URL'],
  ['token', 'influxToken', '--influx-token', 'INFLUX_TOKEN'],
  ['org', 'influxOrg', '--influx-org', 'INFLUX_ORG'],
  ['bucket', 'influxBucket', '--influx-bucket', 'INFLUX_BUCKET'],
] as const;

/** Adds the InfluxDB connection flags to a command. */
export function addInfluxOptions(cmd: Command): Command {
  return cmd
    .option('--influx-url <url>', 'InfluxDB URL, e.g. http://influx:8086 (env INFLUX_URL)')
    .option('--influx-token <token>', 'InfluxDB API token (env INFLUX_TOKEN; optional for servers without auth)')
    .option('--influx-org <org>', 'InfluxDB organization (env INFLUX_ORG)')
    .option('--influx-bucket <bucket>', 'InfluxDB bucket (env INFLUX_BUCKET)');
}

/**
 * The InfluxDB connection from flags, then environment (flags win). Nothing set → undefined (no
 * sink); a partial setting is an error naming what is missing.
 */
export function influxConfig(flags: InfluxFlags, env: NodeJS.ProcessEnv = process.env): InfluxConfig | undefined {
  const v: Partial<Record<'url' | 'token' | 'org' | 'bucket', string>> = {};
  for (const [key, flag, , envName] of KEYS) {
    const value = flags[flag] ?? env[envName];
    if (value !== undefined && value !== '') v[key] = value;
  }
  if (!v.url && !v.org && !v.bucket) return undefined;
  const missing = KEYS.filter(([key]) => key !== 'token' && !v[key]).map(([, , f, e]) => `${f} (or ${e})`);
  if (missing.length)
    throw new UserError(
      `InfluxDB is partly configured: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing`,
      'give url, org and bucket, or none of them',
    );
  let url: URL;
  try {
    url = new URL(v.url!);
  } catch {
    throw new UserError(`InfluxDB URL ${JSON.stringify(v.url)} is not a URL`, 'e.g. --influx-url http://influx:8086');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UserError(`InfluxDB URL ${JSON.stringify(v.url)} must be http:// or https://`);
  return { url: v.url!.replace(/\/+$/, ''), token: v.token, org: v.org!, bucket: v.bucket! };
}
