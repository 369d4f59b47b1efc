/**
 * OffsetForLeaderEpoch (api key 23), versions 0–4. Consumers use it after a leader change to
 * detect log truncation: the end offset of the requested epoch on this leader.
 * ACLs (Kafka's, KIP-320): CLUSTER_ACTION on the cluster (brokers) or DESCRIBE on each topic
 * (consumers), else TOPIC_AUTHORIZATION_FAILED whether the topic exists or not.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from '../protocol/messages/offset-for-leader-epoch.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { missingPartitionError } from './partition-errors.js';
import { requestAcl } from './authorize.js';

export const OFFSET_FOR_LEADER_EPOCH_VERSIONS = { min: 0, max: 4 } as const;

export function makeOffsetForLeaderEpochHandler(b: BrokerContext) {
  return (ctx: RequestContext, req: OffsetForLeaderEpochRequest): DeepPartial<OffsetForLeaderEpochResponse> => {
    const acl = requestAcl(b, ctx);
    const everyTopic = acl.allowedOnCluster('CLUSTER_ACTION');
    const topics = req.topics.map((t) => {
      if (!everyTopic && !acl.allowed('DESCRIBE', 'TOPIC', t.topic)) {
        return { topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, leaderEpoch: -1, endOffset: -1n })) };
      }
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
    });
    return { throttleTimeMs: 0, topics };
  };
}
