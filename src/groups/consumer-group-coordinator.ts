/**
 * ConsumerGroupCoordinator: KIP-848 consumer groups (ConsumerGroupHeartbeat, ConsumerGroupDescribe,
 * and the member checks of OffsetCommit/OffsetFetch), beside the classic groups of coordinator.ts
 * in one group id namespace: a group is one ClassicGroup record (which holds the committed
 * offsets) whose `consumerGroup` is set while it is a consumer-protocol group.
 *
 * ## Behaviour (Kafka 4.0's new group coordinator)
 *   - memberEpoch 0 joins (v0: the broker makes the member id; v1: the client's own UUID), -1 leaves,
 *     -2 is a static member leaving for a while (it keeps its assignment until its session expires
 *     or it rejoins with the same instance id and a new member id). Any other epoch must be the
 *     member's current one, or its previous one when it owns no more than its assignment (the
 *     answer carrying the new epoch was lost): else FENCED_MEMBER_EPOCH. Unknown member (or
 *     group) -> UNKNOWN_MEMBER_ID; the client rejoins with epoch 0.
 *   - A join on an Empty classic group upgrades it (offsets kept); on a classic group with members
 *     -> INCONSISTENT_GROUP_PROTOCOL. A classic JoinGroup on an Empty consumer group downgrades it.
 *   - Group epoch bumps (counted by onRebalance): member joins/leaves/expires/is fenced, a
 *     subscription or server assignor changes, or the subscribed topics change (created, deleted,
 *     more partitions; checked at every heartbeat). The target assignment is recomputed then.
 *   - Reconciliation (consumer-group.ts): partitions the target drops are revoked first (epoch kept);
 *     gained partitions are given once their previous owner revoked them. The answer carries the
 *     assignment on a full request (join) or when the member's assigned partitions changed.
 *   - A member that does not revoke within its rebalanceTimeoutMs, or does not heartbeat within
 *     group.consumer.session.timeout.ms, is removed (its partitions go to the others).
 *   - OffsetCommit from a member: UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH on any other epoch than the
 *     member's, UNSUPPORTED_VERSION below v9 (non-transactional); epoch < 0 only while Empty.
 *   - Cluster failover: member state lives only in the coordinator's memory. A new coordinator
 *     has none: members get UNKNOWN_MEMBER_ID and rejoin with epoch 0 (the assignment starts anew);
 *     committed offsets are in the metadata store and are kept.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';
import type { Clock } from './clock.js';
import type { ClassicGroup } from './group.js';
import { isAssignorName, type AssignorName, type AssignorTopic } from './assignors.js';
import {
  ConsumerGroup, ConsumerMember, LEAVE_EPOCH, STATIC_LEAVE_EPOCH, isSubset, sameTopicPartitions, type TopicPartitionSet,
} from './consumer-group.js';
import type { GroupLogger } from './types.js';

export interface ConsumerGroupConfig {
  /** group.consumer.heartbeat.interval.ms */
  heartbeatIntervalMs: number;
  /** group.consumer.session.timeout.ms */
  sessionTimeoutMs: number;
  /** group.consumer.max.size */
  maxSize: number;
  /** group.consumer.assignors: the first is the default. */
  assignors: string[];
  /** "consumer" in group.coordinator.rebalance.protocols: false -> the two APIs are not served. */
  enabled: boolean;
}

export const DEFAULT_CONSUMER_GROUP_CONFIG: Readonly<ConsumerGroupConfig> = Object.freeze({
  heartbeatIntervalMs: 5_000,
  sessionTimeoutMs: 45_000,
  maxSize: 2_147_483_647,
  assignors: ['uniform', 'range'],
  enabled: true,
});

export interface TopicPartitionsParam {
  topicId: string;
  partitions: number[];
}

export interface ConsumerHeartbeatParams {
  apiVersion: number;
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  topicPartitions: TopicPartitionsParam[] | null;
  clientId: string;
  clientHost: string;
  /** Topics the requester may describe (regex subscriptions only match these). */
  mayDescribe?: (topic: string) => boolean;
}

export interface ConsumerHeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicPartitions: TopicPartitionsParam[] } | null;
}

export interface DescribedConsumerGroupMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  memberEpoch: number;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  assignment: { topicPartitions: Array<{ topicId: string; topicName: string; partitions: number[] }> };
  targetAssignment: { topicPartitions: Array<{ topicId: string; topicName: string; partitions: number[] }> };
}

export interface DescribedConsumerGroup {
  errorCode: number;
  errorMessage: string | null;
  groupId: string;
  groupState: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: DescribedConsumerGroupMember[];
}

/** What the consumer-group coordinator needs of the GroupCoordinator that holds the records. */
export interface ConsumerGroupHost {
  clock: Clock;
  log: GroupLogger;
  get(groupId: string): ClassicGroup | undefined;
  getOrCreate(groupId: string): ClassicGroup;
  isClosed(): boolean;
  /** Every topic: name, id, partition count. */
  topics(): readonly AssignorTopic[];
  /** A group epoch bump (metrics). */
  onRebalance?(groupId: string): void;
}

/** Kafka's regex checks (RE2-like): JS RegExp syntax, without look-around and back-references, which RE2 lacks. */
export function compileSubscriptionRegex(source: string): RegExp | null {
  if (source.length === 0 || source.length > 1_000) return null;
  if (/\(\?[=!<]|\\[1-9]|\\k</.test(source)) return null;
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    return null;
  }
}

function toSet(tps: readonly TopicPartitionsParam[] | null): TopicPartitionSet | null {
  if (tps === null) return null;
  const s: TopicPartitionSet = new Map();
  for (const t of tps) {
    let ps = s.get(t.topicId);
    if (ps === undefined) s.set(t.topicId, (ps = new Set()));
    for (const p of t.partitions) ps.add(p);
  }
  return s;
}

function toParam(s: TopicPartitionSet): TopicPartitionsParam[] {
  return [...s].filter(([, ps]) => ps.size > 0).map(([topicId, ps]) => ({ topicId, partitions: [...ps].sort((a, b) => a - b) }));
}

class HeartbeatError extends Error {
  constructor(readonly errorCode: number, message: string) {
    super(message);
    this.name = 'HeartbeatError';
  }
}

export class ConsumerGroupCoordinator {
  private readonly config: ConsumerGroupConfig;
  private readonly defaultAssignor: AssignorName;

  get enabled(): boolean {
    return this.config.enabled;
  }

  constructor(private readonly host: ConsumerGroupHost, config: Partial<ConsumerGroupConfig> = {}) {
    this.config = { ...DEFAULT_CONSUMER_GROUP_CONFIG, ...config };
    const first = this.config.assignors[0] ?? 'uniform';
    this.defaultAssignor = isAssignorName(first) ? first : 'uniform';
  }

  heartbeat(p: ConsumerHeartbeatParams): ConsumerHeartbeatResult {
    try {
      return this.handle(p);
    } catch (e) {
      if (!(e instanceof HeartbeatError)) throw e;
      this.host.log.debug({ groupId: p.groupId, memberId: p.memberId, memberEpoch: p.memberEpoch, errorCode: e.errorCode, reason: e.message }, 'consumer group heartbeat refused');
      return { errorCode: e.errorCode, errorMessage: e.message, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
    }
  }

  private validate(p: ConsumerHeartbeatParams): void {
    const bad = (msg: string) => new HeartbeatError(ErrorCode.INVALID_REQUEST, msg);
    if (p.groupId === '') throw new HeartbeatError(ErrorCode.INVALID_GROUP_ID, 'GroupId can\'t be empty.');
    if (p.instanceId !== null && p.instanceId === '') throw bad('InstanceId can\'t be empty.');
    if (p.rackId !== null && p.rackId === '') throw bad('RackId can\'t be empty.');
    if (p.apiVersion >= 1 && p.memberId === '') throw bad('MemberId can\'t be empty.');
    if (p.memberEpoch > 0 || p.memberEpoch === LEAVE_EPOCH) {
      if (p.memberId === '') throw bad('MemberId can\'t be empty.');
    } else if (p.memberEpoch === 0) {
      // Kafka refuses a join without RebalanceTimeoutMs (INVALID_REQUEST); librdkafka 2.x sends -1 when
      // it rejoins right after a leave, and INVALID_REQUEST is fatal to it: the default is used instead.
      if (p.topicPartitions === null || p.topicPartitions.length > 0) throw bad('TopicPartitions must be empty when (re-)joining.');
      if (p.subscribedTopicNames === null && p.subscribedTopicRegex === null) throw bad('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.');
    } else if (p.memberEpoch === STATIC_LEAVE_EPOCH) {
      if (p.instanceId === null) throw bad('InstanceId can\'t be null.');
      if (p.memberId === '') throw bad('MemberId can\'t be empty.');
    } else {
      throw bad(`MemberEpoch is invalid: ${p.memberEpoch}.`);
    }
    if (p.rebalanceTimeoutMs < -1) throw bad(`RebalanceTimeoutMs is invalid: ${p.rebalanceTimeoutMs}.`);
    if (p.serverAssignor !== null && !this.config.assignors.includes(p.serverAssignor)) {
      throw new HeartbeatError(ErrorCode.UNSUPPORTED_ASSIGNOR, `ServerAssignor ${p.serverAssignor} is not supported. Supported assignors: ${this.config.assignors.join(', ')}.`);
    }
    if (p.subscribedTopicRegex !== null && p.subscribedTopicRegex !== '' && compileSubscriptionRegex(p.subscribedTopicRegex) === null) {
      throw new HeartbeatError(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex \`${p.subscribedTopicRegex}\` is not a valid regular expression.`);
    }
  }

  private handle(p: ConsumerHeartbeatParams): ConsumerHeartbeatResult {
    if (this.host.isClosed()) throw new HeartbeatError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is shutting down.');
    this.validate(p);
    const record = this.host.get(p.groupId);
    if (p.memberEpoch !== 0) {
      const cg = record?.consumerGroup ?? null;
      const m = cg?.members.get(p.memberId);
      if (cg === null || m === undefined) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of group ${p.groupId}.`);
      if (p.memberEpoch === LEAVE_EPOCH) return this.leave(record!, cg, m, LEAVE_EPOCH);
      if (p.memberEpoch === STATIC_LEAVE_EPOCH) return this.leave(record!, cg, m, STATIC_LEAVE_EPOCH);
      return this.regularHeartbeat(record!, cg, m, p);
    }
    return this.join(p, record);
  }

  private groupFor(groupId: string, record: ClassicGroup | undefined): { record: ClassicGroup; cg: ConsumerGroup } {
    const r = record ?? this.host.getOrCreate(groupId);
    if (r.is('Dead')) throw new HeartbeatError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `Group ${groupId} is being deleted.`);
    if (r.consumerGroup === null) {
      if (!r.is('Empty') || r.members.size > 0 || r.pendingJoinMembers.size > 0) {
        throw new HeartbeatError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `Group ${groupId} is a classic group with members.`);
      }
      r.consumerGroup = new ConsumerGroup(groupId, this.defaultAssignor);
      if (record !== undefined) this.host.log.info({ groupId }, 'empty classic group upgraded to a consumer group');
    }
    return { record: r, cg: r.consumerGroup };
  }

  private join(p: ConsumerHeartbeatParams, existing: ClassicGroup | undefined): ConsumerHeartbeatResult {
    const { record, cg } = this.groupFor(p.groupId, existing);
    let memberId = p.memberId === '' ? randomUUID() : p.memberId;
    let replaced: ConsumerMember | undefined;
    if (p.instanceId !== null) {
      const currentId = cg.staticMembers.get(p.instanceId);
      const current = currentId === undefined ? undefined : cg.members.get(currentId);
      if (current !== undefined) {
        if (current.memberEpoch !== STATIC_LEAVE_EPOCH && current.memberId !== memberId) {
          throw new HeartbeatError(ErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${current.memberId} with instance id ${p.instanceId} is not released yet.`);
        }
        if (current.memberEpoch === STATIC_LEAVE_EPOCH) replaced = current;
      }
    }
    const previous = cg.members.get(memberId);
    if (previous !== undefined && previous !== replaced) {
      // The same member rejoining with epoch 0 (after a fence or error): it starts over.
      this.dropMember(cg, previous);
    }
    if (replaced === undefined && cg.size >= this.config.maxSize) {
      throw new HeartbeatError(ErrorCode.GROUP_MAX_SIZE_REACHED, `The consumer group has reached its maximum capacity of ${this.config.maxSize} members.`);
    }
    const m = new ConsumerMember(memberId, p.instanceId, p.clientId, p.clientHost);
    let subscriptionChanged = true;
    if (replaced !== undefined) {
      // A static member returning: the new member id takes the old one's place and assignment.
      const target = cg.target.get(replaced.memberId);
      m.memberEpoch = replaced.previousMemberEpoch >= 0 ? replaced.previousMemberEpoch : 0;
      m.assigned = replaced.assigned;
      m.revoking = replaced.revoking;
      m.state = replaced.state;
      m.subscribedTopicNames = replaced.subscribedTopicNames;
      m.subscribedTopicRegex = replaced.subscribedTopicRegex;
      m.regex = replaced.regex;
      m.serverAssignor = replaced.serverAssignor;
      this.dropMember(cg, replaced);
      if (target !== undefined) cg.target.set(memberId, target);
      subscriptionChanged = false;
      this.host.log.info({ groupId: p.groupId, instanceId: p.instanceId, oldMemberId: replaced.memberId, memberId }, 'static member rejoined');
    }
    cg.addMember(m);
    subscriptionChanged = this.updateMember(m, p) || subscriptionChanged;
    this.maybeBump(record, cg, subscriptionChanged, `member ${memberId} joined`);
    cg.reconcile(m, new Map());
    this.afterReconcile(record, cg, m);
    this.touchSession(record, cg, m);
    this.host.log.info({ groupId: p.groupId, memberId, memberEpoch: m.memberEpoch, groupEpoch: cg.groupEpoch }, 'consumer group member joined');
    memberId = m.memberId;
    return this.answer(m, true);
  }

  /** Applies the heartbeat's changed fields; true when the subscription or assignor changed. */
  private updateMember(m: ConsumerMember, p: ConsumerHeartbeatParams): boolean {
    let changed = false;
    if (p.mayDescribe !== undefined) m.mayDescribe = p.mayDescribe;
    if (p.rackId !== null) m.rackId = p.rackId;
    if (p.rebalanceTimeoutMs >= 0) m.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
    m.clientId = p.clientId;
    m.clientHost = p.clientHost;
    if (p.subscribedTopicNames !== null) {
      const names = [...new Set(p.subscribedTopicNames)].sort();
      if (names.join('\0') !== [...m.subscribedTopicNames].sort().join('\0')) changed = true;
      m.subscribedTopicNames = names;
    }
    if (p.subscribedTopicRegex !== null) {
      const source = p.subscribedTopicRegex === '' ? null : p.subscribedTopicRegex;
      if (source !== m.subscribedTopicRegex) changed = true;
      m.subscribedTopicRegex = source;
      m.regex = source === null ? null : compileSubscriptionRegex(source);
    }
    if (p.serverAssignor !== null && p.serverAssignor !== m.serverAssignor) {
      m.serverAssignor = p.serverAssignor;
      changed = true;
    }
    return changed;
  }

  private regularHeartbeat(record: ClassicGroup, cg: ConsumerGroup, m: ConsumerMember, p: ConsumerHeartbeatParams): ConsumerHeartbeatResult {
    const owned = toSet(p.topicPartitions);
    if (m.memberEpoch === STATIC_LEAVE_EPOCH) throw new HeartbeatError(ErrorCode.FENCED_MEMBER_EPOCH, `Static member ${m.memberId} left; it must rejoin with epoch 0.`);
    if (p.memberEpoch > m.memberEpoch) {
      throw new HeartbeatError(ErrorCode.FENCED_MEMBER_EPOCH, `The consumer group member has a greater member epoch (${p.memberEpoch}) than the one known by the group coordinator (${m.memberEpoch}).`);
    }
    if (p.memberEpoch < m.memberEpoch && (p.memberEpoch !== m.previousMemberEpoch || (owned !== null && !isSubset(owned, m.assigned)))) {
      throw new HeartbeatError(ErrorCode.FENCED_MEMBER_EPOCH, `The consumer group member has a smaller member epoch (${p.memberEpoch}) than the one known by the group coordinator (${m.memberEpoch}).`);
    }
    const before = m.assigned;
    const beforeEpoch = m.memberEpoch;
    const changed = this.updateMember(m, p);
    this.maybeBump(record, cg, changed, `member ${m.memberId} changed its subscription`);
    cg.reconcile(m, owned);
    this.afterReconcile(record, cg, m);
    this.touchSession(record, cg, m);
    const full = p.rebalanceTimeoutMs !== -1 && p.subscribedTopicNames !== null && p.topicPartitions !== null;
    return this.answer(m, full || beforeEpoch !== m.memberEpoch || !sameTopicPartitions(before, m.assigned));
  }

  private leave(record: ClassicGroup, cg: ConsumerGroup, m: ConsumerMember, epoch: number): ConsumerHeartbeatResult {
    if (epoch === STATIC_LEAVE_EPOCH && m.instanceId !== null) {
      // Keeps its partitions for a while: the same instance may come back (a restart).
      if (m.memberEpoch !== STATIC_LEAVE_EPOCH) m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = STATIC_LEAVE_EPOCH;
      this.clearRevocation(m);
      this.host.log.info({ groupId: cg.groupId, memberId: m.memberId, instanceId: m.instanceId }, 'static member left temporarily');
    } else {
      this.removeMember(record, cg, m, `member ${m.memberId} left`);
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: m.memberId, memberEpoch: epoch, heartbeatIntervalMs: 0, assignment: null };
  }

  /** Bumps the epoch when the membership/subscriptions changed or the subscribed topics did. */
  private maybeBump(record: ClassicGroup, cg: ConsumerGroup, changed: boolean, reason: string): void {
    const topics = this.host.topics();
    if (!changed && cg.subscribedTopics(topics).signature === cg.subscriptionSignature) return;
    cg.bumpAndAssign(topics, this.defaultAssignor, this.config.assignors);
    this.host.onRebalance?.(cg.groupId);
    this.host.log.info({ groupId: cg.groupId, groupEpoch: cg.groupEpoch, assignor: cg.assignorName, members: cg.size, reason: changed ? reason : 'subscribed topics changed' }, 'consumer group epoch bumped');
    void record;
  }

  private afterReconcile(record: ClassicGroup, cg: ConsumerGroup, m: ConsumerMember): void {
    if (m.state !== 'unrevoked') return this.clearRevocation(m);
    if (m.revocationTimer !== null) return;
    m.revocationTimer = this.host.clock.setTimer(m.rebalanceTimeoutMs, () => {
      m.revocationTimer = null;
      if (cg.members.get(m.memberId) !== m || m.state !== 'unrevoked') return;
      this.removeMember(record, cg, m, `member ${m.memberId} did not revoke its partitions within ${m.rebalanceTimeoutMs} ms`);
    });
  }

  private clearRevocation(m: ConsumerMember): void {
    if (m.revocationTimer !== null) this.host.clock.clearTimer(m.revocationTimer);
    m.revocationTimer = null;
  }

  private touchSession(record: ClassicGroup, cg: ConsumerGroup, m: ConsumerMember): void {
    if (m.sessionTimer !== null) this.host.clock.clearTimer(m.sessionTimer);
    m.sessionTimer = this.host.clock.setTimer(this.config.sessionTimeoutMs, () => {
      m.sessionTimer = null;
      if (cg.members.get(m.memberId) !== m) return;
      this.removeMember(record, cg, m, `member ${m.memberId} session expired`);
    });
  }

  /** Forgets a member's timers and state without bumping the epoch. */
  private dropMember(cg: ConsumerGroup, m: ConsumerMember): void {
    this.clearRevocation(m);
    if (m.sessionTimer !== null) this.host.clock.clearTimer(m.sessionTimer);
    m.sessionTimer = null;
    cg.removeMember(m.memberId);
  }

  private removeMember(record: ClassicGroup, cg: ConsumerGroup, m: ConsumerMember, reason: string): void {
    this.host.log.info({ groupId: cg.groupId, memberId: m.memberId, reason }, 'removing consumer group member');
    this.dropMember(cg, m);
    this.maybeBump(record, cg, true, reason);
  }

  private answer(m: ConsumerMember, withAssignment: boolean): ConsumerHeartbeatResult {
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: m.memberId,
      memberEpoch: m.memberEpoch,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      assignment: withAssignment ? { topicPartitions: toParam(m.assigned) } : null,
    };
  }

  // ---------------------------------------------------------------- offsets, describe, close

  /** Kafka's ConsumerGroup.validateOffsetCommit. */
  validateOffsetCommit(cg: ConsumerGroup, memberId: string, memberEpoch: number, apiVersion: number, transactional: boolean): number {
    if (memberEpoch < 0 && cg.size === 0) return ErrorCode.NONE;
    const m = cg.members.get(memberId);
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (!transactional && apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION;
    return memberEpoch === m.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /** Kafka's ConsumerGroup.validateOffsetFetch (OffsetFetch v9 with a member id). */
  validateOffsetFetch(cg: ConsumerGroup, memberId: string | null, memberEpoch: number): number {
    if (memberId === null || (memberEpoch < 0 && memberId === '')) return ErrorCode.NONE;
    const m = cg.members.get(memberId);
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    return memberEpoch === m.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  describe(groupId: string): DescribedConsumerGroup {
    const none = (errorCode: number, errorMessage: string): DescribedConsumerGroup => ({
      errorCode, errorMessage, groupId, groupState: 'Dead', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [],
    });
    if (this.host.isClosed()) return none(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The coordinator is shutting down.');
    const record = this.host.get(groupId);
    if (record === undefined || record.is('Dead')) return none(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`);
    const cg = record.consumerGroup;
    if (cg === null) return none(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`);
    const names = new Map(this.host.topics().map((t) => [t.topicId, t.name]));
    const described = (s: TopicPartitionSet) => ({
      topicPartitions: toParam(s).filter((t) => names.has(t.topicId)).map((t) => ({ topicId: t.topicId, topicName: names.get(t.topicId)!, partitions: t.partitions })),
    });
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      groupId,
      groupState: cg.state,
      groupEpoch: cg.groupEpoch,
      assignmentEpoch: cg.assignmentEpoch,
      assignorName: cg.assignorName,
      members: [...cg.members.values()].map((m) => ({
        memberId: m.memberId, instanceId: m.instanceId, rackId: m.rackId, memberEpoch: m.memberEpoch,
        clientId: m.clientId, clientHost: m.clientHost, subscribedTopicNames: m.subscribedTopicNames,
        subscribedTopicRegex: m.subscribedTopicRegex, assignment: described(m.assigned),
        targetAssignment: described(cg.target.get(m.memberId) ?? new Map()),
      })),
    };
  }

  /** Clears every member timer (coordinator close). */
  closeGroup(cg: ConsumerGroup): void {
    for (const m of cg.members.values()) {
      this.clearRevocation(m);
      if (m.sessionTimer !== null) this.host.clock.clearTimer(m.sessionTimer);
      m.sessionTimer = null;
    }
  }
}
