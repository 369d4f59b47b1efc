/**
 * One classic consumer group: members, state, generation, leader, selected protocol, committed
 * offsets and pending transactional ones. Data plus the state machine's bookkeeping; the
 * coordinator drives the transitions and owns the timers. Mirrors Kafka's ClassicGroup.
 */
import { assert } from '../common/assert.js';
import type { CommittedOffset, OffsetKey } from './offset-store.js';
import type { TimerHandle } from './clock.js';
import type { GroupStateName, JoinGroupMember, JoinGroupProtocol, JoinGroupResult, SyncGroupResult } from './types.js';
import { parseSubscriptionTopics } from './consumer-subscription.js';
import type { ConsumerGroup } from './consumer-group.js';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';
const EMPTY = Buffer.alloc(0);

/** Which states a group may come from when entering each state (Kafka's validPreviousStates). */
const VALID_PREVIOUS_STATES: Record<GroupStateName, readonly GroupStateName[]> = {
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  Empty: ['PreparingRebalance'],
};

export type JoinWaiter = (result: JoinGroupResult) => void;
export type SyncWaiter = (result: SyncGroupResult) => void;

export class GroupMember {
  assignment: Buffer = EMPTY;
  /** Set while a JoinGroup is parked until the rebalance completes. */
  joinWaiter: JoinWaiter | null = null;
  /** Set while a SyncGroup is parked until the leader's assignment arrives. */
  syncWaiter: SyncWaiter | null = null;
  /** Added in the current rebalance and not yet through a join completion: its join may time out. */
  isNew = false;
  heartbeatTimer: TimerHandle | null = null;

  constructor(
    readonly memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: JoinGroupProtocol[],
  ) {}

  get isAwaitingJoin(): boolean {
    return this.joinWaiter !== null;
  }

  get isAwaitingSync(): boolean {
    return this.syncWaiter !== null;
  }

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  metadataFor(protocolName: string): Buffer {
    const p = this.protocols.find((x) => x.name === protocolName);
    assert(p !== undefined, `member ${this.memberId} does not support protocol ${protocolName}`);
    return p.metadata;
  }

  /** The member's most preferred protocol among the candidates (its list is in preference order). */
  vote(candidates: ReadonlySet<string>): string {
    const p = this.protocols.find((x) => candidates.has(x.name));
    assert(p !== undefined, `member ${this.memberId} supports none of the candidate protocols`);
    return p.name;
  }

  /** Same protocols, in the same order, with byte-identical metadata. */
  matches(protocols: readonly JoinGroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata));
  }
}

export class ClassicGroup {
  private stateValue: GroupStateName;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** Set when a member joins a brand-new group during the initial rebalance delay (extends the delay). */
  newMemberAdded = false;
  /** Topics the members subscribe to (consumer protocol); null when unknown. Computed per generation. */
  subscribedTopics: Set<string> | null = null;
  /**
   * Set while this group uses the KIP-848 consumer protocol (consumer-group-coordinator.ts): the
   * classic state stays Empty; membership lives there, the committed offsets stay here.
   */
  consumerGroup: ConsumerGroup | null = null;

  /** In join order (JS Map keeps insertion order): the first joiner is the first leader. */
  readonly members = new Map<string, GroupMember>();
  /** Member ids handed out with MEMBER_ID_REQUIRED that have not joined yet, with their expiry timers. */
  readonly pendingJoinMembers = new Map<string, TimerHandle>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** group.instance.id -> member id. */
  readonly staticMembers = new Map<string, string>();
  /** Protocol name -> number of members supporting it. */
  private readonly supportedProtocols = new Map<string, number>();
  private numAwaitingJoin = 0;

  /** topic -> partition -> committed offset (only what the store has made durable). */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  /**
   * producer id -> `${partition}:${topic}` -> transactional offset the store holds as pending
   * (TxnOffsetCommit made durable, marker not yet seen). Not visible to OffsetFetch.
   */
  readonly pendingTxnOffsets = new Map<bigint, Map<string, CommittedOffset>>();
  /** Serialises this group's store calls so they apply in order. */
  storeQueue: Promise<unknown> = Promise.resolve();
  /** Store calls queued or running: a group with work in flight is never swept. */
  storeOpsInFlight = 0;

  joinTimer: TimerHandle | null = null;
  /** 'initial' while waiting out group.initial.rebalance.delay.ms: such a join never completes early. */
  joinTimerKind: 'initial' | 'normal' | null = null;
  syncTimer: TimerHandle | null = null;

  constructor(readonly groupId: string, initialState: GroupStateName = 'Empty') {
    this.stateValue = initialState;
  }

  get state(): GroupStateName {
    return this.stateValue;
  }

  is(state: GroupStateName): boolean {
    return this.stateValue === state;
  }

  transitionTo(target: GroupStateName): void {
    assert(VALID_PREVIOUS_STATES[target].includes(this.stateValue), `group ${this.groupId}: illegal transition ${this.stateValue} -> ${target}`);
    this.stateValue = target;
  }

  /** Only after a failed deletion: the store still holds the group, so it must stay visible. */
  reviveAfterFailedDelete(): void {
    assert(this.stateValue === 'Dead' && this.members.size === 0, `group ${this.groupId}: revive from ${this.stateValue}`);
    this.stateValue = 'Empty';
  }

  get canRebalance(): boolean {
    return VALID_PREVIOUS_STATES.PreparingRebalance.includes(this.stateValue);
  }

  get size(): number {
    return this.members.size;
  }

  get numAwaitingJoinResponse(): number {
    return this.numAwaitingJoin;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): GroupMember {
    const m = this.members.get(memberId);
    assert(m !== undefined, `group ${this.groupId}: no member ${memberId}`);
    return m;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  isPendingMember(memberId: string): boolean {
    return this.pendingJoinMembers.has(memberId);
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  add(member: GroupMember, joinWaiter: JoinWaiter | null): void {
    assert(!this.members.has(member.memberId), `group ${this.groupId}: member ${member.memberId} added twice`);
    if (this.members.size === 0) this.protocolType = member.protocolType;
    assert(this.protocolType === member.protocolType, `group ${this.groupId}: protocol type mismatch`);
    assert(this.supportsProtocols(member.protocolType, member.protocols.map((p) => p.name)), `group ${this.groupId}: unsupported protocols`);
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.incrementSupported(member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    member.joinWaiter = joinWaiter;
    if (joinWaiter !== null) this.numAwaitingJoin++;
    this.pendingJoinMembers.delete(member.memberId);
  }

  /** Removes a member (it must hold no parked requests: the coordinator answers them first). */
  remove(memberId: string): GroupMember | undefined {
    const m = this.members.get(memberId);
    this.pendingJoinMembers.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    if (m === undefined) return undefined;
    assert(!m.isAwaitingJoin && !m.isAwaitingSync, `group ${this.groupId}: removing member ${memberId} with a parked request`);
    this.members.delete(memberId);
    this.decrementSupported(m);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId) this.staticMembers.delete(m.groupInstanceId);
    if (this.leaderId === memberId) {
      const first = this.members.keys().next();
      this.leaderId = first.done ? null : first.value;
    }
    return m;
  }

  /**
   * Static member rejoining with a new id: the new member takes over the old one's place, assignment
   * and leadership. The caller answers the old member's parked requests first.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string, clientId: string, clientHost: string): GroupMember {
    const old = this.get(oldMemberId);
    assert(!old.isAwaitingJoin && !old.isAwaitingSync, `group ${this.groupId}: replacing member ${oldMemberId} with a parked request`);
    this.members.delete(oldMemberId);
    this.pendingSyncMembers.delete(oldMemberId);
    const member = new GroupMember(newMemberId, groupInstanceId, clientId, clientHost, old.rebalanceTimeoutMs, old.sessionTimeoutMs, old.protocolType, old.protocols);
    member.assignment = old.assignment;
    this.members.set(newMemberId, member);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    this.staticMembers.set(groupInstanceId, newMemberId);
    return member;
  }

  updateMember(member: GroupMember, protocols: JoinGroupProtocol[], rebalanceTimeoutMs: number, sessionTimeoutMs: number, joinWaiter: JoinWaiter | null): void {
    this.decrementSupported(member);
    member.protocols = protocols;
    this.incrementSupported(member);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    if (joinWaiter !== null && !member.isAwaitingJoin) this.numAwaitingJoin++;
    else if (joinWaiter === null && member.isAwaitingJoin) this.numAwaitingJoin--;
    member.joinWaiter = joinWaiter;
  }

  /** Answers a parked JoinGroup, if any. */
  completeJoin(member: GroupMember, result: JoinGroupResult): boolean {
    const w = member.joinWaiter;
    if (w === null) return false;
    member.joinWaiter = null;
    this.numAwaitingJoin--;
    assert(this.numAwaitingJoin >= 0, `group ${this.groupId}: negative awaiting-join count`);
    w(result);
    return true;
  }

  /** Answers a parked SyncGroup, if any. */
  completeSync(member: GroupMember, result: SyncGroupResult): boolean {
    const w = member.syncWaiter;
    if (w === null) return false;
    member.syncWaiter = null;
    w(result);
    return true;
  }

  addPendingMember(memberId: string, timer: TimerHandle): void {
    assert(!this.members.has(memberId), `group ${this.groupId}: pending member ${memberId} is already a member`);
    this.pendingJoinMembers.set(memberId, timer);
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin && this.pendingJoinMembers.size === 0;
  }

  notYetRejoinedMembers(): GroupMember[] {
    return [...this.members.values()].filter((m) => !m.isAwaitingJoin);
  }

  /** Max of the members' rebalance timeouts. */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /**
   * A JoinGroup's protocols are acceptable when, in an Empty group, type and list are non-empty;
   * otherwise the type matches and at least one protocol is supported by every member.
   */
  supportsProtocols(protocolType: string, protocolNames: readonly string[]): boolean {
    if (this.is('Empty')) return protocolType !== '' && protocolNames.length > 0;
    return this.protocolType === protocolType && protocolNames.some((n) => (this.supportedProtocols.get(n) ?? 0) === this.members.size);
  }

  /** The protocol supported by all members that gets the most votes (each member votes for its first candidate). */
  selectProtocol(): string {
    assert(this.members.size > 0, `group ${this.groupId}: cannot select a protocol for an empty group`);
    const candidates = new Set<string>();
    for (const [name, count] of this.supportedProtocols) if (count === this.members.size) candidates.add(name);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const v = m.vote(candidates);
      votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    assert(best !== null, `group ${this.groupId}: no protocol selected`);
    return best;
  }

  /** If the leader has not rejoined, hands leadership to a member that has. False when none has. */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    if (this.get(this.leaderId).isAwaitingJoin) return true;
    for (const m of this.members.values()) {
      if (m.isAwaitingJoin) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  initNextGeneration(): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.transitionTo('CompletingRebalance');
    } else {
      this.protocolName = null;
      this.transitionTo('Empty');
    }
    this.subscribedTopics = this.computeSubscribedTopics();
    this.pendingSyncMembers.clear();
    this.newMemberAdded = false;
  }

  /** The members as the leader's JoinGroup response lists them. */
  currentMemberMetadata(): JoinGroupMember[] {
    assert(this.protocolName !== null && !this.is('PreparingRebalance') && !this.is('Dead'), `group ${this.groupId}: no member metadata in ${this.state}`);
    const protocol = this.protocolName;
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(protocol) }));
  }

  /** Unknown subscriptions count as subscribed for consumer groups (Kafka's conservative choice). */
  isSubscribedToTopic(topic: string): boolean {
    if (this.subscribedTopics !== null) return this.subscribedTopics.has(topic);
    return this.protocolType === CONSUMER_PROTOCOL_TYPE;
  }

  private computeSubscribedTopics(): Set<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return null;
    const topics = new Set<string>();
    try {
      for (const m of this.members.values()) for (const t of parseSubscriptionTopics(m.metadataFor(this.protocolName))) topics.add(t);
    } catch {
      return null;
    }
    return topics;
  }

  // --- offsets (in-memory view of what the store holds) ---

  offset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  putOffset(o: CommittedOffset): void {
    let t = this.offsets.get(o.topic);
    if (t === undefined) {
      t = new Map();
      this.offsets.set(o.topic, t);
    }
    t.set(o.partition, o);
  }

  removeOffset(k: OffsetKey): boolean {
    const t = this.offsets.get(k.topic);
    if (t === undefined) return false;
    const removed = t.delete(k.partition);
    if (t.size === 0) this.offsets.delete(k.topic);
    return removed;
  }

  /** Members of either protocol (a group with members is current: its offsets are not re-read). */
  get hasAnyMembers(): boolean {
    return this.members.size > 0 || (this.consumerGroup?.size ?? 0) > 0;
  }

  /** Committed or pending: a group with either is not forgotten (Kafka's hasOffsets). */
  get hasOffsets(): boolean {
    return this.offsets.size > 0 || this.pendingTxnOffsets.size > 0;
  }

  putPendingOffset(producerId: bigint, o: CommittedOffset): void {
    let p = this.pendingTxnOffsets.get(producerId);
    if (p === undefined) this.pendingTxnOffsets.set(producerId, (p = new Map()));
    p.set(pendingKey(o), o);
  }

  /** True when some open transaction has a pending offset for the partition (OffsetFetch requireStable). */
  hasPendingOffset(topic: string, partition: number): boolean {
    const k = pendingKey({ topic, partition });
    for (const p of this.pendingTxnOffsets.values()) if (p.has(k)) return true;
    return false;
  }

  /** Every pending offset, with its producer id. */
  *allPendingOffsets(): Generator<{ producerId: bigint; offset: CommittedOffset }> {
    for (const [producerId, p] of this.pendingTxnOffsets) for (const offset of p.values()) yield { producerId, offset };
  }

  /** Drops the partition's pending offsets of every producer. */
  removePendingOffset(k: OffsetKey): void {
    const key = pendingKey(k);
    for (const [producerId, p] of this.pendingTxnOffsets) {
      p.delete(key);
      if (p.size === 0) this.pendingTxnOffsets.delete(producerId);
    }
  }

  private incrementSupported(m: GroupMember): void {
    for (const p of m.protocols) this.supportedProtocols.set(p.name, (this.supportedProtocols.get(p.name) ?? 0) + 1);
  }

  private decrementSupported(m: GroupMember): void {
    for (const p of m.protocols) {
      const n = (this.supportedProtocols.get(p.name) ?? 0) - 1;
      assert(n >= 0, `group ${this.groupId}: negative support count for ${p.name}`);
      if (n === 0) this.supportedProtocols.delete(p.name);
      else this.supportedProtocols.set(p.name, n);
    }
  }
}

function pendingKey(k: OffsetKey): string {
  return `${k.partition}:${k.topic}`;
}
