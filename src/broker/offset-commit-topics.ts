/**
 * What OffsetCommit and TxnOffsetCommit share: the partitions that exist go to the group
 * coordinator (with their topic ids); the answer is in request order, UNKNOWN_TOPIC_OR_PARTITION
 * for the partitions that do not exist.
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

/** The request's partitions of existing topics, as the coordinator takes them. */
export function existingPartitions(topics: HandlerTopics, requested: { name: string; partitions: RequestPartition[] }[]): OffsetCommitParams['topics'] {
  const known: OffsetCommitParams['topics'] = [];
  for (const t of requested) {
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

/** The coordinator's results in request order; partitions it was not given are UNKNOWN_TOPIC_OR_PARTITION. */
export function commitAnswer(requested: { name: string; partitions: { partitionIndex: number }[] }[], r: OffsetCommitResult) {
  const byTopic = new Map(r.topics.map((t) => [t.name, new Map(t.partitions.map((p) => [p.partitionIndex, p.errorCode]))]));
  return requested.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partitionIndex,
      errorCode: byTopic.get(t.name)?.get(p.partitionIndex) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    })),
  }));
}
