/**
 * Server-side assignors of KIP-848 consumer groups: "uniform" (Kafka's default) and "range". Pure
 * functions: the members' subscriptions, the topics and the previous target assignment in, the
 * new target assignment out. Deterministic (members and topics are visited in a sorted order), so
 * every coordinator computes the same result from the same input.
 *
 *   uniform: sticky and balanced. Keeps each partition with its previous owner while that owner
 *            still subscribes to the topic, hands the rest to the least-loaded subscriber, then
 *            moves partitions from members holding 2+ more than a subscriber of the same topic.
 *            With identical subscriptions every member ends with floor or ceil(P / M) partitions.
 *   range:   per topic, the subscribers sorted by member id each take a contiguous range; the
 *            first (partitions % members) take one more (co-partitioned topics line up).
 */

/** topic id -> partitions (sorted ascending). */
export type MemberAssignment = Map<string, number[]>;

export interface AssignorTopic {
  topicId: string;
  name: string;
  partitionCount: number;
}

export interface AssignorMember {
  memberId: string;
  /** Topic ids the member subscribes to (only existing topics). */
  subscribedTopicIds: ReadonlySet<string>;
  /** The member's previous target assignment (stickiness). */
  previous: ReadonlyMap<string, readonly number[]>;
}

export type AssignorName = 'uniform' | 'range';
export const ASSIGNOR_NAMES: readonly AssignorName[] = ['uniform', 'range'];

export function isAssignorName(name: string): name is AssignorName {
  return (ASSIGNOR_NAMES as readonly string[]).includes(name);
}

export function assign(name: AssignorName, members: readonly AssignorMember[], topics: readonly AssignorTopic[]): Map<string, MemberAssignment> {
  return name === 'range' ? rangeAssign(members, topics) : uniformAssign(members, topics);
}

function byId<T extends { memberId: string }>(a: T, b: T): number {
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

function sortedTopics(topics: readonly AssignorTopic[]): AssignorTopic[] {
  return [...topics].sort((a, b) => (a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : 0));
}

function finish(owner: Map<string, Map<number, string>>, members: readonly AssignorMember[]): Map<string, MemberAssignment> {
  const out = new Map<string, MemberAssignment>();
  for (const m of members) out.set(m.memberId, new Map());
  for (const [topicId, parts] of owner) {
    for (const [p, memberId] of parts) {
      const a = out.get(memberId)!;
      let list = a.get(topicId);
      if (list === undefined) a.set(topicId, (list = []));
      list.push(p);
    }
  }
  for (const a of out.values()) for (const list of a.values()) list.sort((x, y) => x - y);
  return out;
}

export function rangeAssign(members: readonly AssignorMember[], topics: readonly AssignorTopic[]): Map<string, MemberAssignment> {
  const sorted = [...members].sort(byId);
  const owner = new Map<string, Map<number, string>>();
  for (const t of sortedTopics(topics)) {
    const subs = sorted.filter((m) => m.subscribedTopicIds.has(t.topicId));
    if (subs.length === 0) continue;
    const parts = new Map<number, string>();
    const base = Math.floor(t.partitionCount / subs.length);
    const extra = t.partitionCount % subs.length;
    let next = 0;
    subs.forEach((m, i) => {
      const n = base + (i < extra ? 1 : 0);
      for (let k = 0; k < n; k++) parts.set(next++, m.memberId);
    });
    owner.set(t.topicId, parts);
  }
  return finish(owner, members);
}

export function uniformAssign(members: readonly AssignorMember[], topics: readonly AssignorTopic[]): Map<string, MemberAssignment> {
  const sorted = [...members].sort(byId);
  const load = new Map<string, number>(sorted.map((m) => [m.memberId, 0]));
  const owner = new Map<string, Map<number, string>>();
  const topicList = sortedTopics(topics);
  const subscribers = new Map<string, AssignorMember[]>();
  for (const t of topicList) {
    subscribers.set(t.topicId, sorted.filter((m) => m.subscribedTopicIds.has(t.topicId)));
    owner.set(t.topicId, new Map());
  }
  // 1. Sticky: previous owners keep what is still valid.
  for (const m of sorted) {
    for (const [topicId, parts] of m.previous) {
      const t = owner.get(topicId);
      if (t === undefined || !m.subscribedTopicIds.has(topicId)) continue;
      const count = topicList.find((x) => x.topicId === topicId)!.partitionCount;
      for (const p of parts) {
        if (p < count && !t.has(p)) {
          t.set(p, m.memberId);
          load.set(m.memberId, load.get(m.memberId)! + 1);
        }
      }
    }
  }
  const leastLoaded = (subs: readonly AssignorMember[]): AssignorMember => {
    let best = subs[0]!;
    for (const m of subs) if (load.get(m.memberId)! < load.get(best.memberId)!) best = m;
    return best;
  };
  // 2. Unowned partitions to the least-loaded subscriber.
  for (const t of topicList) {
    const subs = subscribers.get(t.topicId)!;
    if (subs.length === 0) continue;
    const parts = owner.get(t.topicId)!;
    for (let p = 0; p < t.partitionCount; p++) {
      if (parts.has(p)) continue;
      const m = leastLoaded(subs);
      parts.set(p, m.memberId);
      load.set(m.memberId, load.get(m.memberId)! + 1);
    }
  }
  // 3. Balance: move a partition to a subscriber holding at least 2 fewer, until none can move.
  for (let moved = true; moved;) {
    moved = false;
    for (const t of topicList) {
      const subs = subscribers.get(t.topicId)!;
      if (subs.length < 2) continue;
      const parts = owner.get(t.topicId)!;
      for (let p = t.partitionCount - 1; p >= 0; p--) {
        const from = parts.get(p)!;
        const to = leastLoaded(subs);
        if (load.get(to.memberId)! + 1 < load.get(from)!) {
          parts.set(p, to.memberId);
          load.set(from, load.get(from)! - 1);
          load.set(to.memberId, load.get(to.memberId)! + 1);
          moved = true;
        }
      }
    }
  }
  for (const [topicId, parts] of owner) if (parts.size === 0) owner.delete(topicId);
  return finish(owner, members);
}
