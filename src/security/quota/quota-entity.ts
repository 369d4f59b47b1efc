/**
 * Client quota entities and keys as Kafka has them (KIP-55, KIP-546, KIP-612):
 *   entities  user, client-id, user + client-id, ip; a null name is the default entity (`<default>`)
 *   keys      producer_byte_rate, consumer_byte_rate (long), request_percentage,
 *             controller_mutation_rate (double) on user/client-id entities;
 *             connection_creation_rate (int) on ip entities
 * and where they live in the metadata store: `<root>quotas/<path>`, the path as Kafka's ZooKeeper
 * layout had it (users/<u>, users/<u>/clients/<c>, clients/<c>, ips/<ip>), names percent-encoded so
 * `<default>` is never a name, the value a JSON object of key -> number.
 */
import { isIP } from 'node:net';

/** Kafka's ClientQuotaEntity types, as on the wire. */
export const ENTITY_USER = 'user';
export const ENTITY_CLIENT_ID = 'client-id';
export const ENTITY_IP = 'ip';
export type EntityTypeName = typeof ENTITY_USER | typeof ENTITY_CLIENT_ID | typeof ENTITY_IP;

/** The name Kafka shows and stores for a default entity. */
export const DEFAULT_ENTITY_NAME = '<default>';

/**
 * One quota entity. A component that is absent is not part of the entity; null is its default
 * (`/users/<default>`); a string is that exact name.
 */
export interface QuotaEntity {
  user?: string | null;
  clientId?: string | null;
  ip?: string | null;
}

export type ClientQuotaKey = 'producer_byte_rate' | 'consumer_byte_rate' | 'request_percentage' | 'controller_mutation_rate';
export type QuotaKey = ClientQuotaKey | 'connection_creation_rate';
export type QuotaValues = Partial<Record<QuotaKey, number>>;

/** Kafka's QuotaConfig types: long and int values must be integral, doubles may be fractional. */
type QuotaValueType = 'long' | 'int' | 'double';
const CLIENT_KEYS: Readonly<Record<ClientQuotaKey, QuotaValueType>> = {
  producer_byte_rate: 'long', consumer_byte_rate: 'long', request_percentage: 'double', controller_mutation_rate: 'double',
};
const IP_KEYS: Readonly<Record<'connection_creation_rate', QuotaValueType>> = { connection_creation_rate: 'int' };
export const CLIENT_QUOTA_KEYS = Object.keys(CLIENT_KEYS) as ClientQuotaKey[];
export const ALL_QUOTA_KEYS: readonly QuotaKey[] = [...CLIENT_QUOTA_KEYS, 'connection_creation_rate'];

const INT_MAX = 2 ** 31 - 1;
const LONG_MAX = 2 ** 63;

export function isQuotaKey(key: string): key is QuotaKey {
  return (ALL_QUOTA_KEYS as readonly string[]).includes(key);
}

/** A validation failure Kafka answers with INVALID_REQUEST and this message. */
export class InvalidQuotaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidQuotaError';
  }
}

/** The entity as Kafka writes it in messages: `user 'alice', client-id default`. */
export function describeEntity(e: QuotaEntity): string {
  const part = (type: string, name: string | null | undefined) => (name === undefined ? null : name === null ? `default ${type}` : `${type} '${name}'`);
  return [part(ENTITY_USER, e.user), part(ENTITY_CLIENT_ID, e.clientId), part(ENTITY_IP, e.ip)].filter((p) => p !== null).join(', ') || 'empty entity';
}

/**
 * An entity from the wire's (type, name) pairs, checked as Kafka's ClientQuotaControlManager
 * checks it: known types, each at most once, no empty name, ip not combined with user or
 * client-id, an ip name that is an address. Throws InvalidQuotaError.
 */
export function entityFromWire(components: readonly { entityType: string; entityName: string | null }[]): QuotaEntity {
  if (components.length === 0) throw new InvalidQuotaError('Invalid empty client quota entity');
  const e: QuotaEntity = {};
  for (const c of components) {
    const field = fieldOf(c.entityType);
    if (field === null) throw new InvalidQuotaError(`Unhandled client quota entity type: ${c.entityType}`);
    if (field in e) throw new InvalidQuotaError(`Invalid client quota entity, duplicate entity entry ${c.entityType}`);
    if (c.entityName === '') throw new InvalidQuotaError(`Empty ${c.entityType} not supported`);
    e[field] = c.entityName;
  }
  if (e.ip !== undefined) {
    if (e.user !== undefined || e.clientId !== undefined) throw new InvalidQuotaError('Invalid quota entity combination, IP entity should not be combined with User or ClientId');
    if (e.ip !== null && !isIP(e.ip)) throw new InvalidQuotaError(`${e.ip} is not a valid IP or resolvable host.`);
  }
  return e;
}

/** The entity as the wire's (type, name) pairs, in Kafka's order. */
export function entityToWire(e: QuotaEntity): { entityType: string; entityName: string | null }[] {
  const out: { entityType: string; entityName: string | null }[] = [];
  if (e.user !== undefined) out.push({ entityType: ENTITY_USER, entityName: e.user });
  if (e.clientId !== undefined) out.push({ entityType: ENTITY_CLIENT_ID, entityName: e.clientId });
  if (e.ip !== undefined) out.push({ entityType: ENTITY_IP, entityName: e.ip });
  return out;
}

export function fieldOf(entityType: string): keyof QuotaEntity | null {
  switch (entityType) {
    case ENTITY_USER: return 'user';
    case ENTITY_CLIENT_ID: return 'clientId';
    case ENTITY_IP: return 'ip';
    default: return null;
  }
}

/**
 * Checks one value for a key on an entity (Kafka's validateQuotaKeyValue): the key must belong to
 * the entity's kind, the value be > 0, and integral for long/int keys. Throws InvalidQuotaError.
 */
export function validateQuotaValue(e: QuotaEntity, key: string, value: number): void {
  const types: Readonly<Record<string, QuotaValueType>> = e.ip !== undefined ? IP_KEYS : CLIENT_KEYS;
  const type = types[key];
  if (type === undefined) throw new InvalidQuotaError(`Invalid configuration key ${key}`);
  if (!Number.isFinite(value)) throw new InvalidQuotaError(`Quota ${key} must be a finite number`);
  if (value <= 0) throw new InvalidQuotaError(`Quota ${key} must be greater than 0`);
  if (type === 'double') return;
  if (value > (type === 'int' ? INT_MAX : LONG_MAX)) throw new InvalidQuotaError(`Proposed value for ${key} is too large for ${type === 'int' ? 'an INT' : 'a LONG'}.`);
  if (Math.abs(value % 1) > 1e-6) throw new InvalidQuotaError(`${key} cannot be a fractional value.`);
}

/** `<root>quotas/`: every quota record is below it. */
export function quotasPrefix(root: string): string { return `${root}quotas/`; }

const segment = (name: string | null) => (name === null ? DEFAULT_ENTITY_NAME : encodeURIComponent(name));
const unsegment = (s: string) => (s === DEFAULT_ENTITY_NAME ? null : decodeURIComponent(s));

/** The store key of an entity. */
export function quotaKeyOf(root: string, e: QuotaEntity): string {
  const prefix = quotasPrefix(root);
  if (e.ip !== undefined) return `${prefix}ips/${segment(e.ip)}`;
  if (e.user !== undefined) {
    return e.clientId !== undefined ? `${prefix}users/${segment(e.user)}/clients/${segment(e.clientId)}` : `${prefix}users/${segment(e.user)}`;
  }
  if (e.clientId !== undefined) return `${prefix}clients/${segment(e.clientId)}`;
  throw new InvalidQuotaError('Invalid empty client quota entity');
}

/** The entity of a store key under `prefix` (quotasPrefix), or null for a key of another shape. */
export function entityOfKey(prefix: string, key: string): QuotaEntity | null {
  if (!key.startsWith(prefix)) return null;
  const parts = key.slice(prefix.length).split('/');
  try {
    if (parts.length === 2 && parts[0] === 'users') return { user: unsegment(parts[1]!) };
    if (parts.length === 4 && parts[0] === 'users' && parts[2] === 'clients') return { user: unsegment(parts[1]!), clientId: unsegment(parts[3]!) };
    if (parts.length === 2 && parts[0] === 'clients') return { clientId: unsegment(parts[1]!) };
    if (parts.length === 2 && parts[0] === 'ips') return { ip: unsegment(parts[1]!) };
  } catch {
    return null; // a malformed percent-escape
  }
  return null;
}

/**
 * The canonical text of an IP address, so one address is one key however it is written
 * (::ffff:10.0.0.1 is 10.0.0.1, 0:0::1 is ::1); null for a string that is not an address.
 */
export function canonicalIp(ip: string): string | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const kind = isIP(ip);
  if (kind === 4) return ip;
  if (kind !== 6) return null;
  let canonical: string;
  try {
    canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase(); // a zone id (fe80::1%eth0): URL cannot parse it
  }
  const v4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!v4) return canonical;
  const hi = parseInt(v4[1]!, 16);
  const lo = parseInt(v4[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** The values of a stored record, keeping only known keys with finite numbers. */
export function decodeQuotaValues(raw: unknown): QuotaValues {
  const out: QuotaValues = {};
  if (raw === null || typeof raw !== 'object') return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (isQuotaKey(k) && typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}
