/**
 * Kafka's ACL model: a binding is a resource pattern (type, name, LITERAL or PREFIXED) plus an
 * access control entry (principal, host, operation, ALLOW or DENY). Filters select bindings as
 * Kafka's ResourcePatternFilter and AccessControlEntryFilter do (ANY, MATCH, null = any value).
 * Validation follows Kafka's AclApis and AclControlManager.validateNewAcl; the wire codes are in
 * ../types.ts.
 *
 * API: AclBinding, AclBindingFilter, AclEntry, ResourcePattern; bindingFromWire, filterFromWire,
 *      bindingToWire, opName/typeName/patternName/permissionName; validateNewBinding,
 *      validateFilter; patternFilterMatches, entryFilterMatches, filterMatches, filterMatchesAtMostOne;
 *      sameEntry, formatPattern, formatEntry (Kafka's toString), WILDCARD, WILDCARD_PRINCIPAL
 */
import {
  AclOperation, AclPermission, CLUSTER_RESOURCE_NAME, PatternType, ResourceType,
  type AclOperationName, type AclPermissionName, type PatternTypeName, type ResourceTypeName,
} from '../types.js';

/** The resource name (LITERAL) and host that match any name or host. */
export const WILDCARD = '*';
/** The principal that matches any user. */
export const WILDCARD_PRINCIPAL = 'User:*';

/** Resource types an ACL can be on (not ANY or UNKNOWN). */
export type AclResourceType = Exclude<ResourceTypeName, 'ANY' | 'UNKNOWN'>;
export type AclPatternType = 'LITERAL' | 'PREFIXED';
export type AclPermissionKind = 'ALLOW' | 'DENY';

export interface ResourcePattern {
  resourceType: AclResourceType;
  resourceName: string;
  patternType: AclPatternType;
}

/** The access control entry of a binding (what is stored per resource pattern). */
export interface AclEntry {
  /** "User:alice", or "User:*" for every user. */
  principal: string;
  /** A client address, or "*" for every host. */
  host: string;
  operation: AclOperationName;
  permission: AclPermissionKind;
}

export interface AclBinding extends ResourcePattern, AclEntry {}

/** Kafka's AclBindingFilter: null names, principals and hosts match anything. */
export interface AclBindingFilter {
  resourceType: ResourceTypeName;
  resourceName: string | null;
  patternType: PatternTypeName;
  principal: string | null;
  host: string | null;
  operation: AclOperationName;
  permission: AclPermissionName;
}

/** The filter that matches every binding (Kafka's AclBindingFilter.ANY). */
export const ANY_FILTER: Readonly<AclBindingFilter> = Object.freeze({
  resourceType: 'ANY', resourceName: null, patternType: 'ANY', principal: null, host: null, operation: 'ANY', permission: 'ANY',
});

// ---- wire codes <-> names -------------------------------------------------------------------

function reverse<K extends string>(table: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(table).map(([k, v]) => [v as number, k as K]));
}
const OPS_BY_CODE = reverse(AclOperation);
const TYPES_BY_CODE = reverse(ResourceType);
const PATTERNS_BY_CODE = reverse(PatternType);
const PERMISSIONS_BY_CODE = reverse(AclPermission);

/** A wire code's name; codes this broker does not know are UNKNOWN (as Kafka's fromCode). */
export function opName(code: number): AclOperationName { return OPS_BY_CODE.get(code) ?? 'UNKNOWN'; }
export function typeName(code: number): ResourceTypeName { return TYPES_BY_CODE.get(code) ?? 'UNKNOWN'; }
export function patternName(code: number): PatternTypeName { return PATTERNS_BY_CODE.get(code) ?? 'UNKNOWN'; }
export function permissionName(code: number): AclPermissionName { return PERMISSIONS_BY_CODE.get(code) ?? 'UNKNOWN'; }

/** The fields of an ACL creation or a matching ACL on the wire. */
export interface WireBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

export interface WireFilter {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
}

/** A binding as received; its names may be ANY/UNKNOWN until validateNewBinding accepts it. */
export interface UncheckedBinding {
  resourceType: ResourceTypeName;
  resourceName: string;
  patternType: PatternTypeName;
  principal: string;
  host: string;
  operation: AclOperationName;
  permission: AclPermissionName;
}

export function bindingFromWire(w: WireBinding): UncheckedBinding {
  return {
    resourceType: typeName(w.resourceType), resourceName: w.resourceName, patternType: patternName(w.patternType),
    principal: w.principal, host: w.host, operation: opName(w.operation), permission: permissionName(w.permissionType),
  };
}

export function bindingToWire(b: AclBinding): WireBinding {
  return {
    resourceType: ResourceType[b.resourceType], resourceName: b.resourceName, patternType: PatternType[b.patternType],
    principal: b.principal, host: b.host, operation: AclOperation[b.operation], permissionType: AclPermission[b.permission],
  };
}

export function filterFromWire(w: WireFilter): AclBindingFilter {
  return {
    resourceType: typeName(w.resourceTypeFilter), resourceName: w.resourceNameFilter, patternType: patternName(w.patternTypeFilter),
    principal: w.principalFilter, host: w.hostFilter, operation: opName(w.operation), permission: permissionName(w.permissionType),
  };
}

export function filterToWire(f: AclBindingFilter): WireFilter {
  return {
    resourceTypeFilter: ResourceType[f.resourceType], resourceNameFilter: f.resourceName, patternTypeFilter: PatternType[f.patternType],
    principalFilter: f.principal, hostFilter: f.host, operation: AclOperation[f.operation], permissionType: AclPermission[f.permission],
  };
}

// ---- validation -----------------------------------------------------------------------------

/**
 * Why Kafka refuses to create this binding (INVALID_REQUEST), or null. The checks and messages
 * of AclApis.handleCreateAcls (cluster name, empty name) then AclControlManager.validateNewAcl,
 * plus the principal form SecurityUtils.parseKafkaPrincipal requires ("type:name").
 */
export function validateNewBinding(b: UncheckedBinding): string | null {
  if (b.resourceType === 'CLUSTER' && b.resourceName !== CLUSTER_RESOURCE_NAME) return `The only valid name for the CLUSTER resource is ${CLUSTER_RESOURCE_NAME}`;
  if (b.resourceName === '') return 'Invalid empty resource name';
  if (b.resourceType === 'UNKNOWN' || b.resourceType === 'ANY') return `Invalid resourceType ${b.resourceType}`;
  if (b.patternType !== 'LITERAL' && b.patternType !== 'PREFIXED') return `Invalid patternType ${b.patternType}`;
  if (b.operation === 'UNKNOWN' || b.operation === 'ANY') return `Invalid operation ${b.operation}`;
  if (b.permission !== 'ALLOW' && b.permission !== 'DENY') return `Invalid permissionType ${b.permission}`;
  if (!b.principal.includes(':')) return `expected a string in format principalType:principalName but got ${b.principal}`;
  return null;
}

/** Narrows a binding validateNewBinding accepted. */
export function checkedBinding(b: UncheckedBinding): AclBinding {
  const why = validateNewBinding(b);
  if (why !== null) throw new RangeError(why);
  return b as AclBinding;
}

/** Why a DescribeAcls/DeleteAcls filter is refused (INVALID_REQUEST), or null (AclControlManager.validateFilter). */
export function validateFilter(f: AclBindingFilter): string | null {
  if (f.resourceType === 'UNKNOWN' || f.patternType === 'UNKNOWN') return 'Unknown patternFilter.';
  if (f.operation === 'UNKNOWN' || f.permission === 'UNKNOWN') return 'Unknown entryFilter.';
  return null;
}

// ---- matching -------------------------------------------------------------------------------

/** Kafka's ResourcePatternFilter.matches. */
export function patternFilterMatches(f: AclBindingFilter, p: ResourcePattern): boolean {
  if (f.resourceType !== 'ANY' && f.resourceType !== p.resourceType) return false;
  if (f.patternType !== 'ANY' && f.patternType !== 'MATCH' && f.patternType !== p.patternType) return false;
  if (f.resourceName === null) return true;
  if (f.patternType === 'ANY' || f.patternType === p.patternType) return f.resourceName === p.resourceName;
  // MATCH: every pattern that applies to the named resource.
  return p.patternType === 'LITERAL'
    ? f.resourceName === p.resourceName || p.resourceName === WILDCARD
    : f.resourceName.startsWith(p.resourceName);
}

/** Kafka's AccessControlEntryFilter.matches. */
export function entryFilterMatches(f: AclBindingFilter, e: AclEntry): boolean {
  if (f.principal !== null && f.principal !== e.principal) return false;
  if (f.host !== null && f.host !== e.host) return false;
  if (f.operation !== 'ANY' && f.operation !== e.operation) return false;
  if (f.permission !== 'ANY' && f.permission !== e.permission) return false;
  return true;
}

export function filterMatches(f: AclBindingFilter, b: AclBinding): boolean {
  return patternFilterMatches(f, b) && entryFilterMatches(f, b);
}

/** The one resource pattern a filter can match, or null (Kafka's ResourcePatternFilter.matchesAtMostOne). */
export function filterPattern(f: AclBindingFilter): ResourcePattern | null {
  if (f.resourceType === 'ANY' || f.resourceType === 'UNKNOWN' || f.resourceName === null) return null;
  if (f.patternType !== 'LITERAL' && f.patternType !== 'PREFIXED') return null;
  return { resourceType: f.resourceType, resourceName: f.resourceName, patternType: f.patternType };
}

/** The filter that matches exactly this binding. */
export function exactFilter(b: AclBinding): AclBindingFilter {
  return { ...b };
}

export function sameEntry(a: AclEntry, b: AclEntry): boolean {
  return a.principal === b.principal && a.host === b.host && a.operation === b.operation && a.permission === b.permission;
}

export function samePattern(a: ResourcePattern, b: ResourcePattern): boolean {
  return a.resourceType === b.resourceType && a.patternType === b.patternType && a.resourceName === b.resourceName;
}

// ---- Kafka's toString forms (kafka-acls.sh prints them) ---------------------------------------

export function formatPattern(p: { resourceType: string; resourceName: string | null; patternType: string }): string {
  return `ResourcePattern(resourceType=${p.resourceType}, name=${p.resourceName ?? '<any>'}, patternType=${p.patternType})`;
}

export function formatEntry(e: AclEntry): string {
  return `(principal=${e.principal}, host=${e.host}, operation=${e.operation}, permissionType=${e.permission})`;
}

export function formatBinding(b: AclBinding): string {
  return `(pattern=${formatPattern(b)}, entry=${formatEntry(b)})`;
}
