/**
 * GroupCoordinator: the classic consumer-group protocol (JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup) and committed offsets (OffsetCommit, OffsetFetch, OffsetDelete), plus ListGroups,
 * DescribeGroups and DeleteGroups, behaving as Kafka's GroupCoordinator does for classic groups.
 * Pure logic: no sockets, no codecs. Time comes from an injected Clock, durability of offsets from
 * an injected GroupOffsetStore; logs go to an optional pino-compatible logger. This file holds the
 * groups and their membership; the offsets and every store call are in offset-manager.ts.
 *
 * ## Using it
 *   const groups = await GroupCoordinator.open({ store, clock?, logger?, config? });
 *   ...each request handler translates its decoded request into the *Params type, awaits the
 *   matching method and copies the *Result fields into the response (names follow the codecs)...
 *   groups.close();   // on shutdown: clears every timer, answers parked requests NOT_COORDINATOR
 *
 * Methods (all return Promises and never reject for protocol errors; errors are `errorCode`s from
 * ErrorCode in ../protocol/errors.ts):
 *   joinGroup(JoinGroupParams)        -> JoinGroupResult     parks until the rebalance completes
 *   syncGroup(SyncGroupParams)        -> SyncGroupResult     followers park until the leader syncs
 *   heartbeat(HeartbeatParams)        -> HeartbeatResult
 *   leaveGroup(LeaveGroupParams)      -> LeaveGroupResult    v0-2: top-level error = leaveGroupV0Error(result)
 *   commitOffsets(OffsetCommitParams) -> OffsetCommitResult  answers after the store made them durable
 *   commitTxnOffsets(TxnOffsetCommitParams) -> OffsetCommitResult  pending until the transaction ends
 *   completeTxn(producerId, commit)   -> void                the marker: pending offsets committed or dropped
 *   fetchOffsets(OffsetFetchParams)   -> OffsetFetchResult   call once per group for OffsetFetch v8+
 *   deleteOffsets(OffsetDeleteParams) -> OffsetDeleteResult
 *   deleteGroups(groupIds)            -> DeleteGroupResult[] (one per distinct id)
 *   listGroups(ListGroupsParams)      -> ListGroupsResult
 *   describeGroups(groupIds)          -> DescribedGroup[]    (one per requested id, in order)
 *   deleteTopicOffsets(topics)        -> removes the offsets of deleted topics from every group
 *   deleteOffsetsOfMissingTopics(current) -> the same for topics deleted while offsets stayed behind
 *
 * ## What the handler still does
 *   - FindCoordinator: this broker is the coordinator of every group (single node).
 *   - OffsetCommit: answer UNKNOWN_TOPIC_OR_PARTITION for partitions that do not exist and pass
 *     only the others, with their topic ids; call deleteTopicOffsets when topics are deleted;
 *     OffsetFetch v0-1 has no top-level error field (drop `errorCode`).
 *   - Version-dependent shapes: null protocolName -> '' below JoinGroup v7; LeaveGroup v0-2 has a
 *     single member id; throttle times; DescribeGroups' authorizedOperations.
 *
 * ## Behaviour (Kafka's, with its reasons)
 *   States: Empty -> PreparingRebalance -> CompletingRebalance -> Stable, back to PreparingRebalance
 *   on any membership or metadata change; Dead only while a deletion is being made durable.
 *   - JoinGroup v4+ from a new dynamic member: MEMBER_ID_REQUIRED with `clientId-uuid`; it must
 *     rejoin with that id (the id expires after the session timeout). Static members
 *     (group.instance.id) and older versions join directly.
 *   - A rebalance completes when every known member (and every pending id) has rejoined, or after
 *     the rebalance timeout (max of the members' rebalanceTimeoutMs), which drops the dynamic
 *     members that did not rejoin. A group that was Empty first waits
 *     group.initial.rebalance.delay.ms (extended while new members keep arriving, up to the
 *     rebalance timeout); with a delay of 0 it completes as soon as everybody has joined.
 *   - Leader: the first member to join; kept across rebalances while it rejoins; otherwise a member
 *     that rejoined. Protocol: among the protocols every member supports, the most voted (each
 *     member votes for its most preferred candidate).
 *   - In CompletingRebalance the leader's SyncGroup sets all assignments (missing members get an
 *     empty one) and makes the group Stable; parked followers are answered then. Members must send
 *     SyncGroup within the rebalance timeout or are removed (another rebalance).
 *   - Session expiry: a member that does not heartbeat (or commit, join, sync) within its
 *     sessionTimeoutMs is removed and the group rebalances. Members parked in join or sync do not
 *     expire, except new members whose first join waits longer than newMemberJoinTimeoutMs (5 min).
 *   - Static member rejoining with an empty member id gets a new id and replaces the old member
 *     (its parked requests get FENCED_INSTANCE_ID, and so does any later request with the old id).
 *     In a Stable group this causes no rebalance unless it would change the selected protocol (Kafka
 *     compares the protocol, not the metadata, since a restarted consumer's metadata always differs);
 *     the response then names the previous leader id so the member does not run an assignment.
 *   - OffsetCommit: generationId < 0 with no member id is a simple commit, allowed when the group is
 *     Empty or does not exist (it is created Empty). Members commit with their current generation
 *     (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS while
 *     CompletingRebalance). A commit also counts as a heartbeat. What happens to the offsets
 *     themselves (and OffsetFetch, OffsetDelete): offset-manager.ts.
 *   - TxnOffsetCommit (Kafka's handleTxnCommitOffsets): an unknown group is created Empty; with a
 *     generation, member or instance id given (v3+, KIP-447) they are checked as for OffsetCommit
 *     (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, ILLEGAL_GENERATION), else any group state is fine;
 *     no REBALANCE_IN_PROGRESS and no heartbeat. The offsets stay pending until completeTxn.
 *   - After restart: groups with committed offsets exist, Empty, generation 0.
 *   - Empty groups without offsets are forgotten by a periodic sweep (emptyGroupSweepIntervalMs).
 *   Not implemented: offset retention (offsets.retention.minutes).
 *
 * Every parked request is answered exactly once: when its phase completes, when its member is
 * removed or replaced, when a retry supersedes it, or at close().
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';
import { assert } from '../common/assert.js';
import { SystemClock, type Clock } from './clock.js';
import { CONSUMER_PROTOCOL_TYPE, ClassicGroup, GroupMember, type JoinWaiter } from './group.js';
import { OffsetManager, offsetCommitError } from './offset-manager.js';
import type { GroupOffsetStore, TopicRef } from './offset-store.js';
import {
  ConsumerGroupCoordinator, type ConsumerGroupConfig, type ConsumerHeartbeatParams, type ConsumerHeartbeatResult, type DescribedConsumerGroup,
} from './consumer-group-coordinator.js';
import type { AssignorTopic } from './assignors.js';
import type {
  DeleteGroupResult, DescribedGroup, GroupLogger, HeartbeatParams, HeartbeatResult, JoinGroupParams, JoinGroupProtocol,
  JoinGroupResult, LeaveGroupParams, LeaveGroupResult, ListedGroup, ListGroupsParams, ListGroupsResult, OffsetCommitParams,
  OffsetCommitResult, OffsetDeleteParams, OffsetDeleteResult, OffsetFetchParams, OffsetFetchResult, SyncGroupParams,
  SyncGroupResult, TxnOffsetCommitParams,
} from './types.js';

export * from './types.js';
export { ManualClock, SystemClock, type Clock, type TimerHandle } from './clock.js';
export {
  DEFAULT_CONSUMER_GROUP_CONFIG, type ConsumerGroupConfig, type ConsumerHeartbeatParams, type ConsumerHeartbeatResult, type DescribedConsumerGroup,
} from './consumer-group-coordinator.js';
export {
  MemoryGroupOffsetStore, type GroupOffsetStore, type CommittedOffset, type OffsetKey, type PendingTxnOffsets, type StoredGroupOffsets, type TopicRef,
} from './offset-store.js';

export interface GroupCoordinatorConfig {
  /** group.min.session.timeout.ms */
  sessionTimeoutMsMin: number;
  /** group.max.session.timeout.ms */
  sessionTimeoutMsMax: number;
  /** group.max.size */
  groupSizeMax: number;
  /** group.initial.rebalance.delay.ms */
  initialRebalanceDelayMs: number;
  /** How long a brand-new member's first JoinGroup may stay parked (Kafka: 5 min). */
  newMemberJoinTimeoutMs: number;
  /** offset.metadata.max.bytes (counted in UTF-16 units, like Java's String.length). */
  offsetMetadataMaxBytes: number;
  /** How often Empty groups without offsets are forgotten (Kafka: offsets.retention.check.interval.ms). */
  emptyGroupSweepIntervalMs: number;
}

export const DEFAULT_GROUP_COORDINATOR_CONFIG: Readonly<GroupCoordinatorConfig> = Object.freeze({
  sessionTimeoutMsMin: 6_000,
  sessionTimeoutMsMax: 1_800_000,
  groupSizeMax: 2_147_483_647,
  initialRebalanceDelayMs: 3_000,
  newMemberJoinTimeoutMs: 300_000,
  offsetMetadataMaxBytes: 4_096,
  emptyGroupSweepIntervalMs: 600_000,
});

export interface GroupCoordinatorOptions {
  store: GroupOffsetStore;
  clock?: Clock;
  logger?: GroupLogger;
  config?: Partial<GroupCoordinatorConfig>;
  /** Member id suffix generator (default: random UUID); tests may make ids predictable. */
  newMemberIdSuffix?: () => string;
  /** KIP-848 consumer groups (group.consumer.*). */
  consumer?: Partial<ConsumerGroupConfig>;
  /** Every topic (name, id, partitions): consumer groups assign from it. Default: none. */
  topics?: () => readonly AssignorTopic[];
  /** Called on every consumer-group epoch bump (metrics). */
  onConsumerGroupRebalance?: (groupId: string) => void;
}

/** LeaveGroup v0-2 carry one error: the group error, else the first member error (as Kafka). */
export function leaveGroupV0Error(result: LeaveGroupResult): number {
  if (result.errorCode !== ErrorCode.NONE) return result.errorCode;
  return result.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
}

const EMPTY = Buffer.alloc(0);
const NO_LEADER = '';

const noopLogger: GroupLogger = { debug() {}, info() {}, warn() {}, error() {} };

function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: NO_LEADER, skipAssignment: false, memberId, members: [] };
}

function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

/** Drops repeated protocol names (keeps the first: the member's preference order). */
function dedupeProtocols(protocols: readonly JoinGroupProtocol[]): JoinGroupProtocol[] {
  const seen = new Set<string>();
  const out: JoinGroupProtocol[] = [];
  for (const p of protocols) {
    if (seen.has(p.name)) continue;
    seen.add(p.name);
    out.push({ name: p.name, metadata: p.metadata });
  }
  return out;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, ClassicGroup>();
  private readonly clock: Clock;
  private readonly log: GroupLogger;
  private readonly config: GroupCoordinatorConfig;
  private readonly offsets: OffsetManager;
  private readonly newMemberIdSuffix: () => string;
  private readonly consumer: ConsumerGroupCoordinator;
  private sweepTimer: ReturnType<Clock['setTimer']> | null = null;
  private closed = false;

  /** Loads every group's committed offsets from the store, then serves. */
  static async open(options: GroupCoordinatorOptions): Promise<GroupCoordinator> {
    const c = new GroupCoordinator(options);
    const count = await c.offsets.loadAll();
    c.log.info({ groups: c.groups.size, offsets: count }, 'group coordinator loaded committed offsets');
    c.scheduleSweep();
    return c;
  }

  private constructor(options: GroupCoordinatorOptions) {
    this.clock = options.clock ?? new SystemClock();
    this.log = options.logger ?? noopLogger;
    this.config = { ...DEFAULT_GROUP_COORDINATOR_CONFIG, ...options.config };
    this.offsets = new OffsetManager({
      store: options.store,
      clock: this.clock,
      log: this.log,
      offsetMetadataMaxBytes: this.config.offsetMetadataMaxBytes,
      groups: {
        get: (groupId) => this.groups.get(groupId),
        getOrCreate: (groupId) => this.getOrCreateGroup(groupId),
        values: () => this.groups.values(),
        isClosed: () => this.closed,
      },
    });
    this.newMemberIdSuffix = options.newMemberIdSuffix ?? randomUUID;
    const topics = options.topics ?? (() => []);
    const onRebalance = options.onConsumerGroupRebalance;
    this.consumer = new ConsumerGroupCoordinator({
      clock: this.clock,
      log: this.log,
      get: (groupId) => this.groups.get(groupId),
      getOrCreate: (groupId) => this.getOrCreateGroup(groupId),
      isClosed: () => this.closed,
      topics,
      ...(onRebalance ? { onRebalance } : {}),
    }, options.consumer);
    const c = this.config;
    assert(c.sessionTimeoutMsMin <= c.sessionTimeoutMsMax, 'group.min.session.timeout.ms > group.max.session.timeout.ms');
    assert(c.groupSizeMax >= 1, 'group.max.size must be >= 1');
    assert(c.initialRebalanceDelayMs >= 0, 'group.initial.rebalance.delay.ms must be >= 0');
  }

  /**
   * Cluster mode: this broker just became (or may have become) the group's coordinator; a group
   * without members here re-reads its committed offsets from the store (OffsetManager.adoptGroup).
   */
  adoptGroup(groupId: string): Promise<void> {
    return this.offsets.adoptGroup(groupId);
  }

  /** Stops all timers and answers every parked request with NOT_COORDINATOR. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer !== null) this.clock.clearTimer(this.sweepTimer);
    this.sweepTimer = null;
    for (const group of this.groups.values()) {
      if (group.consumerGroup !== null) this.consumer.closeGroup(group.consumerGroup);
      this.clearJoinTimer(group);
      this.clearSyncTimer(group);
      for (const t of group.pendingJoinMembers.values()) this.clock.clearTimer(t);
      group.pendingJoinMembers.clear();
      for (const m of group.members.values()) {
        this.clearHeartbeat(m);
        group.completeJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        group.completeSync(m, syncError(ErrorCode.NOT_COORDINATOR));
      }
    }
  }

  // ---------------------------------------------------------------- JoinGroup

  joinGroup(params: JoinGroupParams): Promise<JoinGroupResult> {
    return new Promise<JoinGroupResult>((resolve) => this.handleJoin(params, resolve));
  }

  private handleJoin(p: JoinGroupParams, respond: JoinWaiter): void {
    if (this.closed) return respond(joinError(p.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (p.groupId === '') return respond(joinError(p.memberId, ErrorCode.INVALID_GROUP_ID));
    if (p.sessionTimeoutMs < this.config.sessionTimeoutMsMin || p.sessionTimeoutMs > this.config.sessionTimeoutMsMax) {
      return respond(joinError(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const params: JoinGroupParams = {
      ...p,
      rebalanceTimeoutMs: p.rebalanceTimeoutMs < 0 ? p.sessionTimeoutMs : p.rebalanceTimeoutMs,
      protocols: dedupeProtocols(p.protocols),
    };
    const isUnknownMember = p.memberId === '';
    let group = this.groups.get(p.groupId);
    if (group === undefined) {
      if (!isUnknownMember) return respond(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = this.getOrCreateGroup(p.groupId);
    }
    if (group.consumerGroup !== null) {
      // One namespace: an empty consumer group may be taken over by classic members (downgrade).
      if (group.consumerGroup.size > 0) return respond(joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      this.log.info({ groupId: p.groupId }, 'empty consumer group downgraded to a classic group');
      group.consumerGroup = null;
    }
    if (!this.acceptJoiningMember(group, p.memberId)) {
      const m = group.members.get(p.memberId);
      if (m !== undefined) this.removeMemberQuietly(group, m, ErrorCode.GROUP_MAX_SIZE_REACHED);
      respond(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
    } else if (isUnknownMember) {
      this.joinNewMember(group, params, respond);
    } else {
      this.joinCurrentMember(group, params, respond);
    }
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  /** Kafka's capacity rule: counts members awaiting join while rebalancing, members otherwise. */
  private acceptJoiningMember(group: ClassicGroup, memberId: string): boolean {
    const max = this.config.groupSizeMax;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (group.has(memberId) && group.get(memberId).isAwaitingJoin) || group.numAwaitingJoinResponse < max;
      case 'CompletingRebalance':
      case 'Stable':
        return group.has(memberId) || group.size < max;
    }
  }

  private joinNewMember(group: ClassicGroup, p: JoinGroupParams, respond: JoinWaiter): void {
    if (group.is('Dead')) return respond(joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(p.protocolType, p.protocols.map((x) => x.name))) {
      return respond(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const newMemberId = `${p.groupInstanceId ?? p.clientId}-${this.newMemberIdSuffix()}`;
    if (p.groupInstanceId !== null) {
      const oldMemberId = group.staticMemberId(p.groupInstanceId);
      if (oldMemberId !== undefined) {
        this.log.info({ groupId: group.groupId, groupInstanceId: p.groupInstanceId, oldMemberId, newMemberId, state: group.state }, 'static member rejoins with a new member id; replacing the old one');
        this.replaceStaticMember(group, oldMemberId, newMemberId, p, respond);
      } else {
        this.addMemberAndRebalance(group, newMemberId, p, respond);
      }
    } else if (p.apiVersion >= 4) {
      const timer = this.clock.setTimer(p.sessionTimeoutMs, () => this.onPendingMemberExpired(group, newMemberId));
      group.addPendingMember(newMemberId, timer);
      this.log.debug({ groupId: group.groupId, memberId: newMemberId }, 'new dynamic member must rejoin with its assigned id');
      respond(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(group, newMemberId, p, respond);
    }
  }

  private joinCurrentMember(group: ClassicGroup, p: JoinGroupParams, respond: JoinWaiter): void {
    const memberId = p.memberId;
    if (group.is('Dead')) return respond(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(p.protocolType, p.protocols.map((x) => x.name))) {
      return respond(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (group.isPendingMember(memberId)) {
      // Pending ids are only handed to dynamic members; a static one claiming it is confused.
      if (p.groupInstanceId !== null) return respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      this.clock.clearTimer(group.pendingJoinMembers.get(memberId)!);
      this.addMemberAndRebalance(group, memberId, p, respond);
      return;
    }
    const err = this.validateCurrentMember(group, memberId, p.groupInstanceId);
    if (err !== ErrorCode.NONE) return respond(joinError(memberId, err));
    const member = group.get(memberId);
    const reason = p.reason ?? 'not provided';
    switch (group.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(group, member, p, respond, `member ${memberId} joining during PreparingRebalance; client reason: ${reason}`);
        return;
      case 'CompletingRebalance':
        if (member.matches(p.protocols)) {
          // A retry of a join whose response was lost: same generation, same answer.
          this.supersedeJoin(group, member);
          respond(this.currentJoinResult(group, member, group.isLeader(memberId)));
        } else {
          this.updateMemberAndRebalance(group, member, p, respond, `member ${memberId} changed metadata during CompletingRebalance; client reason: ${reason}`);
        }
        return;
      case 'Stable':
        if (group.isLeader(memberId)) {
          // The leader rejoining is how it asks for a rebalance (e.g. topic metadata changed).
          this.updateMemberAndRebalance(group, member, p, respond, `leader ${memberId} rejoined; client reason: ${reason}`);
        } else if (!member.matches(p.protocols)) {
          this.updateMemberAndRebalance(group, member, p, respond, `member ${memberId} changed metadata; client reason: ${reason}`);
        } else {
          respond(this.currentJoinResult(group, member, false));
        }
        return;
      case 'Empty':
      case 'Dead':
        this.log.warn({ groupId: group.groupId, memberId, state: group.state }, 'rejoining member in unexpected state');
        respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
    }
  }

  private currentJoinResult(group: ClassicGroup, member: GroupMember, withMembers: boolean): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? NO_LEADER,
      skipAssignment: false,
      memberId: member.memberId,
      members: withMembers ? group.currentMemberMetadata() : [],
    };
  }

  private addMemberAndRebalance(group: ClassicGroup, memberId: string, p: JoinGroupParams, respond: JoinWaiter): void {
    const member = new GroupMember(memberId, p.groupInstanceId, p.clientId, p.clientHost, p.rebalanceTimeoutMs, p.sessionTimeoutMs, p.protocolType, p.protocols);
    member.isNew = true;
    // A member arriving during a new group's initial delay extends that delay.
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, respond);
    // New members cannot heartbeat until their join completes; bound how long that may take.
    this.scheduleHeartbeat(group, member, this.config.newMemberJoinTimeoutMs);
    this.log.info({ groupId: group.groupId, memberId, groupInstanceId: p.groupInstanceId, clientId: p.clientId, reason: p.reason ?? null }, 'member added to group');
    this.maybePrepareRebalance(group, `adding member ${memberId}; client reason: ${p.reason ?? 'not provided'}`);
  }

  private updateMemberAndRebalance(group: ClassicGroup, member: GroupMember, p: JoinGroupParams, respond: JoinWaiter, reason: string): void {
    this.supersedeJoin(group, member);
    member.clientHost = p.clientHost;
    group.updateMember(member, p.protocols, p.rebalanceTimeoutMs, p.sessionTimeoutMs, respond);
    this.maybePrepareRebalance(group, reason);
  }

  /** A member sending JoinGroup again while one is parked: answer the old one so its connection is not stuck. */
  private supersedeJoin(group: ClassicGroup, member: GroupMember): void {
    group.completeJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
  }

  private replaceStaticMember(group: ClassicGroup, oldMemberId: string, newMemberId: string, p: JoinGroupParams, respond: JoinWaiter): void {
    const instanceId = p.groupInstanceId;
    assert(instanceId !== null, 'static replacement without instance id');
    const currentLeader = group.leaderId ?? NO_LEADER;
    const old = group.get(oldMemberId);
    // The old instance (if still running) is a zombie now: fence whatever it has parked.
    group.completeJoin(old, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    group.completeSync(old, syncError(ErrorCode.FENCED_INSTANCE_ID));
    this.clearHeartbeat(old);
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId, p.clientId, p.clientHost);
    this.scheduleHeartbeat(group, member, p.sessionTimeoutMs);
    group.updateMember(member, p.protocols, p.rebalanceTimeoutMs, p.sessionTimeoutMs, respond);
    const reason = `static member ${instanceId} rejoined as ${newMemberId}; client reason: ${p.reason ?? 'not provided'}`;
    switch (group.state) {
      case 'Stable':
        if (group.selectProtocol() === group.protocolName) {
          // No rebalance: the member keeps the old one's assignment. Naming the previous leader id
          // keeps a returning leader from running an assignment nobody would receive.
          group.completeJoin(member, {
            errorCode: ErrorCode.NONE,
            generationId: group.generationId,
            protocolType: group.protocolType,
            protocolName: group.protocolName,
            leader: currentLeader,
            skipAssignment: false,
            memberId: newMemberId,
            members: [],
          });
        } else {
          this.maybePrepareRebalance(group, `${reason}; selected protocol would change`);
        }
        return;
      case 'CompletingRebalance':
        // The leader may already be assigning to the old id: start over.
        this.prepareRebalance(group, reason);
        return;
      case 'PreparingRebalance':
        return;
      case 'Empty':
      case 'Dead':
        assert(false, `group ${group.groupId}: static member ${instanceId} known while ${group.state}`);
    }
  }

  private validateCurrentMember(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = group.staticMemberId(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) {
        this.log.info({ groupId: group.groupId, memberId, groupInstanceId, currentMemberId: current }, 'static member fenced');
        return ErrorCode.FENCED_INSTANCE_ID;
      }
    }
    return group.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  // ---------------------------------------------------------------- rebalance machinery

  private maybePrepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.canRebalance) this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.clearSyncTimer(group);
    group.pendingSyncMembers.clear();
    const wasEmpty = group.is('Empty');
    group.transitionTo('PreparingRebalance');
    this.clearJoinTimer(group);
    this.log.info({ groupId: group.groupId, generationId: group.generationId, reason }, 'preparing to rebalance group');
    const delayMs = this.config.initialRebalanceDelayMs;
    if (wasEmpty && delayMs > 0) {
      this.scheduleInitialJoin(group, delayMs, Math.max(group.rebalanceTimeoutMs() - delayMs, 0));
    } else {
      this.scheduleJoin(group);
      this.tryCompleteJoin(group);
    }
  }

  private scheduleJoin(group: ClassicGroup): void {
    this.clearJoinTimer(group);
    group.joinTimerKind = 'normal';
    group.joinTimer = this.clock.setTimer(group.rebalanceTimeoutMs(), () => {
      group.joinTimer = null;
      group.joinTimerKind = null;
      this.onCompleteJoin(group);
    });
  }

  /** Kafka's InitialDelayedJoin: wait `delayMs`; if members kept arriving, wait again (bounded by `remainingMs`). */
  private scheduleInitialJoin(group: ClassicGroup, delayMs: number, remainingMs: number): void {
    this.clearJoinTimer(group);
    group.joinTimerKind = 'initial';
    group.joinTimer = this.clock.setTimer(delayMs, () => {
      group.joinTimer = null;
      group.joinTimerKind = null;
      if (group.newMemberAdded && remainingMs !== 0) {
        group.newMemberAdded = false;
        const nextDelay = Math.min(this.config.initialRebalanceDelayMs, remainingMs);
        this.scheduleInitialJoin(group, nextDelay, Math.max(remainingMs - nextDelay, 0));
      } else {
        this.onCompleteJoin(group);
      }
    });
  }

  private tryCompleteJoin(group: ClassicGroup): void {
    if (group.is('PreparingRebalance') && group.joinTimerKind === 'normal' && group.hasAllMembersJoined()) {
      this.clearJoinTimer(group);
      this.onCompleteJoin(group);
    }
  }

  private onCompleteJoin(group: ClassicGroup): void {
    if (!group.is('PreparingRebalance')) return;
    this.clearJoinTimer(group);
    for (const m of group.notYetRejoinedMembers()) {
      // Static members are kept: they may be restarting and come back with the same identity.
      if (m.isStatic) continue;
      this.log.info({ groupId: group.groupId, memberId: m.memberId }, 'removing member that did not rejoin in time');
      this.removeMemberQuietly(group, m, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      this.log.error({ groupId: group.groupId }, 'could not complete rebalance because no members rejoined; waiting again');
      this.scheduleJoin(group);
      return;
    }
    group.initNextGeneration();
    if (group.is('Empty')) {
      this.log.info({ groupId: group.groupId, generationId: group.generationId }, 'group is now empty');
      return;
    }
    this.log.info({ groupId: group.groupId, generationId: group.generationId, members: group.size, protocol: group.protocolName, leader: group.leaderId }, 'group rebalanced');
    for (const m of [...group.members.values()]) {
      group.completeJoin(m, this.currentJoinResult(group, m, group.isLeader(m.memberId)));
      this.scheduleHeartbeat(group, m, m.sessionTimeoutMs);
      m.isNew = false;
      group.pendingSyncMembers.add(m.memberId);
    }
    this.schedulePendingSync(group);
  }

  /** Members that do not send SyncGroup within the rebalance timeout are removed (Kafka's DelayedSync). */
  private schedulePendingSync(group: ClassicGroup): void {
    this.clearSyncTimer(group);
    const generationId = group.generationId;
    group.syncTimer = this.clock.setTimer(group.rebalanceTimeoutMs(), () => {
      group.syncTimer = null;
      if (generationId !== group.generationId || !(group.is('CompletingRebalance') || group.is('Stable'))) return;
      if (group.pendingSyncMembers.size === 0) return;
      const missing = [...group.pendingSyncMembers];
      for (const id of missing) {
        const m = group.members.get(id);
        if (m !== undefined) this.removeMemberQuietly(group, m, ErrorCode.UNKNOWN_MEMBER_ID);
      }
      this.prepareRebalance(group, `members ${missing.join(', ')} did not send SyncGroup in time`);
    });
  }

  private resetAndPropagateAssignmentError(group: ClassicGroup, errorCode: number): void {
    assert(group.is('CompletingRebalance'), `group ${group.groupId}: reset assignment in ${group.state}`);
    for (const m of group.members.values()) m.assignment = EMPTY;
    this.propagateAssignment(group, errorCode);
  }

  private propagateAssignment(group: ClassicGroup, errorCode: number): void {
    const ok = errorCode === ErrorCode.NONE;
    for (const m of group.members.values()) {
      const answered = group.completeSync(m, {
        errorCode,
        protocolType: ok ? group.protocolType : null,
        protocolName: ok ? group.protocolName : null,
        assignment: ok ? m.assignment : EMPTY,
      });
      // Parked members did not need to heartbeat; their session starts again now.
      if (answered) this.scheduleHeartbeat(group, m, m.sessionTimeoutMs);
    }
  }

  // ---------------------------------------------------------------- SyncGroup

  syncGroup(params: SyncGroupParams): Promise<SyncGroupResult> {
    return new Promise<SyncGroupResult>((resolve) => this.handleSync(params, resolve));
  }

  private handleSync(p: SyncGroupParams, respond: (r: SyncGroupResult) => void): void {
    if (this.closed) return respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (p.groupId === '') return respond(syncError(ErrorCode.INVALID_GROUP_ID));
    const group = this.groups.get(p.groupId);
    if (group === undefined) return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.is('Dead')) return respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const err = this.validateCurrentMember(group, p.memberId, p.groupInstanceId);
    if (err !== ErrorCode.NONE) return respond(syncError(err));
    if (p.generationId !== group.generationId) return respond(syncError(ErrorCode.ILLEGAL_GENERATION));
    if (p.protocolType !== null && p.protocolType !== group.protocolType) return respond(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    if (p.protocolName !== null && p.protocolName !== group.protocolName) return respond(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    const member = group.get(p.memberId);
    switch (group.state) {
      case 'Empty':
        return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'CompletingRebalance': {
        group.completeSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.syncWaiter = respond;
        this.removePendingSyncMember(group, p.memberId);
        if (group.isLeader(p.memberId)) {
          const given = new Map<string, Buffer>();
          for (const a of p.assignments) given.set(a.memberId, a.assignment);
          const missing: string[] = [];
          for (const m of group.members.values()) {
            const a = given.get(m.memberId);
            if (a === undefined) missing.push(m.memberId);
            m.assignment = a ?? EMPTY;
          }
          if (missing.length > 0) this.log.warn({ groupId: group.groupId, generationId: group.generationId, missing }, 'leader gave no assignment to some members; they get an empty one');
          this.log.info({ groupId: group.groupId, generationId: group.generationId, leader: p.memberId }, 'assignment received from leader; group is stable');
          group.transitionTo('Stable');
          this.propagateAssignment(group, ErrorCode.NONE);
        }
        return;
      }
      case 'Stable':
        this.removePendingSyncMember(group, p.memberId);
        this.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
        return respond({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
      case 'Dead':
        assert(false, 'unreachable: Dead handled above');
    }
  }

  private removePendingSyncMember(group: ClassicGroup, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) this.clearSyncTimer(group);
  }

  // ---------------------------------------------------------------- Heartbeat

  async heartbeat(p: HeartbeatParams): Promise<HeartbeatResult> {
    return { errorCode: this.handleHeartbeat(p) };
  }

  private handleHeartbeat(p: HeartbeatParams): number {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (p.groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(p.groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const err = this.validateCurrentMember(group, p.memberId, p.groupInstanceId);
    if (err !== ErrorCode.NONE) return err;
    if (p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = group.get(p.memberId);
    switch (group.state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'CompletingRebalance':
      case 'Stable':
        this.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
        return ErrorCode.NONE;
      case 'PreparingRebalance':
        this.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'Dead':
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  private scheduleHeartbeat(group: ClassicGroup, member: GroupMember, timeoutMs: number): void {
    this.clearHeartbeat(member);
    member.heartbeatTimer = this.clock.setTimer(timeoutMs, () => {
      member.heartbeatTimer = null;
      this.onHeartbeatExpired(group, member);
    });
  }

  private clearHeartbeat(member: GroupMember): void {
    if (member.heartbeatTimer !== null) this.clock.clearTimer(member.heartbeatTimer);
    member.heartbeatTimer = null;
  }

  private onHeartbeatExpired(group: ClassicGroup, member: GroupMember): void {
    if (group.is('Dead') || group.members.get(member.memberId) !== member) return;
    // Members parked in join or sync are waiting on the group, not dead; their session restarts when answered.
    if (!member.isNew && (member.isAwaitingJoin || member.isAwaitingSync)) return;
    this.log.info({ groupId: group.groupId, memberId: member.memberId, sessionTimeoutMs: member.sessionTimeoutMs }, 'member session expired; removing it from the group');
    this.removeMemberAndUpdateGroup(group, member, `member ${member.memberId} session expired`);
  }

  private onPendingMemberExpired(group: ClassicGroup, memberId: string): void {
    if (!group.pendingJoinMembers.delete(memberId)) return;
    this.log.info({ groupId: group.groupId, memberId }, 'pending member did not rejoin in time');
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  // ---------------------------------------------------------------- LeaveGroup

  async leaveGroup(p: LeaveGroupParams): Promise<LeaveGroupResult> {
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    if (p.groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const group = this.groups.get(p.groupId);
    const answer = (m: { memberId: string; groupInstanceId: string | null }, errorCode: number) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode });
    if (group === undefined) return { errorCode: ErrorCode.NONE, members: p.members.map((m) => answer(m, ErrorCode.UNKNOWN_MEMBER_ID)) };
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const results = p.members.map((leaving) => {
      const reason = `member left (LeaveGroup); client reason: ${leaving.reason ?? 'not provided'}`;
      if (leaving.memberId === '') {
        // Administrative removal by group.instance.id.
        const current = leaving.groupInstanceId === null ? undefined : group.staticMemberId(leaving.groupInstanceId);
        if (current === undefined) return answer(leaving, ErrorCode.UNKNOWN_MEMBER_ID);
        this.removeMemberAndUpdateGroup(group, group.get(current), reason);
        return answer(leaving, ErrorCode.NONE);
      }
      if (group.isPendingMember(leaving.memberId)) {
        this.clock.clearTimer(group.pendingJoinMembers.get(leaving.memberId)!);
        group.pendingJoinMembers.delete(leaving.memberId);
        if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
        return answer(leaving, ErrorCode.NONE);
      }
      const err = this.validateCurrentMember(group, leaving.memberId, leaving.groupInstanceId);
      if (err !== ErrorCode.NONE) return answer(leaving, err);
      this.removeMemberAndUpdateGroup(group, group.get(leaving.memberId), reason);
      return answer(leaving, ErrorCode.NONE);
    });
    return { errorCode: ErrorCode.NONE, members: results };
  }

  /** Removes a member and answers its parked requests, without starting a rebalance. */
  private removeMemberQuietly(group: ClassicGroup, member: GroupMember, errorCode: number): void {
    group.completeJoin(member, joinError('', errorCode));
    group.completeSync(member, syncError(errorCode));
    this.clearHeartbeat(member);
    group.remove(member.memberId);
  }

  private removeMemberAndUpdateGroup(group: ClassicGroup, member: GroupMember, reason: string): void {
    this.log.info({ groupId: group.groupId, memberId: member.memberId, reason }, 'removing member from group');
    this.removeMemberQuietly(group, member, ErrorCode.UNKNOWN_MEMBER_ID);
    switch (group.state) {
      case 'Dead':
      case 'Empty':
        return;
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group, reason);
        return;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        return;
    }
  }

  // ---------------------------------------------------------------- offsets

  /** Checks the member and generation here, then the offsets go to the OffsetManager. */
  async commitOffsets(p: OffsetCommitParams): Promise<OffsetCommitResult> {
    if (this.closed) return offsetCommitError(p, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    let group = this.groups.get(p.groupId);
    if (group === undefined) {
      if (p.generationId >= 0) return offsetCommitError(p, p.apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION);
      // Not using group management: a "simple" group that only stores offsets.
      this.log.info({ groupId: p.groupId }, 'creating simple group via offset commit');
      group = this.getOrCreateGroup(p.groupId);
    }
    if (group.consumerGroup !== null) {
      const cerr = group.is('Dead') ? ErrorCode.COORDINATOR_NOT_AVAILABLE : this.consumer.validateOffsetCommit(group.consumerGroup, p.memberId, p.generationId, p.apiVersion, false);
      if (cerr !== ErrorCode.NONE) return offsetCommitError(p, cerr);
      return this.offsets.commit(group, p);
    }
    const err = this.validateOffsetCommit(group, p);
    if (err !== ErrorCode.NONE) return offsetCommitError(p, err);
    const member = group.members.get(p.memberId);
    if (member !== undefined && (group.is('Stable') || group.is('PreparingRebalance'))) {
      this.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
    }
    return this.offsets.commit(group, p);
  }

  /**
   * Kafka's validateOffsetCommit. `transactional` (TxnOffsetCommit): no member is needed without a
   * generation, and any group state takes the commit (no REBALANCE_IN_PROGRESS).
   */
  private validateOffsetCommit(group: ClassicGroup, p: OffsetCommitParams, transactional = false): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // generationId -1: an admin client or a consumer not using group management; fine while Empty.
    if (p.generationId < 0 && group.is('Empty')) return ErrorCode.NONE;
    if (p.generationId >= 0 || p.memberId !== '' || p.groupInstanceId !== null) {
      const err = this.validateCurrentMember(group, p.memberId, p.groupInstanceId);
      if (err !== ErrorCode.NONE) return err;
      if (p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!transactional && !group.is('Empty')) {
      // A group with members only takes commits from them.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (!transactional && group.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  /**
   * TxnOffsetCommit (the handler answers UNKNOWN_TOPIC_OR_PARTITION for missing topics itself):
   * checks the group as Kafka's handleTxnCommitOffsets does, then the offsets are stored as pending
   * for (groupId, producerId); OffsetFetch sees them only after completeTxn(producerId, true).
   */
  async commitTxnOffsets(p: TxnOffsetCommitParams): Promise<OffsetCommitResult> {
    if (this.closed) return offsetCommitError(p, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (p.groupId === '') return offsetCommitError(p, ErrorCode.INVALID_GROUP_ID);
    let group = this.groups.get(p.groupId);
    if (group === undefined) {
      this.log.info({ groupId: p.groupId, transactionalId: p.transactionalId }, 'creating empty group via transactional offset commit');
      group = this.getOrCreateGroup(p.groupId);
    }
    const err = group.consumerGroup !== null && (p.generationId >= 0 || p.memberId !== '')
      ? this.consumer.validateOffsetCommit(group.consumerGroup, p.memberId, p.generationId, p.apiVersion, true)
      : this.validateOffsetCommit(group, p, true);
    if (err !== ErrorCode.NONE) return offsetCommitError(p, err);
    return this.offsets.commitTxn(group, p);
  }

  /**
   * The transaction marker of `producerId` arrived (WriteTxnMarkers for the group's offsets):
   * commit -> the pending offsets of that producer in every group held here become committed
   * offsets; abort -> they are dropped. Durable when resolved; idempotent (a repeated marker finds
   * nothing). Rejects when closed or when the store fails: call again.
   */
  completeTxn(producerId: bigint, commit: boolean): Promise<void> {
    return this.offsets.completeTxn(producerId, commit);
  }

  fetchOffsets(p: OffsetFetchParams): Promise<OffsetFetchResult> {
    const cg = this.groups.get(p.groupId)?.consumerGroup ?? null;
    if (cg !== null && !this.closed) {
      const err = this.consumer.validateOffsetFetch(cg, p.memberId ?? null, p.memberEpoch ?? -1);
      if (err !== ErrorCode.NONE) return Promise.resolve({ errorCode: err, topics: [] });
    }
    return this.offsets.fetch(p);
  }

  deleteOffsets(p: OffsetDeleteParams): Promise<OffsetDeleteResult> {
    return this.offsets.delete(p);
  }

  /** Removes the offsets of deleted topics from every group (OffsetManager.deleteTopicOffsets). */
  deleteTopicOffsets(topics: readonly TopicRef[]): Promise<void> {
    return this.offsets.deleteTopicOffsets(topics);
  }

  /** Single node: removes offsets whose topic no longer exists (OffsetManager.deleteOffsetsOfMissingTopics). */
  deleteOffsetsOfMissingTopics(current: ReadonlyMap<string, string>): Promise<TopicRef[]> {
    return this.offsets.deleteOffsetsOfMissingTopics(current);
  }

  // ---------------------------------------------------------------- admin

  async deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]> {
    const distinct = [...new Set(groupIds)];
    return Promise.all(distinct.map(async (groupId) => ({ groupId, errorCode: await this.deleteGroup(groupId) })));
  }

  private async deleteGroup(groupId: string): Promise<number> {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const group = this.groups.get(groupId);
    if (group === undefined || group.is('Dead')) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (!group.is('Empty') || (group.consumerGroup?.size ?? 0) > 0) return ErrorCode.NON_EMPTY_GROUP;
    group.transitionTo('Dead');
    for (const t of group.pendingJoinMembers.values()) this.clock.clearTimer(t);
    group.pendingJoinMembers.clear();
    this.clearJoinTimer(group);
    try {
      await this.offsets.deleteGroup(group);
    } catch (e) {
      this.log.error({ groupId, err: e }, 'group deletion failed in the store; keeping the group');
      group.reviveAfterFailedDelete();
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    if (this.groups.get(groupId) === group) this.groups.delete(groupId);
    this.log.info({ groupId }, 'group deleted');
    return ErrorCode.NONE;
  }

  async listGroups(p: ListGroupsParams = {}): Promise<ListGroupsResult> {
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const states = new Set((p.statesFilter ?? []).map((s) => s.toLowerCase()));
    const types = new Set((p.typesFilter ?? []).map((s) => s.toLowerCase()));
    const groups = [...this.groups.values()]
      .filter((g) => !g.is('Dead'))
      .map((g): ListedGroup => (g.consumerGroup !== null
        ? { groupId: g.groupId, protocolType: CONSUMER_PROTOCOL_TYPE, groupState: g.consumerGroup.state, groupType: 'consumer' }
        : { groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state, groupType: 'classic' }))
      .filter((g) => (states.size === 0 || states.has(g.groupState.toLowerCase())) && (types.size === 0 || types.has(g.groupType)));
    return { errorCode: ErrorCode.NONE, groups };
  }

  async describeGroups(groupIds: readonly string[]): Promise<DescribedGroup[]> {
    return groupIds.map((groupId): DescribedGroup => {
      if (this.closed) {
        return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
      }
      const g = this.groups.get(groupId);
      if (g === undefined || g.is('Dead')) return { errorCode: ErrorCode.NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
      // Kafka 4.0: DescribeGroups describes classic groups only ("Group X is not a classic group.").
      if (g.consumerGroup !== null) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
      const stable = g.is('Stable');
      return {
        errorCode: ErrorCode.NONE,
        groupId,
        groupState: g.state,
        protocolType: g.protocolType ?? '',
        protocolData: stable ? g.protocolName ?? '' : '',
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: stable ? m.metadataFor(g.protocolName!) : EMPTY,
          memberAssignment: stable ? m.assignment : EMPTY,
        })),
      };
    });
  }

  // ---------------------------------------------------------------- KIP-848 consumer groups

  /** group.coordinator.rebalance.protocols includes "consumer": ConsumerGroupHeartbeat/Describe are served. */
  consumerProtocolEnabled(): boolean {
    return this.consumer.enabled;
  }

  /** ConsumerGroupHeartbeat (consumer-group-coordinator.ts has the behaviour). */
  async consumerGroupHeartbeat(p: ConsumerHeartbeatParams): Promise<ConsumerHeartbeatResult> {
    return this.consumer.heartbeat(p);
  }

  /** ConsumerGroupDescribe: one entry per requested id, in order. */
  async consumerGroupDescribe(groupIds: readonly string[]): Promise<DescribedConsumerGroup[]> {
    return groupIds.map((id) => this.consumer.describe(id));
  }

  /** Groups by protocol ('classic' | 'consumer') and state, for the metrics gauge. */
  groupCounts(): Array<{ protocol: 'classic' | 'consumer'; state: string; count: number }> {
    const counts = new Map<string, number>();
    for (const g of this.groups.values()) {
      const key = g.consumerGroup !== null ? `consumer\0${g.consumerGroup.state}` : `classic\0${g.state}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([k, count]) => {
      const [protocol, state] = k.split('\0') as ['classic' | 'consumer', string];
      return { protocol, state, count };
    });
  }

  // ---------------------------------------------------------------- introspection (tests, metrics)

  /** A read-only snapshot of one group, or undefined. */
  inspect(groupId: string): GroupSnapshot | undefined {
    const g = this.groups.get(groupId);
    if (g === undefined) return undefined;
    return {
      groupId: g.groupId,
      state: g.state,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leaderId: g.leaderId,
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId, groupInstanceId: m.groupInstanceId, awaitingJoin: m.isAwaitingJoin, awaitingSync: m.isAwaitingSync, assignment: m.assignment,
      })),
      pendingMemberIds: [...g.pendingJoinMembers.keys()],
      pendingSyncMemberIds: [...g.pendingSyncMembers],
      offsetCount: [...g.offsets.values()].reduce((n, t) => n + t.size, 0),
      pendingTxnOffsetCount: [...g.pendingTxnOffsets.values()].reduce((n, t) => n + t.size, 0),
    };
  }

  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  // ---------------------------------------------------------------- helpers

  private getOrCreateGroup(groupId: string): ClassicGroup {
    let g = this.groups.get(groupId);
    if (g === undefined) {
      g = new ClassicGroup(groupId);
      this.groups.set(groupId, g);
    }
    return g;
  }

  private clearJoinTimer(group: ClassicGroup): void {
    if (group.joinTimer !== null) this.clock.clearTimer(group.joinTimer);
    group.joinTimer = null;
    group.joinTimerKind = null;
  }

  private clearSyncTimer(group: ClassicGroup): void {
    if (group.syncTimer !== null) this.clock.clearTimer(group.syncTimer);
    group.syncTimer = null;
  }

  private scheduleSweep(): void {
    if (this.closed) return;
    this.sweepTimer = this.clock.setTimer(this.config.emptyGroupSweepIntervalMs, () => {
      this.sweepTimer = null;
      for (const [id, g] of this.groups) {
        if (g.is('Empty') && !g.hasAnyMembers && !g.hasOffsets && g.pendingJoinMembers.size === 0 && g.storeOpsInFlight === 0) this.groups.delete(id);
      }
      this.scheduleSweep();
    });
  }
}

export interface GroupSnapshot {
  groupId: string;
  state: ClassicGroup['state'];
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  members: Array<{ memberId: string; groupInstanceId: string | null; awaitingJoin: boolean; awaitingSync: boolean; assignment: Buffer }>;
  pendingMemberIds: string[];
  pendingSyncMemberIds: string[];
  offsetCount: number;
  /** Pending transactional offsets, over all producers. */
  pendingTxnOffsetCount: number;
}
