/**
 * FindCoordinator (api key 10), versions 0–6. Key type 0 (group): the coordinating broker (this
 * one on a single node; in a cluster the owner by a stable hash over live brokers);
 * key type 1 (transaction) answers COORDINATOR_NOT_AVAILABLE-free UNSUPPORTED: this broker has
 * no transaction coordinator. v4+ batches keys.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { FindCoordinatorRequest, FindCoordinatorResponse } from '../protocol/messages/find-coordinator.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';

export const FIND_COORDINATOR_VERSIONS = { min: 0, max: 6 } as const;
const KEY_TYPE_GROUP = 0;

export function makeFindCoordinatorHandler(b: BrokerContext) {
  return (ctx: RequestContext, req: FindCoordinatorRequest): DeepPartial<FindCoordinatorResponse> => {
    const answer = (key: string) => {
      if (req.keyType !== KEY_TYPE_GROUP) {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `key type ${req.keyType} is not supported (no transactions)` };
      }
      const c = b.leadership.coordinatorFor(key);
      if (!c) return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'no live broker can coordinate groups' };
      return { key, nodeId: c.nodeId, host: c.host, port: c.port, errorCode: ErrorCode.NONE, errorMessage: null };
    };
    if (ctx.header.apiVersion >= 4) return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map(answer) };
    const one = answer(req.key);
    return { throttleTimeMs: 0, errorCode: one.errorCode, errorMessage: one.errorMessage, nodeId: one.nodeId, host: one.host, port: one.port };
  };
}
