/**
 * Config keys and values the deployment files use that the broker's schema
 * (src/ops/config-schema.ts) does not accept yet: they belong to work in progress (volume
 * providers and the remount controller; the azure-blob object store's config wiring). The
 * deploy tests check every other key and value against the schema with loadConfig, report
 * these as a list, and fail when the list changes: when a key lands (remove it here) or when a
 * key is renamed (fix the deployment files). Documented in docs/deploy-aws.md and
 * docs/deploy-azure.md ("Config keys").
 */
import { CONFIG_SPECS, envNameOf } from '../../src/ops/config-schema.js';

/** Keys not in the schema yet, per deployment file kind. */
export const PENDING_KEYS = {
  awsProperties: [] as string[],
  azureProperties: [] as string[],
  compose: [] as string[],
  kubernetes: [] as string[],
  dockerfile: [] as string[],
  /** Set in /etc/ferry/ferry.env by the install scripts (from the metadata service). */
  installEnv: [] as string[],
} as const;

/** `key=value` pairs whose value the schema rejects today (an enum value still to be added). */
export const PENDING_VALUES = {
  awsProperties: [] as string[],
  azureProperties: [] as string[],
  compose: [] as string[],
  kubernetes: [] as string[],
  dockerfile: [] as string[],
};

/** The key of a FERRY_* variable, whether or not the schema knows it (`FERRY_S3_BUCKET` -> `s3.bucket`). */
export function keyOfEnv(name: string): string {
  for (const key of CONFIG_SPECS.keys()) if (envNameOf(key) === name) return key;
  return name.replace(/^FERRY_/, '').toLowerCase().replace(/_/g, '.');
}

export interface SplitSettings {
  /** Settings the schema accepts (key known; enum value allowed). */
  known: Map<string, string>;
  /** Keys the schema does not know, sorted. */
  unknownKeys: string[];
  /** `key=value` of known enum keys with a value the schema does not list, sorted. */
  unknownValues: string[];
}

export function splitSettings(settings: ReadonlyMap<string, string>): SplitSettings {
  const known = new Map<string, string>();
  const unknownKeys: string[] = [];
  const unknownValues: string[] = [];
  for (const [key, value] of settings) {
    const spec = CONFIG_SPECS.get(key) ?? perListenerSpec(key);
    if (!spec) unknownKeys.push(key);
    else if (spec.type === 'enum' && spec.values && !spec.values.includes(value)) unknownValues.push(`${key}=${value}`);
    else known.set(key, value);
  }
  return { known, unknownKeys: unknownKeys.sort(), unknownValues: unknownValues.sort() };
}

/** listener.name.<listener>.[<mechanism>.]<key>: the spec of <key> when it may be set that way. */
function perListenerSpec(key: string) {
  const m = /^listener\.name\.[a-z0-9_]+\.(.+)$/.exec(key);
  if (!m) return undefined;
  const direct = CONFIG_SPECS.get(m[1]!);
  if (direct?.perListener) return direct;
  const mech = /^[a-z0-9-]+\.(.+)$/.exec(m[1]!);
  const spec = mech ? CONFIG_SPECS.get(mech[1]!) : undefined;
  return spec?.perMechanism ? spec : undefined;
}

/** A loadConfig environment for settings given as keys. */
export function envOf(settings: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries([...settings].map(([k, v]) => [envNameOf(k), v]));
}
