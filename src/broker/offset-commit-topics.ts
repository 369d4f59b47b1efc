/**
 * What OffsetCommit and TxnOffsetCommit share: the partitions that exist, of topics the principal
 * may READ, go to the group coordinator (with their topic ids); the answer is in request order,
 * TOPIC_AUTHORIZATION_FAILED for topics it may not read (whether they exist or not, as Kafka),
 * UNKNOWN_TOPIC_OR_PARTITION for the partitions that do not exist.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { OffsetCommitParams, OffsetCommitResult } from '../groups/types.js';
import type { HandlerTopics } from './context.js';

interface RequestPartition {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  committedMetadata: string | null;
  /** OffsetCommit v1 only; absent: the coordinator's clock. */
  commitTimestamp?: bigint;
}

/** Whether the principal may commit offsets of a topic (READ on it). */
export type Readable = (topic: string) => boolean;

/** The request's partitions of existing, readable topics, as the coordinator takes them. */
export function existingPartitions(topics: HandlerTopics, requested: { name: string; partitions: RequestPartition[] }[], readable: Readable): OffsetCommitParams['topics'] {
  const known: OffsetCommitParams['topics'] = [];
  for (const t of requested) {
    if (!readable(t.name)) continue;
    const topic = topics.byName(t.name);
    if (!topic) continue;
    const partitions = t.partitions
      .filter((p) => p.partitionIndex >= 0 && p.partitionIndex < topic.partitionCount)
      .map((p) => ({
        partitionIndex: p.partitionIndex, committedOffset: p.committedOffset, committedLeaderEpoch: p.committedLeaderEpoch,
        commitTimestampMs: p.commitTimestamp === undefined ? -1 : Number(p.commitTimestamp), committedMetadata: p.committedMetadata,
      }));
    if (partitions.length) known.push({ name: t.name, topicId: topic.topicId, partitions });
  }
  return known;
}

/** The coordinator's results in request order; partitions it was not given are refused or UNKNOWN_TOPIC_OR_PARTITION. */
export function commitAnswer(requested: { name: string; partitions: { partitionIndex: number }[] }[], r: OffsetCommitResult, readable: Readable) {
  const byTopic = new Map(r.topics.map((t) => [t.name, new Map(t.partitions.map((p) => [p.partitionIndex, p.errorCode]))]));
  return requested.map((t) => {
    const missing = readable(t.name) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    return {
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: byTopic.get(t.name)?.get(p.partitionIndex) ?? missing })),
    };
  });
}

/** Every partition of the request answered `errorCode` (a refused group or transactional id). */
export function commitRefused(requested: { name: string; partitions: { partitionIndex: number }[] }[], errorCode: number) {
  return requested.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) }));
}
