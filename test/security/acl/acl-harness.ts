/** The ACL APIs on the API harness (test/helpers/api-harness.ts). */
import { registerAclApis } from '../../../src/broker/acl-apis.js';
import type { AclStore } from '../../../src/security/acl/acl-store.js';
import type { Authorizer } from '../../../src/security/types.js';
import { apiHarness, serveApiHarness, type ApiHarness } from '../../helpers/api-harness.js';

export type AclApiHarness = ApiHarness;

export function aclApis(authorizer: Authorizer, acls: AclStore | null): AclApiHarness {
  return apiHarness('acl-test-cluster', authorizer, (b, add) => registerAclApis(b, add, acls));
}

export const serveAclApis = serveApiHarness;
