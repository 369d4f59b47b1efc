/**
 * The ACL calls of the admin client (Kafka's Admin.describeAcls / createAcls / deleteAcls), sent
 * to any broker as Kafka's admin client does; each broker answers from the cluster's ACLs.
 *
 * API: describeAcls(admin, filter), createAcls(admin, bindings), deleteAcls(admin, filters)
 */
import { ApiKey } from '../protocol/messages/index.js';
import { ErrorCode } from '../protocol/errors.js';
import {
  bindingFromWire, bindingToWire, filterToWire, type AclBinding, type AclBindingFilter,
} from '../security/acl/acl-model.js';
import { PatternType } from '../security/types.js';
import type { AdminClient } from './admin-client.js';
import { AdminError } from './errors.js';

/** The newest version of each ACL API these functions speak. */
const ACL_API_VERSION_MAX = 3;

export interface AclCreateResult { binding: AclBinding; errorCode: number; errorMessage: string | null }
export interface AclDeleteResult {
  filter: AclBindingFilter;
  errorCode: number;
  errorMessage: string | null;
  deleted: Array<{ binding: AclBinding; errorCode: number; errorMessage: string | null }>;
}

/** A broker talking v0 cannot carry pattern types: refuse what it would misread (as Kafka's client does). */
function checkV0(version: number, patternType: string, what: string): void {
  if (version === 0 && patternType !== 'LITERAL' && patternType !== 'ANY') {
    throw new AdminError(ErrorCode.UNSUPPORTED_VERSION, what, 'the broker speaks only v0, which has LITERAL resource patterns only');
  }
}

/** The bindings matching the filter; throws AdminError for the broker's error. */
export async function describeAcls(admin: AdminClient, filter: AclBindingFilter): Promise<AclBinding[]> {
  const conn = admin.any;
  const version = conn.versionFor(ApiKey.DescribeAcls, ACL_API_VERSION_MAX);
  checkV0(version, filter.patternType, 'describe ACLs');
  const res = await conn.requestAt<any>(ApiKey.DescribeAcls, version, filterToWire(filter));
  if (res.errorCode !== ErrorCode.NONE) throw new AdminError(res.errorCode, 'describe ACLs', res.errorMessage ?? undefined);
  const out: AclBinding[] = [];
  for (const r of res.resources) {
    for (const a of r.acls) {
      // As the broker sent it (a type this client does not know shows as UNKNOWN).
      out.push(bindingFromWire({
        resourceType: r.resourceType, resourceName: r.resourceName, patternType: version === 0 ? PatternType.LITERAL : r.patternType,
        principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType,
      }) as AclBinding);
    }
  }
  return out;
}

/** One result per binding, in order (errorCode 0: created or already there). */
export async function createAcls(admin: AdminClient, bindings: readonly AclBinding[]): Promise<AclCreateResult[]> {
  if (bindings.length === 0) return [];
  const conn = admin.any;
  const version = conn.versionFor(ApiKey.CreateAcls, ACL_API_VERSION_MAX);
  for (const b of bindings) checkV0(version, b.patternType, 'create ACLs');
  const res = await conn.requestAt<any>(ApiKey.CreateAcls, version, {
    creations: bindings.map((b) => {
      const { patternType, ...rest } = bindingToWire(b);
      return { ...rest, resourcePatternType: patternType };
    }),
  });
  return bindings.map((binding, i) => ({ binding, errorCode: res.results[i]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: res.results[i]?.errorMessage ?? null }));
}

/** Per filter, what the broker removed. */
export async function deleteAcls(admin: AdminClient, filters: readonly AclBindingFilter[]): Promise<AclDeleteResult[]> {
  if (filters.length === 0) return [];
  const conn = admin.any;
  const version = conn.versionFor(ApiKey.DeleteAcls, ACL_API_VERSION_MAX);
  for (const f of filters) checkV0(version, f.patternType, 'delete ACLs');
  const res = await conn.requestAt<any>(ApiKey.DeleteAcls, version, { filters: filters.map(filterToWire) });
  return filters.map((filter, i) => {
    const r = res.filterResults[i];
    if (!r) return { filter, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'no result for this filter', deleted: [] };
    return {
      filter, errorCode: r.errorCode, errorMessage: r.errorMessage,
      deleted: r.matchingAcls.map((m: any) => ({
        binding: bindingFromWire({ ...m, patternType: version === 0 ? PatternType.LITERAL : m.patternType }) as AclBinding,
        errorCode: m.errorCode, errorMessage: m.errorMessage,
      })),
    };
  });
}
