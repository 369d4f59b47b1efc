/**
 * FindCoordinator (api key 10), versions 0–6. Key type 0 (group) and 1 (transactional id): the
 * coordinating broker (this one on a single node; in a cluster the owner by a stable hash over
 * live brokers). v4+ batches keys. ACLs (Kafka's): DESCRIBE on the group or the transactional id
 * (GROUP_/TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { FindCoordinatorRequest, FindCoordinatorResponse } from '../protocol/messages/find-coordinator.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import { endpointFor, type BrokerContext } from './context.js';
import { requestAcl } from './authorize.js';

export const FIND_COORDINATOR_VERSIONS = { min: 0, max: 6 } as const;
const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

export function makeFindCoordinatorHandler(b: BrokerContext) {
  return (ctx: RequestContext, req: FindCoordinatorRequest): DeepPartial<FindCoordinatorResponse> => {
    const acl = requestAcl(b, ctx);
    const answer = (key: string) => {
      if (req.keyType !== KEY_TYPE_GROUP && req.keyType !== KEY_TYPE_TRANSACTION) {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `key type ${req.keyType} is not supported` };
      }
      if (req.keyType === KEY_TYPE_GROUP && !acl.allowed('DESCRIBE', 'GROUP', key)) {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null };
      }
      if (req.keyType === KEY_TYPE_TRANSACTION && !acl.allowed('DESCRIBE', 'TRANSACTIONAL_ID', key)) {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, errorMessage: null };
      }
      if (req.keyType === KEY_TYPE_TRANSACTION && key === '') {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'empty transactional id' };
      }
      const c = b.leadership.coordinatorFor(req.keyType === KEY_TYPE_TRANSACTION ? transactionCoordinatorKey(key) : key);
      if (!c) return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'no live broker can coordinate' };
      return { key, nodeId: c.nodeId, ...endpointFor(c, ctx.session?.listenerName), errorCode: ErrorCode.NONE, errorMessage: null };
    };
    if (ctx.header.apiVersion >= 4) return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map(answer) };
    const one = answer(req.key);
    return { throttleTimeMs: 0, errorCode: one.errorCode, errorMessage: one.errorMessage, nodeId: one.nodeId, host: one.host, port: one.port };
  };
}

/** The hash key of a transactional id's coordinator (apart from group ids of the same name). */
export function transactionCoordinatorKey(transactionalId: string): string {
  return `txn:${transactionalId}`;
}
