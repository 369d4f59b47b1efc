/**
 * ApiVersions (api key 18), versions 0–4. Advertises exactly the handler registry. An
 * unsupported ApiVersions version is answered by the connection itself (KIP-511).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { ApiVersionsResponse } from '../protocol/messages/api-versions.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { BrokerContext } from './context.js';

export const API_VERSIONS_VERSIONS = { min: 0, max: 4 } as const;

export function makeApiVersionsHandler(b: BrokerContext) {
  return (): DeepPartial<ApiVersionsResponse> => ({
    errorCode: ErrorCode.NONE,
    apiKeys: b.registry.list().map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })),
    throttleTimeMs: 0,
  });
}
