/**
 * OffsetForLeaderEpoch (api key 23), versions 0–4. Consumers use it after a leader change to
 * detect log truncation: the end offset of the requested epoch on this leader.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from '../protocol/messages/offset-for-leader-epoch.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { missingPartitionError } from './partition-errors.js';

export const OFFSET_FOR_LEADER_EPOCH_VERSIONS = { min: 0, max: 4 } as const;

export function makeOffsetForLeaderEpochHandler(b: BrokerContext) {
  return (_ctx: RequestContext, req: OffsetForLeaderEpochRequest): DeepPartial<OffsetForLeaderEpochResponse> => ({
    throttleTimeMs: 0,
    topics: req.topics.map((t) => {
      const topic = b.topics.byName(t.topic);
      return {
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const st = topic ? b.logs.get(topic.topicId, p.partition) : undefined;
          if (!st) return { partition: p.partition, errorCode: missingPartitionError(topic, p.partition), leaderEpoch: -1, endOffset: -1n };
          if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < st.log.leaderEpoch) return { partition: p.partition, errorCode: ErrorCode.FENCED_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1n };
          if (p.currentLeaderEpoch > st.log.leaderEpoch) return { partition: p.partition, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1n };
          const r = st.log.endOffsetForEpoch(p.leaderEpoch);
          return { partition: p.partition, errorCode: ErrorCode.NONE, leaderEpoch: r.epoch, endOffset: BigInt(r.endOffset) };
        }),
      };
    }),
  });
}
