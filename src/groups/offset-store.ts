/**
 * Where committed offsets live durably. The coordinator keeps every group's offsets in memory and
 * writes through this interface: it answers OffsetCommit only after `commit()` resolves, and on
 * start it calls `loadAll()` once. Group membership is not stored (after a restart members rejoin,
 * as with Kafka).
 *
 * Transactional offsets (TxnOffsetCommit) are stored as pending per (group, producer id) with
 * `putPending()` before the coordinator answers, and become committed (or are dropped) with
 * `completePending()` when the transaction's marker arrives, so a crash in between loses nothing.
 * They are never committed offsets until then: OffsetFetch does not see them.
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

/** Transactional offsets of one producer, written by TxnOffsetCommit, waiting for the transaction's marker. */
export interface PendingTxnOffsets {
  producerId: bigint;
  offsets: CommittedOffset[];
}

export interface StoredGroupOffsets {
  groupId: string;
  offsets: CommittedOffset[];
  /** Pending transactional offsets, per producer (one entry per producer id). Absent or empty when none. */
  pending?: PendingTxnOffsets[];
}

export interface GroupOffsetStore {
  /** Every group's committed and pending offsets. Groups with neither may be omitted. */
  loadAll(): Promise<StoredGroupOffsets[]>;
  /** One group's offsets (cluster mode: a broker that just became its coordinator reads them fresh), in one read. */
  loadGroup?(groupId: string): Promise<StoredGroupOffsets>;
  /** Upserts the offsets of one group; durable when the promise resolves. */
  commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void>;
  /**
   * TxnOffsetCommit: upserts pending offsets of one group for one producer (the last entry for a
   * partition wins, as do later calls); durable when resolved. Not committed offsets: loadAll and
   * loadGroup return them under `pending`.
   */
  putPending(groupId: string, producerId: bigint, offsets: readonly CommittedOffset[]): Promise<void>;
  /**
   * The transaction's marker: removes the producer's pending offsets of the group; with `commit`
   * they become committed offsets, each partition in one atomic step with the removal of its pending
   * entry (a crash leaves every partition either still pending or committed, never lost). A pending
   * offset replaces the committed one unless that was committed after it (Kafka keeps the later
   * record of the log). Returns the offsets that became committed (none for an abort, or when
   * nothing is pending: idempotent). Durable when resolved.
   */
  completePending(groupId: string, producerId: bigint, commit: boolean): Promise<CommittedOffset[]>;
  /** Removes some offsets of one group, committed and pending (missing keys are ignored); durable when resolved. */
  deleteOffsets(groupId: string, keys: readonly OffsetKey[]): Promise<void>;
  /** Removes all offsets of one group, committed and pending; durable when resolved. */
  deleteGroup(groupId: string): Promise<void>;
  /**
   * Removes the offsets of deleted topics from every group in the store, including groups this
   * coordinator does not hold (cluster mode: another broker coordinates them), committed and pending.
   * Only offsets of `isOffsetOfTopic`: one committed meanwhile for a re-created topic of the same
   * name stays. Durable when resolved.
   */
  deleteTopicOffsets?(topics: readonly TopicRef[]): Promise<void>;
}

function keyOf(k: OffsetKey): string {
  return `${k.partition}:${k.topic}`;
}

/** An offset with the store-wide order of its write (the "log position" completePending compares). */
interface Stamped {
  offset: CommittedOffset;
  revision: number;
}

/**
 * An in-memory store for tests and for brokers that do not need durable offsets. Share one
 * instance between two coordinators to simulate a restart. `failNext` makes the next call reject.
 */
export class MemoryGroupOffsetStore implements GroupOffsetStore {
  private readonly groups = new Map<string, Map<string, Stamped>>();
  /** groupId -> producerId -> partition key -> pending offset. */
  private readonly pending = new Map<string, Map<bigint, Map<string, Stamped>>>();
  private revision = 0;
  private failures: Error[] = [];
  /** Count of calls per method, for tests. */
  readonly calls = { loadAll: 0, commit: 0, putPending: 0, completePending: 0, deleteOffsets: 0, deleteGroup: 0, deleteTopicOffsets: 0 };

  failNext(err: Error = new Error('injected store failure')): void {
    this.failures.push(err);
  }

  async loadAll(): Promise<StoredGroupOffsets[]> {
    this.calls.loadAll++;
    this.maybeFail();
    const ids = new Set([...this.groups.keys(), ...this.pending.keys()]);
    return [...ids].map((groupId) => this.stored(groupId));
  }

  async commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    this.calls.commit++;
    this.maybeFail();
    const g = this.committedOf(groupId);
    const revision = ++this.revision;
    for (const o of offsets) g.set(keyOf(o), { offset: { ...o }, revision });
  }

  async putPending(groupId: string, producerId: bigint, offsets: readonly CommittedOffset[]): Promise<void> {
    this.calls.putPending++;
    this.maybeFail();
    if (offsets.length === 0) return;
    let byProducer = this.pending.get(groupId);
    if (byProducer === undefined) this.pending.set(groupId, (byProducer = new Map()));
    let p = byProducer.get(producerId);
    if (p === undefined) byProducer.set(producerId, (p = new Map()));
    const revision = ++this.revision;
    for (const o of offsets) p.set(keyOf(o), { offset: { ...o }, revision });
  }

  async completePending(groupId: string, producerId: bigint, commit: boolean): Promise<CommittedOffset[]> {
    this.calls.completePending++;
    this.maybeFail();
    const byProducer = this.pending.get(groupId);
    const p = byProducer?.get(producerId);
    if (byProducer === undefined || p === undefined) return [];
    byProducer.delete(producerId);
    if (byProducer.size === 0) this.pending.delete(groupId);
    if (!commit) return [];
    const g = this.committedOf(groupId);
    const applied: CommittedOffset[] = [];
    for (const [k, s] of p) {
      const current = g.get(k);
      if (current !== undefined && current.revision > s.revision) continue; // committed after the txn's offset: it stays
      g.set(k, s);
      applied.push({ ...s.offset });
    }
    if (g.size === 0) this.groups.delete(groupId);
    return applied;
  }

  async deleteOffsets(groupId: string, keys: readonly OffsetKey[]): Promise<void> {
    this.calls.deleteOffsets++;
    this.maybeFail();
    this.removeWhere(groupId, (k) => keys.some((x) => keyOf(x) === k));
  }

  async deleteGroup(groupId: string): Promise<void> {
    this.calls.deleteGroup++;
    this.maybeFail();
    this.groups.delete(groupId);
    this.pending.delete(groupId);
  }

  async deleteTopicOffsets(topics: readonly TopicRef[]): Promise<void> {
    this.calls.deleteTopicOffsets++;
    this.maybeFail();
    for (const groupId of new Set([...this.groups.keys(), ...this.pending.keys()])) {
      this.removeWhere(groupId, (_k, o) => topics.some((t) => isOffsetOfTopic(o, t)));
    }
  }

  /** What is committed for a group, for assertions. */
  snapshot(groupId: string): CommittedOffset[] {
    return [...(this.groups.get(groupId)?.values() ?? [])].map((s) => ({ ...s.offset }));
  }

  /** What is pending for a group and producer, for assertions. */
  pendingSnapshot(groupId: string, producerId: bigint): CommittedOffset[] {
    return [...(this.pending.get(groupId)?.get(producerId)?.values() ?? [])].map((s) => ({ ...s.offset }));
  }

  /** A read of one group, as loadGroup would return it (the store itself offers no loadGroup: see adoptGroup). */
  stored(groupId: string): StoredGroupOffsets {
    const out: StoredGroupOffsets = { groupId, offsets: this.snapshot(groupId) };
    const byProducer = this.pending.get(groupId);
    if (byProducer !== undefined) out.pending = [...byProducer.keys()].map((producerId) => ({ producerId, offsets: this.pendingSnapshot(groupId, producerId) }));
    return out;
  }

  private committedOf(groupId: string): Map<string, Stamped> {
    let g = this.groups.get(groupId);
    if (g === undefined) this.groups.set(groupId, (g = new Map()));
    return g;
  }

  private removeWhere(groupId: string, doomed: (key: string, o: CommittedOffset) => boolean): void {
    const g = this.groups.get(groupId);
    if (g !== undefined) {
      for (const [k, s] of g) if (doomed(k, s.offset)) g.delete(k);
      if (g.size === 0) this.groups.delete(groupId);
    }
    const byProducer = this.pending.get(groupId);
    if (byProducer !== undefined) {
      for (const [producerId, p] of byProducer) {
        for (const [k, s] of p) if (doomed(k, s.offset)) p.delete(k);
        if (p.size === 0) byProducer.delete(producerId);
      }
      if (byProducer.size === 0) this.pending.delete(groupId);
    }
  }

  private maybeFail(): void {
    const err = this.failures.shift();
    if (err !== undefined) throw err;
  }
}
