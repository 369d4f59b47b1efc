/**
 * OffsetManager: the committed-offsets half of the GroupCoordinator (OffsetCommit, TxnOffsetCommit
 * and transaction markers, OffsetFetch, OffsetDelete, the offsets of deleted topics, loading and
 * re-reading a group's offsets) and the one place that talks to the GroupOffsetStore. The
 * coordinator owns the groups and their membership: it validates a commit's member and
 * generation, then hands the group here.
 *
 * ## Using it (from the coordinator)
 *   const offsets = new OffsetManager({ store, clock, log, offsetMetadataMaxBytes, groups });
 *   await offsets.loadAll();                   // once, at open: the number of offsets loaded
 *   offsets.commit(group, params)              // after the membership checks passed
 *   offsets.commitTxn(group, params)           // TxnOffsetCommit, after its membership checks
 *   offsets.completeTxn(producerId, commit)    // the transaction's marker: every group's pending offsets
 *   offsets.fetch(params) / offsets.delete(params) / offsets.deleteTopicOffsets(topics) / ...
 *   offsets.deleteGroup(group)                 // DeleteGroups: the store drops all its offsets
 *
 * ## Behaviour (Kafka's)
 *   - OffsetCommit: metadata longer than offsetMetadataMaxBytes -> OFFSET_METADATA_TOO_LARGE for
 *     that partition; the others are made durable together, then remembered; a store failure ->
 *     COORDINATOR_NOT_AVAILABLE (retriable) for the whole request. A commit without a timestamp
 *     gets the clock's time; topic ids are kept with the offsets.
 *   - OffsetFetch returns only durable commits; -1/'' for partitions without one.
 *   - TxnOffsetCommit: the same checks on metadata; the offsets are stored durably as pending for
 *     (group, producer id) before the answer, and are not committed offsets: OffsetFetch does not
 *     return them. With requireStable (v7+) a partition with a pending offset of any producer
 *     answers UNSTABLE_OFFSET_COMMIT (per partition, offset -1; the top-level error stays NONE);
 *     without, the last committed offset. Pending offsets count as offsets (the group is not swept).
 *   - The transaction's marker (completeTxn): commit -> every group's pending offsets of that
 *     producer become its committed offsets, each replacing the committed one unless that was
 *     committed after the TxnOffsetCommit (Kafka keeps the later record of its log; the store
 *     keeps that order durably); abort -> they are dropped. Durable before it resolves; a second
 *     call finds nothing. Pending offsets survive restarts (loadAll) and a move of the group to
 *     another broker (adoptGroup reads them with the committed ones).
 *   - OffsetDelete, DeleteGroups and deleted topics remove the pending offsets of those partitions
 *     too (Kafka's tombstone removes them), so a later commit marker does not bring them back.
 *   - OffsetDelete: allowed in Empty groups; in active "consumer" groups per partition, refusing
 *     subscribed topics with GROUP_SUBSCRIBED_TO_TOPIC; other active groups NON_EMPTY_GROUP.
 *   - A deleted topic's offsets leave every group; only those of its topic id (or with none).
 *   Not implemented: offset retention (offsets.retention.minutes); producer epoch fencing of
 *   TxnOffsetCommit (KIP-890 verification) is left to the transaction coordinator and the handler.
 *
 * Store calls of one group run one after another (the group's storeQueue), in call order: a commit
 * is queued synchronously when commit() is called, so two commits apply in the order they came.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Clock } from './clock.js';
import { ClassicGroup, CONSUMER_PROTOCOL_TYPE } from './group.js';
import { isOffsetOfTopic, type CommittedOffset, type GroupOffsetStore, type OffsetKey, type StoredGroupOffsets, type TopicRef } from './offset-store.js';
import type {
  GroupLogger, OffsetCommitParams, OffsetCommitResult, OffsetDeleteParams, OffsetDeleteResult, OffsetFetchParams, OffsetFetchResult,
  TxnOffsetCommitParams,
} from './types.js';

/** The coordinator's groups, as the offsets see them. */
export interface OffsetGroups {
  get(groupId: string): ClassicGroup | undefined;
  getOrCreate(groupId: string): ClassicGroup;
  values(): Iterable<ClassicGroup>;
  /** True once the coordinator is closed: calls answer COORDINATOR_NOT_AVAILABLE or do nothing. */
  isClosed(): boolean;
}

export interface OffsetManagerOptions {
  store: GroupOffsetStore;
  clock: Clock;
  log: GroupLogger;
  /** offset.metadata.max.bytes (counted in UTF-16 units, like Java's String.length). */
  offsetMetadataMaxBytes: number;
  groups: OffsetGroups;
}

/** An OffsetCommit answer with one error code for every partition of the request. */
export function offsetCommitError(p: Pick<OffsetCommitParams, 'topics'>, errorCode: number): OffsetCommitResult {
  return {
    topics: p.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode })) })),
  };
}

export class OffsetManager {
  private readonly store: GroupOffsetStore;
  private readonly clock: Clock;
  private readonly log: GroupLogger;
  private readonly offsetMetadataMaxBytes: number;
  private readonly groups: OffsetGroups;

  constructor(options: OffsetManagerOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.log = options.log;
    this.offsetMetadataMaxBytes = options.offsetMetadataMaxBytes;
    this.groups = options.groups;
  }

  /**
   * Every group with committed or pending offsets in the store becomes a group here (Empty,
   * generation 0). Returns the number of offsets loaded (both kinds).
   */
  async loadAll(): Promise<number> {
    const stored = await this.store.loadAll();
    let count = 0;
    for (const g of stored) {
      if (!hasAny(g)) continue;
      count += replaceOffsets(this.groups.getOrCreate(g.groupId), g);
    }
    return count;
  }

  /**
   * Cluster mode: this broker just became (or may have become) the group's coordinator, and the
   * group has no members here: read its committed offsets fresh from the store (another broker
   * coordinated it meanwhile). A group with members is current already.
   */
  async adoptGroup(groupId: string): Promise<void> {
    const loadGroup = this.store.loadGroup?.bind(this.store);
    if (loadGroup === undefined || this.groups.isClosed()) return;
    if (this.groups.get(groupId) === undefined) {
      const stored = await loadGroup(groupId);
      if (this.groups.get(groupId) === undefined) {
        if (!hasAny(stored)) return;
        replaceOffsets(this.groups.getOrCreate(groupId), stored);
        return;
      }
    }
    // The store's offsets (committed and pending) replace what this broker remembers: another
    // broker may have deleted some meanwhile (OffsetDelete, a deleted topic) or completed a
    // transaction. In the group's store queue, so a commit made here is not lost to an older read.
    const group = this.groups.get(groupId)!;
    if (group.hasAnyMembers) return;
    await this.enqueueStore(group, async () => {
      if (group.hasAnyMembers) return;
      const stored = await loadGroup(groupId);
      if (group.hasAnyMembers) return;
      replaceOffsets(group, stored);
    });
  }

  /** OffsetCommit for a group whose member and generation the coordinator has accepted. */
  async commit(group: ClassicGroup, p: OffsetCommitParams): Promise<OffsetCommitResult> {
    const { accepted, errors } = this.acceptOffsets(p.topics, true);
    let storeError: number = ErrorCode.NONE;
    if (accepted.length > 0) {
      try {
        await this.enqueueStore(group, async () => {
          await this.store.commit(group.groupId, accepted);
          for (const o of accepted) group.putOffset(o);
        });
      } catch (e) {
        this.log.error({ groupId: group.groupId, err: e }, 'offset commit failed in the store');
        storeError = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return commitResult(p.topics, errors, storeError);
  }

  /**
   * TxnOffsetCommit for a group whose member and generation (if given) the coordinator has
   * accepted: the offsets become durable as pending for (group, producer id), not committed.
   */
  async commitTxn(group: ClassicGroup, p: TxnOffsetCommitParams): Promise<OffsetCommitResult> {
    const { accepted, errors } = this.acceptOffsets(p.topics, false);
    let storeError: number = ErrorCode.NONE;
    if (accepted.length > 0) {
      try {
        await this.enqueueStore(group, async () => {
          await this.store.putPending(group.groupId, p.producerId, accepted);
          for (const o of accepted) group.putPendingOffset(p.producerId, o);
        });
        this.log.debug({ groupId: group.groupId, transactionalId: p.transactionalId, producerId: p.producerId.toString(), partitions: accepted.length }, 'transactional offsets pending');
      } catch (e) {
        this.log.error({ groupId: group.groupId, producerId: p.producerId.toString(), err: e }, 'transactional offset commit failed in the store');
        storeError = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    return commitResult(p.topics, errors, storeError);
  }

  /**
   * The transaction of `producerId` ended: in every group held here with pending offsets of it,
   * commit -> they become committed offsets (unless a partition was committed after them), abort
   * -> dropped; durable when resolved. Each group in its store queue. Idempotent; rejects when the
   * store fails (the failed groups keep their pending offsets: call again).
   */
  async completeTxn(producerId: bigint, commit: boolean): Promise<void> {
    if (this.groups.isClosed()) throw new Error('group coordinator is closed');
    const work: Promise<void>[] = [];
    for (const group of this.groups.values()) {
      if (!group.pendingTxnOffsets.has(producerId)) continue;
      work.push(this.enqueueStore(group, async () => {
        const applied = await this.store.completePending(group.groupId, producerId, commit);
        group.pendingTxnOffsets.delete(producerId);
        for (const o of applied) group.putOffset({ ...o });
        this.log.debug({ groupId: group.groupId, producerId: producerId.toString(), commit, applied: applied.length }, 'transactional offsets completed');
      }));
    }
    const results = await Promise.allSettled(work);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      this.log.error({ producerId: producerId.toString(), commit, err: failed.reason }, 'completing transactional offsets failed in the store');
      throw failed.reason;
    }
  }

  /** The offsets of a commit that pass the metadata check, and the errors of those that do not. */
  private acceptOffsets(topics: OffsetCommitParams['topics'], withTimestamps: boolean): { accepted: CommittedOffset[]; errors: Map<string, number> } {
    const nowMs = this.clock.nowMs();
    const accepted: CommittedOffset[] = [];
    const errors = new Map<string, number>(); // `${topic}\0${partition}` -> error code
    for (const t of topics) {
      for (const x of t.partitions) {
        const metadata = x.committedMetadata ?? '';
        if (metadata.length > this.offsetMetadataMaxBytes) {
          errors.set(`${t.name}\0${x.partitionIndex}`, ErrorCode.OFFSET_METADATA_TOO_LARGE);
          continue;
        }
        const ts = withTimestamps ? x.commitTimestampMs ?? -1 : -1;
        const o: CommittedOffset = {
          topic: t.name, partition: x.partitionIndex, offset: x.committedOffset, leaderEpoch: x.committedLeaderEpoch,
          metadata, commitTimestampMs: ts >= 0 ? ts : nowMs,
        };
        if (t.topicId) o.topicId = t.topicId;
        accepted.push(o);
      }
    }
    return { accepted, errors };
  }

  async fetch(p: OffsetFetchParams): Promise<OffsetFetchResult> {
    if (this.groups.isClosed()) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    const group = this.groups.get(p.groupId);
    const known = group !== undefined && !group.is('Dead') ? group : undefined;
    const none = (partitionIndex: number, errorCode: number = ErrorCode.NONE) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode });
    // Kafka's getOffsets: per partition, an open transaction's offset makes it unstable.
    const answer = (topic: string, i: number) => {
      if (known === undefined) return none(i);
      if (p.requireStable && known.hasPendingOffset(topic, i)) return none(i, ErrorCode.UNSTABLE_OFFSET_COMMIT);
      const o = known.offset(topic, i);
      if (o === undefined) return none(i);
      return { partitionIndex: i, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE };
    };
    if (p.topics === null) {
      // Every committed partition (as Kafka: partitions with only a pending offset are not listed).
      if (known === undefined) return { errorCode: ErrorCode.NONE, topics: [] };
      const topics = [...known.offsets].map(([name, parts]) => ({
        name,
        partitions: [...parts.keys()].sort((a, b) => a - b).map((i) => answer(name, i)),
      }));
      return { errorCode: ErrorCode.NONE, topics };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: p.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((i) => answer(t.name, i)) })),
    };
  }

  async delete(p: OffsetDeleteParams): Promise<OffsetDeleteResult> {
    const fail = (errorCode: number): OffsetDeleteResult => ({ errorCode, topics: [] });
    if (this.groups.isClosed()) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (p.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    const group = this.groups.get(p.groupId);
    if (group === undefined || group.is('Dead')) return fail(ErrorCode.GROUP_ID_NOT_FOUND);
    const cg = group.consumerGroup;
    const active = !group.is('Empty') || (cg !== null && cg.size > 0);
    if (active && cg === null && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return fail(ErrorCode.NON_EMPTY_GROUP);
    const eligible: OffsetKey[] = [];
    const topics = p.topics.map((t) => {
      const subscribed = active && (cg !== null ? cg.isSubscribedToTopic(t.name) : group.isSubscribedToTopic(t.name));
      return {
        name: t.name,
        partitions: t.partitions.map((x) => {
          if (subscribed) return { partitionIndex: x.partitionIndex, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
          eligible.push({ topic: t.name, partition: x.partitionIndex });
          return { partitionIndex: x.partitionIndex, errorCode: ErrorCode.NONE };
        }),
      };
    });
    if (eligible.length > 0) {
      try {
        await this.enqueueStore(group, async () => {
          await this.store.deleteOffsets(group.groupId, eligible);
          for (const k of eligible) {
            group.removeOffset(k);
            group.removePendingOffset(k);
          }
        });
      } catch (e) {
        this.log.error({ groupId: group.groupId, err: e }, 'offset delete failed in the store');
        return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
      this.log.info({ groupId: group.groupId, partitions: eligible.length }, 'offsets deleted');
    }
    return { errorCode: ErrorCode.NONE, topics };
  }

  /**
   * Removes the offsets of deleted topics from every group, as Kafka does on topic deletion. Only
   * offsets committed for that topic id (or with none recorded) go: a re-created topic of the same
   * name keeps its own. First the store, for every group in it (cluster mode: also those another
   * broker coordinates, whose copy here may be old, so the store decides what it still holds);
   * then the groups held here, each in its store queue. A store without the store-wide call gets
   * per-group deletes instead. Every broker calls this when it sees the deletion, which also
   * catches a commit it accepted before it knew. Rejects when the store fails (idempotent: retry).
   */
  async deleteTopicOffsets(topics: readonly TopicRef[]): Promise<void> {
    if (this.groups.isClosed() || topics.length === 0) return;
    const matches = (o: CommittedOffset) => topics.some((t) => isOffsetOfTopic(o, t));
    const storeWide = this.store.deleteTopicOffsets?.bind(this.store);
    if (storeWide) await storeWide(topics);
    const work: Promise<void>[] = [];
    const committedOf = (group: ClassicGroup) => [...group.offsets.values()].flatMap((parts) => [...parts.values()]).filter(matches);
    const pendingOf = (group: ClassicGroup) => [...group.allPendingOffsets()].filter((x) => matches(x.offset));
    for (const group of this.groups.values()) {
      if (committedOf(group).length === 0 && pendingOf(group).length === 0) continue;
      work.push(this.enqueueStore(group, async () => {
        const committed = committedOf(group);
        const pending = pendingOf(group);
        if (committed.length === 0 && pending.length === 0) return;
        const keys = [...committed, ...pending.map((x) => x.offset)].map((o): OffsetKey => ({ topic: o.topic, partition: o.partition }));
        if (!storeWide) await this.store.deleteOffsets(group.groupId, keys);
        for (const o of committed) group.removeOffset(o);
        for (const x of pending) group.pendingTxnOffsets.get(x.producerId)?.delete(`${x.offset.partition}:${x.offset.topic}`);
        for (const [producerId, parts] of group.pendingTxnOffsets) if (parts.size === 0) group.pendingTxnOffsets.delete(producerId);
      }));
    }
    await Promise.all(work);
    this.log.info({ topics: topics.map((t) => t.name) }, 'committed offsets of deleted topics removed');
  }

  /**
   * Offsets whose topic is gone (deleted while its offsets stayed, e.g. a crash between the two,
   * or before deletions removed offsets): `current` maps every existing topic name to its id.
   * Only safe where no other broker commits meanwhile (single node): it judges from memory.
   */
  async deleteOffsetsOfMissingTopics(current: ReadonlyMap<string, string>): Promise<TopicRef[]> {
    const stale = new Map<string, TopicRef>();
    const check = (o: CommittedOffset) => {
      const id = current.get(o.topic);
      const recorded = o.topicId ?? '';
      if (id !== undefined && (recorded === '' || recorded === id)) return;
      stale.set(`${recorded}\0${o.topic}`, { name: o.topic, topicId: recorded });
    };
    for (const group of this.groups.values()) {
      for (const parts of group.offsets.values()) for (const o of parts.values()) check(o);
      for (const x of group.allPendingOffsets()) check(x.offset);
    }
    const refs = [...stale.values()];
    if (refs.length > 0) await this.deleteTopicOffsets(refs);
    return refs;
  }

  /** DeleteGroups: the store drops every offset of the group, pending ones too (in its store queue). */
  deleteGroup(group: ClassicGroup): Promise<void> {
    return this.enqueueStore(group, () => this.store.deleteGroup(group.groupId));
  }

  /** Runs store operations of one group one after another; a failure does not block later ones. */
  private enqueueStore(group: ClassicGroup, op: () => Promise<void>): Promise<void> {
    group.storeOpsInFlight++;
    const run = group.storeQueue.then(op, op).finally(() => {
      group.storeOpsInFlight--;
    });
    group.storeQueue = run.catch(() => undefined);
    return run;
  }
}

function hasAny(g: StoredGroupOffsets): boolean {
  return g.offsets.length > 0 || (g.pending ?? []).some((p) => p.offsets.length > 0);
}

/** The group's offsets, committed and pending, become those read from the store; returns their number. */
function replaceOffsets(group: ClassicGroup, g: StoredGroupOffsets): number {
  group.offsets.clear();
  group.pendingTxnOffsets.clear();
  let count = 0;
  for (const o of g.offsets) {
    group.putOffset({ ...o });
    count++;
  }
  for (const p of g.pending ?? []) {
    for (const o of p.offsets) {
      group.putPendingOffset(p.producerId, { ...o });
      count++;
    }
  }
  return count;
}

/** One error per partition: the metadata check's, else the store's. */
function commitResult(topics: OffsetCommitParams['topics'], errors: ReadonlyMap<string, number>, storeError: number): OffsetCommitResult {
  return {
    topics: topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode: errors.get(`${t.name}\0${x.partitionIndex}`) ?? storeError })),
    })),
  };
}
