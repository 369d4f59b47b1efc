/**
 * OffsetForLeaderEpoch (api key 23), versions 0–4. Consumers use it after a leader change to
 * detect log truncation: the end offset of the requested epoch on this leader.
 * ACLs (Kafka's, KIP-320): CLUSTER_ACTION on the cluster (brokers) or DESCRIBE on each topic
 * (consumers), else TOPIC_AUTHORIZATION_FAILED whether the topic exists or not.
 * Zone-local topics: a partition led elsewhere, asked by a client of this broker's zone, is
 * answered by its leader (zone-forward.ts).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from '../protocol/messages/offset-for-leader-epoch.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { missingPartitionError } from './partition-errors.js';
import { requestAcl } from './authorize.js';
import { Forwarded, FORWARD_FAILED, zoneLeaderFor } from './zone-forward.js';
import { ApiKey } from '../protocol/messages/index.js';

type Answer = { partition: number; errorCode: number; leaderEpoch: number; endOffset: bigint };

export const OFFSET_FOR_LEADER_EPOCH_VERSIONS = { min: 0, max: 4 } as const;

export function makeOffsetForLeaderEpochHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: OffsetForLeaderEpochRequest): Promise<DeepPartial<OffsetForLeaderEpochResponse>> => {
    const acl = requestAcl(b, ctx);
    // Zone-local topics: partitions this broker answers for its zone but does not lead.
    const forwarded = new Forwarded<OffsetForLeaderEpochRequest['topics'][number]['partitions'][number], Answer>();
    const everyTopic = acl.allowedOnCluster('CLUSTER_ACTION');
    const topics = req.topics.map((t) => {
      if (!everyTopic && !acl.allowed('DESCRIBE', 'TOPIC', t.topic)) {
        return { topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, leaderEpoch: -1, endOffset: -1n })) };
      }
      const topic = b.topics.byName(t.topic);
      const partitions: Answer[] = [];
      const out = { topic: t.topic, partitions };
      for (const p of t.partitions) {
        const leaderId = zoneLeaderFor(b, ctx, topic, p.partition);
        if (leaderId === null) { partitions.push(answer(p)); continue; }
        const slot = partitions.length;
        partitions.push({ partition: p.partition, errorCode: FORWARD_FAILED, leaderEpoch: -1, endOffset: -1n });
        forwarded.add(leaderId, t.topic, p, (a) => { if (a) partitions[slot] = a; });
      }
      return out;

      function answer(p: OffsetForLeaderEpochRequest['topics'][number]['partitions'][number]): Answer {
        const st = topic ? b.logs.get(topic.topicId, p.partition) : undefined;
        if (!st) return { partition: p.partition, errorCode: missingPartitionError(topic, p.partition), leaderEpoch: -1, endOffset: -1n };
        if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < st.log.leaderEpoch) return { partition: p.partition, errorCode: ErrorCode.FENCED_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1n };
        if (p.currentLeaderEpoch > st.log.leaderEpoch) return { partition: p.partition, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1n };
        const r = st.log.endOffsetForEpoch(p.leaderEpoch);
        return { partition: p.partition, errorCode: ErrorCode.NONE, leaderEpoch: r.epoch, endOffset: BigInt(r.endOffset) };
      }
    });
    if (forwarded.size > 0) {
      await forwarded.send<OffsetForLeaderEpochResponse>(b, ctx, ApiKey.OffsetForLeaderEpoch, (ts) => ({ ...req, topics: ts.map((t) => ({ topic: t.name, partitions: t.partitions })) }),
        (res, name, p) => res.topics.find((x) => x.topic === name)?.partitions.find((x) => x.partition === p.partition));
    }
    return { throttleTimeMs: 0, topics };
  };
}
