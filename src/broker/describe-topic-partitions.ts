/**
 * DescribeTopicPartitions (api key 75), version 0 (KIP-966): Metadata's topic answer, paged.
 *
 * The partitions are Metadata's own (describeTopic of metadata.ts: same leaders, epochs, zone
 * view for a ferry_az client id), mapped onto this API's shape. Replication factor 1: replicas and
 * ISR are the leader (plus any zone read replicas Metadata lists); there are no eligible leader
 * replicas (ELR is about ISR shrinking, which one replica never does): both ELR lists are empty.
 *
 * Paging as Kafka: topics in name order; at most responsePartitionLimit partitions (capped at
 * 2000, Kafka's max.request.partition.size.limit default; at least 1) per answer; nextCursor names
 * the first topic/partition left out. With no topics named every describable topic is listed (the
 * others are left out unseen); a named topic the principal may not describe is
 * TOPIC_AUTHORIZATION_FAILED, an unknown one UNKNOWN_TOPIC_OR_PARTITION. A cursor must name one of
 * the requested topics (INVALID_REQUEST otherwise). Authorized operations are always answered.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse } from '../protocol/messages/describe-topic-partitions.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { describeTopic } from './metadata.js';
import { requestAcl } from './authorize.js';
import { clientZone } from './zones.js';

export const DESCRIBE_TOPIC_PARTITIONS_VERSIONS = { min: 0, max: 0 } as const;
/** Kafka's max.request.partition.size.limit default. */
export const PARTITION_LIMIT_MAX = 2000;
const ZERO_UUID = '0'.repeat(32);

type Response = DeepPartial<DescribeTopicPartitionsResponse>;
type TopicOut = NonNullable<Response['topics']>[number];

export function makeDescribeTopicPartitionsHandler(b: BrokerContext) {
  return (ctx: RequestContext, req: DescribeTopicPartitionsRequest): Response => {
    const acl = requestAcl(b, ctx);
    const zone = clientZone(ctx.header.clientId);
    const all = req.topics.length === 0;
    const cursor = req.cursor;
    const names = all
      ? b.topics.list().map((t) => t.name).filter((n) => acl.allowed('DESCRIBE', 'TOPIC', n))
      : [...new Set(req.topics.map((t) => t.name))];
    names.sort();
    const failed = (errorCode: number, name: string): TopicOut => ({ errorCode, name, topicId: ZERO_UUID, isInternal: false, partitions: [] });
    if (cursor && (cursor.partitionIndex < 0 || (!all && !names.includes(cursor.topicName)))) {
      return { throttleTimeMs: 0, topics: names.map((n) => failed(ErrorCode.INVALID_REQUEST, n)), nextCursor: null };
    }
    let remaining = Math.max(1, Math.min(PARTITION_LIMIT_MAX, req.responsePartitionLimit));
    const page = cursor ? names.filter((n) => n >= cursor.topicName) : names;
    const topics: TopicOut[] = [];
    let nextCursor: Response['nextCursor'] = null;
    for (let i = 0; i < page.length; i++) {
      const name = page[i]!;
      if (remaining === 0) { nextCursor = { topicName: name, partitionIndex: 0 }; break; }
      if (!all && !acl.allowed('DESCRIBE', 'TOPIC', name)) { topics.push(failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED, name)); continue; }
      const t = b.topics.byName(name);
      if (!t) { topics.push(failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name)); continue; }
      const md = describeTopic(b, t, zone);
      const start = cursor && name === cursor.topicName ? cursor.partitionIndex : 0;
      const parts = (md.partitions ?? []).slice(start, start + remaining);
      remaining -= parts.length;
      topics.push({
        errorCode: ErrorCode.NONE, name, topicId: t.topicId, isInternal: false,
        topicAuthorizedOperations: acl.operations('TOPIC', name),
        partitions: parts.map((p) => ({
          errorCode: p.errorCode, partitionIndex: p.partitionIndex, leaderId: p.leaderId, leaderEpoch: p.leaderEpoch,
          replicaNodes: p.replicaNodes, isrNodes: p.isrNodes, eligibleLeaderReplicas: [], lastKnownElr: [],
          offlineReplicas: p.offlineReplicas,
        })),
      });
      if (start + parts.length < t.partitionCount) { nextCursor = { topicName: name, partitionIndex: start + parts.length }; break; }
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  };
}
