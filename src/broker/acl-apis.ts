/**
 * ACL APIs, as Kafka's AclApis, over the cluster's AclStore:
 *   DescribeAcls (29, v0–3)  the bindings matching one filter, grouped by resource pattern
 *   CreateAcls   (30, v0–3)  one result per creation (INVALID_REQUEST with Kafka's message for a bad one)
 *   DeleteAcls   (31, v0–3)  per filter, the bindings it matched and removed
 * v0 carries no pattern type: the codecs default it to LITERAL. DescribeAcls needs DESCRIBE on
 * the cluster, Create/Delete ALTER (else CLUSTER_AUTHORIZATION_FAILED). Without an authorizer
 * (authorizer.class.name unset: b.authorizer.enabled false, or no store) every call answers
 * SECURITY_DISABLED, as Kafka does.
 */
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import type { DescribeAclsRequest, DescribeAclsResponse } from '../protocol/messages/describe-acls.js';
import type { CreateAclsRequest, CreateAclsResponse } from '../protocol/messages/create-acls.js';
import type { DeleteAclsRequest, DeleteAclsResponse } from '../protocol/messages/delete-acls.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { Handler, RequestContext } from '../server/handler-registry.js';
import { internalSession } from '../server/session.js';
import { AclOperation, AclPermission, CLUSTER_RESOURCE_NAME, PatternType, ResourceType, type AclOperationName } from '../security/types.js';
import {
  bindingFromWire, bindingToWire, checkedBinding, filterFromWire, validateFilter, validateNewBinding,
  type AclBinding, type ResourcePattern,
} from '../security/acl/acl-model.js';
import type { AclStore } from '../security/acl/acl-store.js';
import type { BrokerContext } from './context.js';

type Add = (key: number, v: { min: number; max: number }, handler: Handler) => void;

export const DESCRIBE_ACLS_VERSIONS = { min: 0, max: 3 } as const;
export const CREATE_ACLS_VERSIONS = { min: 0, max: 3 } as const;
export const DELETE_ACLS_VERSIONS = { min: 0, max: 3 } as const;

const CLUSTER_DENIED = 'Cluster authorization failed.';

/** `acls` null: no authorizer is configured (SECURITY_DISABLED). */
export function registerAclApis(b: BrokerContext, add: Add, acls: AclStore | null): void {
  const store = b.authorizer.enabled ? acls : null;
  const mayOnCluster = (ctx: RequestContext, op: AclOperationName) => b.authorizer.authorize(ctx.session ?? internalSession(), op, 'CLUSTER', CLUSTER_RESOURCE_NAME);

  add(ApiKey.DescribeAcls, DESCRIBE_ACLS_VERSIONS, (ctx: RequestContext, req: DescribeAclsRequest): DeepPartial<DescribeAclsResponse> => {
    const fail = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, errorCode, errorMessage, resources: [] });
    if (!mayOnCluster(ctx, 'DESCRIBE')) return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, CLUSTER_DENIED);
    if (!store) return fail(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured on the broker');
    const filter = filterFromWire(req);
    const invalid = validateFilter(filter);
    if (invalid) return fail(ErrorCode.INVALID_REQUEST, invalid);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: groupByPattern(store.describe(filter)) };
  });

  add(ApiKey.CreateAcls, CREATE_ACLS_VERSIONS, async (ctx: RequestContext, req: CreateAclsRequest): Promise<DeepPartial<CreateAclsResponse>> => {
    const all = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, results: req.creations.map(() => ({ errorCode, errorMessage })) });
    if (!mayOnCluster(ctx, 'ALTER')) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, CLUSTER_DENIED);
    if (!store) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.');
    const results: Array<{ errorCode: number; errorMessage: string | null }> = req.creations.map(() => ({ errorCode: ErrorCode.NONE, errorMessage: null }));
    const valid: AclBinding[] = [];
    const validAt: number[] = [];
    req.creations.forEach((c, i) => {
      const binding = bindingFromWire({ ...c, patternType: c.resourcePatternType });
      const invalid = validateNewBinding(binding);
      if (invalid) results[i] = { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid };
      else { valid.push(checkedBinding(binding)); validAt.push(i); }
    });
    if (valid.length > 0) {
      const stored = await store.create(valid);
      stored.forEach((err, j) => { if (err) results[validAt[j]!] = { errorCode: err.errorCode, errorMessage: err.message }; });
      const created = valid.filter((_, j) => stored[j] === null);
      if (created.length > 0) ctx.log.info({ acls: created.map(describeBinding) }, 'created ACLs');
    }
    return { throttleTimeMs: 0, results };
  });

  add(ApiKey.DeleteAcls, DELETE_ACLS_VERSIONS, async (ctx: RequestContext, req: DeleteAclsRequest): Promise<DeepPartial<DeleteAclsResponse>> => {
    const all = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })) });
    if (!mayOnCluster(ctx, 'ALTER')) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, CLUSTER_DENIED);
    if (!store) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.');
    const filters = req.filters.map(filterFromWire);
    const invalid = filters.map(validateFilter);
    const toRun = filters.filter((_, i) => invalid[i] === null);
    const ran = toRun.length > 0 ? await store.delete(toRun) : [];
    let next = 0;
    const filterResults = filters.map((_, i) => {
      const why = invalid[i];
      if (why) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: why, matchingAcls: [] };
      const r = ran[next++]!;
      if (r.error) return { errorCode: r.error.errorCode, errorMessage: r.error.message, matchingAcls: [] };
      return {
        errorCode: ErrorCode.NONE, errorMessage: null,
        matchingAcls: r.deleted.map(({ binding, error }) => ({
          errorCode: error ? error.errorCode : ErrorCode.NONE, errorMessage: error ? error.message : null, ...bindingToWire(binding),
        })),
      };
    });
    const deleted = ran.flatMap((r) => r.deleted.filter((d) => d.error === null).map((d) => describeBinding(d.binding)));
    if (deleted.length > 0) ctx.log.info({ acls: [...new Set(deleted)] }, 'deleted ACLs');
    return { throttleTimeMs: 0, filterResults };
  });
}

/** DescribeAclsResponse.aclsResources: one resource per pattern, its entries under it, in first-seen order. */
function groupByPattern(bindings: readonly AclBinding[]) {
  const groups: Array<{ pattern: ResourcePattern; bindings: AclBinding[] }> = [];
  const byKey = new Map<string, { pattern: ResourcePattern; bindings: AclBinding[] }>();
  for (const b of bindings) {
    const key = `${b.resourceType}\u0000${b.patternType}\u0000${b.resourceName}`;
    let g = byKey.get(key);
    if (!g) {
      g = { pattern: { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType }, bindings: [] };
      byKey.set(key, g);
      groups.push(g);
    }
    g.bindings.push(b);
  }
  return groups.map((g) => ({
    resourceType: ResourceType[g.pattern.resourceType], resourceName: g.pattern.resourceName, patternType: PatternType[g.pattern.patternType],
    acls: g.bindings.map((b) => ({ principal: b.principal, host: b.host, operation: AclOperation[b.operation], permissionType: AclPermission[b.permission] })),
  }));
}

/** One line per binding for the audit log. */
function describeBinding(b: AclBinding): string {
  return `${b.permission} ${b.principal} ${b.operation} on ${b.resourceType}:${b.patternType}:${b.resourceName} from ${b.host}`;
}
