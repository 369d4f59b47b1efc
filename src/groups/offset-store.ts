/**
 * Where committed offsets live durably. The coordinator keeps every group's offsets in memory and
 * writes through this interface: it answers OffsetCommit only after `commit()` resolves, and on
 * start it calls `loadAll()` once. Group membership is not stored (after a restart members rejoin,
 * as with Kafka).
 *
 * Calls for one group are issued one at a time (the coordinator queues them per group), so an
 * implementation may apply them in call order without extra locking. Calls for different groups
 * may overlap.
 */

export interface OffsetKey {
  topic: string;
  partition: number;
}

export interface CommittedOffset extends OffsetKey {
  offset: bigint;
  /** -1 when the client did not send one. */
  leaderEpoch: number;
  /** Never null: a null metadata string from the client is stored as '' (as Kafka does). */
  metadata: string;
  commitTimestampMs: number;
  /**
   * The id of the topic the offset was committed for. Absent in offsets stored before ids were
   * kept (and from callers that do not know it): those match any topic of their name.
   */
  topicId?: string;
}

/** A topic by name and id: offsets are keyed by name, and a re-created topic has a new id. */
export interface TopicRef {
  name: string;
  topicId: string;
}

/** True when `o` was committed for `t` (same name, and the same id or none recorded). */
export function isOffsetOfTopic(o: CommittedOffset, t: TopicRef): boolean {
  return o.topic === t.name && (o.topicId === undefined || o.topicId === '' || o.topicId === t.topicId);
}

export interface StoredGroupOffsets {
  groupId: string;
  offsets: CommittedOffset[];
}

export interface GroupOffsetStore {
  /** Every group's committed offsets. Groups with no offsets may be omitted. */
  loadAll(): Promise<StoredGroupOffsets[]>;
  /** One group's offsets (cluster mode: a broker that just became its coordinator reads them fresh). */
  loadGroup?(groupId: string): Promise<CommittedOffset[]>;
  /** Upserts the offsets of one group; durable when the promise resolves. */
  commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void>;
  /** Removes some offsets of one group (missing keys are ignored); durable when resolved. */
  deleteOffsets(groupId: string, keys: readonly OffsetKey[]): Promise<void>;
  /** Removes all offsets of one group; durable when resolved. */
  deleteGroup(groupId: string): Promise<void>;
  /**
   * Removes the offsets of deleted topics from every group in the store, including groups this
   * coordinator does not hold (cluster mode: another broker coordinates them). Only offsets of
   * `isOffsetOfTopic`: one committed meanwhile for a re-created topic of the same name stays.
   * Durable when resolved.
   */
  deleteTopicOffsets?(topics: readonly TopicRef[]): Promise<void>;
}

function keyOf(k: OffsetKey): string {
  return `${k.partition}:${k.topic}`;
}

/**
 * An in-memory store for tests and for brokers that do not need durable offsets. Share one
 * instance between two coordinators to simulate a restart. `failNext` makes the next call reject.
 */
export class MemoryGroupOffsetStore implements GroupOffsetStore {
  private readonly groups = new Map<string, Map<string, CommittedOffset>>();
  private failures: Error[] = [];
  /** Count of calls per method, for tests. */
  readonly calls = { loadAll: 0, commit: 0, deleteOffsets: 0, deleteGroup: 0, deleteTopicOffsets: 0 };

  failNext(err: Error = new Error('injected store failure')): void {
    this.failures.push(err);
  }

  async loadAll(): Promise<StoredGroupOffsets[]> {
    this.calls.loadAll++;
    this.maybeFail();
    return [...this.groups].map(([groupId, offsets]) => ({ groupId, offsets: [...offsets.values()].map((o) => ({ ...o })) }));
  }

  async commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    this.calls.commit++;
    this.maybeFail();
    let g = this.groups.get(groupId);
    if (g === undefined) {
      g = new Map();
      this.groups.set(groupId, g);
    }
    for (const o of offsets) g.set(keyOf(o), { ...o });
  }

  async deleteOffsets(groupId: string, keys: readonly OffsetKey[]): Promise<void> {
    this.calls.deleteOffsets++;
    this.maybeFail();
    const g = this.groups.get(groupId);
    if (g === undefined) return;
    for (const k of keys) g.delete(keyOf(k));
    if (g.size === 0) this.groups.delete(groupId);
  }

  async deleteGroup(groupId: string): Promise<void> {
    this.calls.deleteGroup++;
    this.maybeFail();
    this.groups.delete(groupId);
  }

  async deleteTopicOffsets(topics: readonly TopicRef[]): Promise<void> {
    this.calls.deleteTopicOffsets++;
    this.maybeFail();
    for (const [groupId, g] of this.groups) {
      for (const [k, o] of g) if (topics.some((t) => isOffsetOfTopic(o, t))) g.delete(k);
      if (g.size === 0) this.groups.delete(groupId);
    }
  }

  /** What is stored for a group, for assertions. */
  snapshot(groupId: string): CommittedOffset[] {
    return [...(this.groups.get(groupId)?.values() ?? [])].map((o) => ({ ...o }));
  }

  private maybeFail(): void {
    const err = this.failures.shift();
    if (err !== undefined) throw err;
  }
}
