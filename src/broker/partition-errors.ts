import { ErrorCode } from '../protocol/errors.js';
import type { TopicInfo } from '../topics/topic-service.js';

/**
 * The error for a partition this broker has no log for: another broker leads it
 * (NOT_LEADER_OR_FOLLOWER, so the client refreshes metadata), or it does not exist.
 */
export function missingPartitionError(topic: TopicInfo | undefined, partition: number): number {
  return topic && partition >= 0 && partition < topic.partitionCount ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
}
