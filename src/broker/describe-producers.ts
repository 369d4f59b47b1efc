/**
 * DescribeProducers (api key 61), version 0: active idempotent producers per partition, with the
 * first offset of each one's open transaction. ACLs (Kafka's): READ on each topic, checked after
 * the name's validity and before its existence (TOPIC_AUTHORIZATION_FAILED).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { DescribeProducersRequest, DescribeProducersResponse } from '../protocol/messages/describe-producers.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { missingPartitionError } from './partition-errors.js';
import { validateTopicName } from '../topics/topic-service.js';
import { requestAcl } from './authorize.js';

export const DESCRIBE_PRODUCERS_VERSIONS = { min: 0, max: 0 } as const;

export function makeDescribeProducersHandler(b: BrokerContext) {
  return (ctx: RequestContext, req: DescribeProducersRequest): DeepPartial<DescribeProducersResponse> => {
    const acl = requestAcl(b, ctx);
    const topics = req.topics.map((t) => {
      const invalid = validateTopicName(t.name);
      const refusal = invalid !== null ? { code: ErrorCode.INVALID_TOPIC_EXCEPTION, message: invalid }
        : (acl.allowed('READ', 'TOPIC', t.name) ? null : { code: ErrorCode.TOPIC_AUTHORIZATION_FAILED, message: null });
      if (refusal) return { name: t.name, partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, errorCode: refusal.code, errorMessage: refusal.message, activeProducers: [] })) };
      const topic = b.topics.byName(t.name);
      return {
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const st = topic ? b.logs.get(topic.topicId, p) : undefined;
          if (!st) return { partitionIndex: p, errorCode: missingPartitionError(topic, p), errorMessage: null, activeProducers: [] };
          return {
            partitionIndex: p, errorCode: ErrorCode.NONE, errorMessage: null,
            activeProducers: st.producers.describe().map((s) => ({
              producerId: s.producerId, producerEpoch: s.epoch, lastSequence: s.lastSequence,
              lastTimestamp: BigInt(s.lastTimestamp), coordinatorEpoch: -1, currentTxnStartOffset: BigInt(s.currentTxnStartOffset),
            })),
          };
        }),
      };
    });
    return { throttleTimeMs: 0, topics };
  };
}
