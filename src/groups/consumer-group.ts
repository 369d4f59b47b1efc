/**
 * One KIP-848 consumer group (Kafka's ConsumerGroup and CurrentAssignmentBuilder): members with
 * their subscriptions and epochs, the group epoch, the target assignment and its epoch, and the
 * reconciliation of each member's current assignment towards its target. Data and pure
 * transitions only: the consumer-group coordinator owns the timers, the topics and the requests.
 *
 * Epochs: the group epoch is bumped on every change of membership, subscriptions or subscribed
 * topic metadata; the target assignment is recomputed right then (assignment epoch = group epoch,
 * so the group is never observed "Assigning"). A member moves to the assignment epoch once it has
 * revoked what its target no longer holds; a partition it gains is handed over only once no other
 * member still owns it (assigned or pending revocation): until then the member is "unreleased".
 */
import type { TimerHandle } from './clock.js';
import { assign, type AssignorName, type AssignorTopic } from './assignors.js';
import type { ConsumerGroupStateName } from './types.js';

/** topic id -> partitions. */
export type TopicPartitionSet = Map<string, Set<number>>;

export type { ConsumerGroupStateName };
export type MemberReconcileState = 'stable' | 'unrevoked' | 'unreleased';

/** memberEpoch of a static member that left for a while (-2): it keeps its assignment. */
export const STATIC_LEAVE_EPOCH = -2;
export const LEAVE_EPOCH = -1;

export class ConsumerMember {
  memberEpoch = 0;
  previousMemberEpoch = -1;
  state: MemberReconcileState = 'stable';
  assigned: TopicPartitionSet = new Map();
  revoking: TopicPartitionSet = new Map();
  rackId: string | null = null;
  rebalanceTimeoutMs = 300_000;
  subscribedTopicNames: string[] = [];
  subscribedTopicRegex: string | null = null;
  regex: RegExp | null = null;
  serverAssignor: string | null = null;
  /** Topics this member's principal may describe (regex matches leave out the others). */
  mayDescribe: (topic: string) => boolean = () => true;
  sessionTimer: TimerHandle | null = null;
  revocationTimer: TimerHandle | null = null;

  constructor(
    readonly memberId: string,
    readonly instanceId: string | null,
    public clientId: string,
    public clientHost: string,
  ) {}

  subscribes(topic: string): boolean {
    if (this.subscribedTopicNames.includes(topic)) return true;
    return this.regex !== null && this.mayDescribe(topic) && this.regex.test(topic);
  }
}

export function countPartitions(s: TopicPartitionSet): number {
  let n = 0;
  for (const p of s.values()) n += p.size;
  return n;
}

export function sameTopicPartitions(a: TopicPartitionSet, b: TopicPartitionSet): boolean {
  if (countPartitions(a) !== countPartitions(b)) return false;
  for (const [t, ps] of a) {
    const other = b.get(t);
    for (const p of ps) if (other === undefined || !other.has(p)) return false;
  }
  return true;
}

function has(s: TopicPartitionSet, topicId: string, p: number): boolean {
  return s.get(topicId)?.has(p) ?? false;
}

function add(s: TopicPartitionSet, topicId: string, p: number): void {
  let ps = s.get(topicId);
  if (ps === undefined) s.set(topicId, (ps = new Set()));
  ps.add(p);
}

function* entries(s: TopicPartitionSet): Generator<[string, number]> {
  for (const [t, ps] of s) for (const p of ps) yield [t, p];
}

/** True when every partition of `sub` is in `sup`. */
export function isSubset(sub: TopicPartitionSet, sup: TopicPartitionSet): boolean {
  for (const [t, p] of entries(sub)) if (!has(sup, t, p)) return false;
  return true;
}

export class ConsumerGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  assignorName: AssignorName;
  readonly members = new Map<string, ConsumerMember>();
  /** instance id -> member id. */
  readonly staticMembers = new Map<string, string>();
  /** member id -> target partitions. */
  readonly target = new Map<string, TopicPartitionSet>();
  /** The subscribed topics (ids, names, partition counts) the target was computed from. */
  subscriptionSignature = '';

  constructor(readonly groupId: string, defaultAssignor: AssignorName) {
    this.assignorName = defaultAssignor;
  }

  get size(): number {
    return this.members.size;
  }

  get state(): ConsumerGroupStateName {
    if (this.members.size === 0) return 'Empty';
    if (this.assignmentEpoch < this.groupEpoch) return 'Assigning';
    for (const m of this.members.values()) {
      if (m.memberEpoch === STATIC_LEAVE_EPOCH) continue;
      if (m.state !== 'stable' || m.memberEpoch !== this.assignmentEpoch) return 'Reconciling';
    }
    return 'Stable';
  }

  /** Any member's subscription names the topic (OffsetDelete's GROUP_SUBSCRIBED_TO_TOPIC). */
  isSubscribedToTopic(topic: string): boolean {
    for (const m of this.members.values()) if (m.subscribes(topic)) return true;
    return false;
  }

  addMember(m: ConsumerMember): void {
    this.members.set(m.memberId, m);
    if (m.instanceId !== null) this.staticMembers.set(m.instanceId, m.memberId);
  }

  removeMember(memberId: string): ConsumerMember | undefined {
    const m = this.members.get(memberId);
    if (m === undefined) return undefined;
    this.members.delete(memberId);
    this.target.delete(memberId);
    if (m.instanceId !== null && this.staticMembers.get(m.instanceId) === memberId) this.staticMembers.delete(m.instanceId);
    return m;
  }

  /** The topics the members subscribe to, among `topics`, and their signature. */
  subscribedTopics(topics: Iterable<AssignorTopic>): { topics: AssignorTopic[]; signature: string } {
    // Checked at every heartbeat: one set of the names, and only the regex members per topic.
    const names = new Set<string>();
    const withRegex: ConsumerMember[] = [];
    for (const m of this.members.values()) {
      for (const n of m.subscribedTopicNames) names.add(n);
      if (m.regex !== null) withRegex.push(m);
    }
    const out: AssignorTopic[] = [];
    for (const t of topics) if (names.has(t.name) || withRegex.some((m) => m.subscribes(t.name))) out.push(t);
    out.sort((a, b) => (a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : 0));
    return { topics: out, signature: out.map((t) => `${t.topicId}:${t.name}:${t.partitionCount}`).join(',') };
  }

  /**
   * Bumps the group epoch and recomputes the target assignment with the chosen assignor (the
   * members' most requested server assignor, else `defaultAssignor`).
   */
  bumpAndAssign(allTopics: readonly AssignorTopic[], defaultAssignor: AssignorName, allowed: readonly string[]): void {
    this.groupEpoch++;
    this.assignorName = chooseAssignor(this.members.values(), defaultAssignor, allowed);
    const { topics, signature } = this.subscribedTopics(allTopics);
    this.subscriptionSignature = signature;
    const members = [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      subscribedTopicIds: new Set(topics.filter((t) => m.subscribes(t.name)).map((t) => t.topicId)),
      previous: new Map([...(this.target.get(m.memberId) ?? new Map<string, Set<number>>())].map(([t, ps]) => [t, [...ps]])),
    }));
    const result = assign(this.assignorName, members, topics);
    this.target.clear();
    for (const [memberId, a] of result) this.target.set(memberId, new Map([...a].map(([t, ps]) => [t, new Set(ps)])));
    this.assignmentEpoch = this.groupEpoch;
  }

  /** True when another member than `memberId` holds (or is still revoking) the partition. */
  private ownedByOther(memberId: string, topicId: string, p: number): boolean {
    for (const m of this.members.values()) {
      if (m.memberId === memberId) continue;
      if (has(m.assigned, topicId, p) || has(m.revoking, topicId, p)) return true;
    }
    return false;
  }

  /**
   * Moves the member towards its target (Kafka's CurrentAssignmentBuilder). `owned` is what the
   * member reports it owns (null: not reported this time). Returns true when the member's epoch
   * or assigned partitions changed.
   */
  reconcile(m: ConsumerMember, owned: TopicPartitionSet | null): boolean {
    if (m.memberEpoch === STATIC_LEAVE_EPOCH) return false;
    const target = this.target.get(m.memberId) ?? new Map<string, Set<number>>();
    if (m.state === 'unrevoked') {
      // Still holding partitions it must give up: narrow further if the target moved again.
      const stillOwned = owned === null || [...entries(m.revoking)].some(([t, p]) => has(owned, t, p));
      if (stillOwned) {
        let changed = false;
        for (const [t, p] of [...entries(m.assigned)]) {
          if (has(target, t, p)) continue;
          m.assigned.get(t)!.delete(p);
          if (m.assigned.get(t)!.size === 0) m.assigned.delete(t);
          add(m.revoking, t, p);
          changed = true;
        }
        return changed;
      }
      m.revoking = new Map();
      m.state = 'stable';
    } else if (m.state === 'stable' && m.memberEpoch === this.assignmentEpoch) {
      return false;
    }
    const keep: TopicPartitionSet = new Map();
    const revoke: TopicPartitionSet = new Map();
    for (const [t, p] of entries(m.assigned)) add(has(target, t, p) ? keep : revoke, t, p);
    if (countPartitions(revoke) > 0) {
      m.assigned = keep;
      m.revoking = revoke;
      m.state = 'unrevoked';
      return true;
    }
    let unreleased = false;
    const next: TopicPartitionSet = new Map();
    for (const [t, p] of entries(keep)) add(next, t, p);
    for (const [t, p] of entries(target)) {
      if (has(next, t, p)) continue;
      if (this.ownedByOther(m.memberId, t, p)) unreleased = true;
      else add(next, t, p);
    }
    const changed = m.memberEpoch !== this.assignmentEpoch || !sameTopicPartitions(next, m.assigned);
    if (m.memberEpoch !== this.assignmentEpoch) {
      m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = this.assignmentEpoch;
    }
    m.assigned = next;
    m.state = unreleased ? 'unreleased' : 'stable';
    return changed;
  }
}

function chooseAssignor(members: Iterable<ConsumerMember>, defaultAssignor: AssignorName, allowed: readonly string[]): AssignorName {
  const votes = new Map<string, number>();
  for (const m of members) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
  let best: string = defaultAssignor;
  let bestVotes = 0;
  for (const name of allowed) {
    const n = votes.get(name) ?? 0;
    if (n > bestVotes) {
      best = name;
      bestVotes = n;
    }
  }
  return best as AssignorName;
}
