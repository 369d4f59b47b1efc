/**
 * InitProducerId (api key 22), versions 0–5. Idempotent producers get a fresh, durably
 * allocated producer id (never reused after a restart) at epoch 0. A producer that sends its
 * current id and epoch (v3+, KIP-360) gets the epoch bumped. A transactional id goes to the
 * transaction coordinator.
 * ACLs (Kafka's): WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an
 * idempotent producer needs IDEMPOTENT_WRITE on the cluster or, since KIP-679, WRITE on some topic
 * (CLUSTER_AUTHORIZATION_FAILED).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from '../protocol/messages/init-producer-id.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { requestAcl } from './authorize.js';

export const INIT_PRODUCER_ID_VERSIONS = { min: 0, max: 5 } as const;
const EPOCH_MAX = 32767;

export function makeInitProducerIdHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: InitProducerIdRequest): Promise<DeepPartial<InitProducerIdResponse>> => {
    const acl = requestAcl(b, ctx);
    const refused = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 });
    if (req.transactionalId !== null && req.transactionalId !== '') {
      if (!acl.allowed('WRITE', 'TRANSACTIONAL_ID', req.transactionalId)) return refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      const r = await b.transactions.initProducerId({
        transactionalId: req.transactionalId, transactionTimeoutMs: req.transactionTimeoutMs,
        producerId: req.producerId, producerEpoch: req.producerEpoch, apiVersion: ctx.header.apiVersion,
      });
      return { throttleTimeMs: 0, ...r };
    }
    if (!acl.allowedOnCluster('IDEMPOTENT_WRITE') && !acl.allowedOnSomeResource('WRITE', 'TOPIC')) return refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    if (req.producerId >= 0n && req.producerEpoch >= 0 && req.producerEpoch < EPOCH_MAX) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: req.producerId, producerEpoch: req.producerEpoch + 1 };
    }
    try {
      const id = await b.producerIds.next();
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: id, producerEpoch: 0 };
    } catch (err) {
      ctx.log.error({ err }, 'producer id allocation failed');
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 };
    }
  };
}
