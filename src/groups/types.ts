/**
 * Inputs and outputs of the GroupCoordinator API (see coordinator.ts for the contract). Field names
 * follow the generated codecs (camelCase of the Kafka spec) so handlers can copy them across;
 * version-specific fields are normalised here and documented per field.
 */

export type GroupStateName = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';
/** States of a KIP-848 consumer group (Kafka's ConsumerGroupState). */
export type ConsumerGroupStateName = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead';

export interface JoinGroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupParams {
  /** The JoinGroup request version: v4+ makes a new dynamic member fetch its id first (MEMBER_ID_REQUIRED). */
  apiVersion: number;
  groupId: string;
  /** '' for a member that has no id yet. */
  memberId: string;
  /** group.instance.id (v5+), else null. */
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  /** v0 has none: pass -1 (the codec default) and the session timeout is used. */
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: JoinGroupProtocol[];
  reason?: string | null;
}

export interface JoinGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResult {
  errorCode: number;
  /** -1 on error. */
  generationId: number;
  /** null on error (write '' where the version does not allow null). */
  protocolType: string | null;
  /** null on error (write '' for v0-6, where the field is not nullable). */
  protocolName: string | null;
  leader: string;
  /** Always false: a rejoining static leader of a Stable group is told an old leader id instead (pre-v9 behaviour, valid for all versions). */
  skipAssignment: boolean;
  /** The member's id; on MEMBER_ID_REQUIRED the id to rejoin with. */
  memberId: string;
  /** Non-empty only for the leader. */
  members: JoinGroupMember[];
}

export interface SyncGroupParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v5+; null when absent (not checked). */
  protocolType: string | null;
  /** v5+; null when absent (not checked). */
  protocolName: string | null;
  /** The leader's assignments; ignored from followers. */
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface HeartbeatResult {
  errorCode: number;
}

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
  reason?: string | null;
}

export interface LeaveGroupParams {
  groupId: string;
  /** v0-2: one entry { memberId, groupInstanceId: null }; v3+: the request's members. */
  members: LeavingMember[];
}

export interface LeaveGroupResult {
  /** Group-level error; when not NONE, `members` is empty. */
  errorCode: number;
  members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }>;
}

export interface OffsetCommitPartitionParams {
  partitionIndex: number;
  committedOffset: bigint;
  /** v6+, else -1. */
  committedLeaderEpoch: number;
  /** v1 only; -1 (or absent) means "now". */
  commitTimestampMs?: number;
  committedMetadata: string | null;
}

export interface OffsetCommitParams {
  /** v9+ answers GROUP_ID_NOT_FOUND instead of ILLEGAL_GENERATION for a missing group. */
  apiVersion: number;
  groupId: string;
  /** -1 for v0 and for simple (non-member) commits. */
  generationId: number;
  /** '' for v0 and for simple commits. */
  memberId: string;
  groupInstanceId: string | null;
  /** Only topics/partitions that exist: the handler answers UNKNOWN_TOPIC_OR_PARTITION for the others itself. */
  topics: Array<{
    name: string;
    /** The topic's id (kept with the offsets, so a deleted topic's offsets are told from a re-created one's). */
    topicId?: string;
    partitions: OffsetCommitPartitionParams[];
  }>;
}

/**
 * TxnOffsetCommit: an OffsetCommit (generation, member and instance id only from v3; -1/''/null
 * otherwise; commitTimestampMs is ignored, the clock's time is used) for a transaction's producer.
 */
export interface TxnOffsetCommitParams extends OffsetCommitParams {
  transactionalId: string;
  producerId: bigint;
  /** Not checked here: fencing the producer is the transaction coordinator's and the handler's job. */
  producerEpoch: number;
}

export interface OffsetCommitResult {
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }>;
}

export interface OffsetFetchParams {
  groupId: string;
  /** null: every committed offset of the group (v2+). */
  topics: Array<{ name: string; partitionIndexes: number[] }> | null;
  /**
   * v7+ (false below): a partition with a pending transactional offset (TxnOffsetCommit whose
   * transaction has not completed) answers UNSTABLE_OFFSET_COMMIT, offset -1, per partition (the
   * top-level error stays NONE, as Kafka). false: the last committed offset, pending ones ignored.
   */
  requireStable: boolean;
  /** OffsetFetch v9: checked against a consumer-protocol group (null/absent: not checked). */
  memberId?: string | null;
  memberEpoch?: number;
}

export interface OffsetFetchPartition {
  partitionIndex: number;
  /** -1 when nothing is committed. */
  committedOffset: bigint;
  committedLeaderEpoch: number;
  /** '' when nothing is committed. */
  metadata: string | null;
  errorCode: number;
}

export interface OffsetFetchResult {
  errorCode: number;
  topics: Array<{ name: string; partitions: OffsetFetchPartition[] }>;
}

export interface OffsetDeleteParams {
  groupId: string;
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number }> }>;
}

export interface OffsetDeleteResult {
  /** Group-level error; when not NONE, `topics` is empty. */
  errorCode: number;
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }>;
}

export interface DeleteGroupResult {
  groupId: string;
  errorCode: number;
}

export interface ListGroupsParams {
  /** v4+; case-insensitive state names; empty = all. */
  statesFilter?: string[];
  /** v5+; case-insensitive ("classic", "consumer"); empty = all. */
  typesFilter?: string[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: GroupStateName | ConsumerGroupStateName;
  groupType: 'classic' | 'consumer';
}

export interface ListGroupsResult {
  errorCode: number;
  groups: ListedGroup[];
}

export interface DescribedGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Only filled while the group is Stable (as Kafka), else empty. */
  memberMetadata: Buffer;
  /** Only filled while the group is Stable (as Kafka), else empty. */
  memberAssignment: Buffer;
}

export interface DescribedGroup {
  /** NONE even for an unknown group (state "Dead"), as Kafka answers DescribeGroups v0-5. */
  errorCode: number;
  groupId: string;
  groupState: GroupStateName;
  protocolType: string;
  /** The selected protocol name while Stable, else ''. */
  protocolData: string;
  members: DescribedGroupMember[];
}

/** The subset of a pino logger the coordinator uses. */
export interface GroupLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
