/** DescribeProducers (api key 61), version 0: active idempotent producers per partition, with the first offset of each one's open transaction. */
import { ErrorCode } from '../protocol/errors.js';
import type { DescribeProducersRequest, DescribeProducersResponse } from '../protocol/messages/describe-producers.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { missingPartitionError } from './partition-errors.js';

export const DESCRIBE_PRODUCERS_VERSIONS = { min: 0, max: 0 } as const;

export function makeDescribeProducersHandler(b: BrokerContext) {
  return (_ctx: RequestContext, req: DescribeProducersRequest): DeepPartial<DescribeProducersResponse> => ({
    throttleTimeMs: 0,
    topics: req.topics.map((t) => {
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
    }),
  });
}
