/**
 * Where ACLs live in the metadata store, one key per resource pattern (as Kafka's ZooKeeper
 * layout had a znode per resource):
 *
 *   acls/<resourceType>/<patternType>/<name>   {"version":1,"acls":[{principal,host,operation,permission}]}
 *
 * under the cluster's root (MetadataKeys.root). The name is escapeSegment'ed, so any name is one
 * segment and "acls/TOPIC/LITERAL/a" never lists "a/b".
 *
 * API: aclsPrefix(root), aclKey(root, pattern), parseAclKey(root, key), encodeAclEntries, decodeAclEntries
 */
import { escapeSegment, unescapeSegment } from '../../cluster/metadata-keys.js';
import { decodeJson, encodeJson } from '../../cluster/metadata-store.js';
import { AclOperation } from '../types.js';
import type { AclEntry, AclPatternType, AclResourceType, ResourcePattern } from './acl-model.js';

const RESOURCE_TYPES: ReadonlySet<string> = new Set<AclResourceType>(['TOPIC', 'GROUP', 'CLUSTER', 'TRANSACTIONAL_ID', 'DELEGATION_TOKEN', 'USER']);
const PATTERN_TYPES: ReadonlySet<string> = new Set<AclPatternType>(['LITERAL', 'PREFIXED']);

export function aclsPrefix(root: string): string { return `${root}acls/`; }

export function aclTypePrefix(root: string, type: AclResourceType): string { return `${aclsPrefix(root)}${type}/`; }

export function aclKey(root: string, p: ResourcePattern): string {
  return `${aclsPrefix(root)}${p.resourceType}/${p.patternType}/${escapeSegment(p.resourceName)}`;
}

/** The resource pattern of an ACL key; null for a key that is not one (or of a type we do not know). */
export function parseAclKey(root: string, key: string): ResourcePattern | null {
  const prefix = aclsPrefix(root);
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  const a = rest.indexOf('/');
  const b = a < 0 ? -1 : rest.indexOf('/', a + 1);
  if (b < 0) return null;
  const type = rest.slice(0, a);
  const pattern = rest.slice(a + 1, b);
  const name = rest.slice(b + 1);
  if (!RESOURCE_TYPES.has(type) || !PATTERN_TYPES.has(pattern) || name === '' || name.includes('/')) return null;
  return { resourceType: type as AclResourceType, patternType: pattern as AclPatternType, resourceName: unescapeSegment(name) };
}

interface StoredAcls {
  version: 1;
  acls: AclEntry[];
}

export function encodeAclEntries(entries: readonly AclEntry[]): Buffer {
  const value: StoredAcls = { version: 1, acls: entries.map((e) => ({ principal: e.principal, host: e.host, operation: e.operation, permission: e.permission })) };
  return encodeJson(value);
}

/** The entries of one key's value; throws on a value that is not an ACL list (a foreign or newer writer). */
export function decodeAclEntries(buf: Buffer, key: string): AclEntry[] {
  const v = decodeJson<StoredAcls>(buf, key);
  if (v === null || typeof v !== 'object' || v.version !== 1 || !Array.isArray(v.acls)) throw new RangeError(`${key}: not a version 1 ACL list`);
  for (const e of v.acls) {
    const ok = e !== null && typeof e === 'object' && typeof e.principal === 'string' && typeof e.host === 'string'
      && typeof e.operation === 'string' && e.operation in AclOperation && e.operation !== 'ANY' && e.operation !== 'UNKNOWN'
      && (e.permission === 'ALLOW' || e.permission === 'DENY');
    if (!ok) throw new RangeError(`${key}: bad ACL entry ${JSON.stringify(e)}`);
  }
  return v.acls;
}
