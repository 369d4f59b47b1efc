/** The client quota APIs over a real QuotaStore, on the API harness (test/helpers/api-harness.ts). */
import { registerQuotaApis } from '../../../src/broker/quota-apis.js';
import type { QuotaStore } from '../../../src/security/quota/quota-store.js';
import { ALLOW_ALL, type Authorizer } from '../../../src/security/types.js';
import { apiHarness, serveApiHarness, type ApiHarness } from '../../helpers/api-harness.js';

export type QuotaApiHarness = ApiHarness;

export function quotaApis(quotas: QuotaStore, authorizer: Authorizer = ALLOW_ALL): QuotaApiHarness {
  return apiHarness('quota-test-cluster', authorizer, (b, add) => registerQuotaApis(b, add, quotas));
}

export const serveQuotaApis = serveApiHarness;
