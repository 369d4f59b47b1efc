/**
 * OffsetManager: the committed-offsets half of the GroupCoordinator (OffsetCommit, OffsetFetch,
 * OffsetDelete, the offsets of deleted topics, loading and re-reading a group's offsets) and the
 * one place that talks to the GroupOffsetStore. The coordinator owns the groups and their
 * membership: it validates a commit's member and generation, then hands the group here.
 *
 * ## Using it (from the coordinator)
 *   const offsets = new OffsetManager({ store, clock, log, offsetMetadataMaxBytes, groups });
 *   await offsets.loadAll();                   // once, at open: the number of offsets loaded
 *   offsets.commit(group, params)              // after the membership checks passed
 *   offsets.fetch(params) / offsets.delete(params) / offsets.deleteTopicOffsets(topics) / ...
 *   offsets.deleteGroup(group)                 // DeleteGroups: the store drops all its offsets
 *
 * ## Behaviour (Kafka's)
 *   - OffsetCommit: metadata longer than offsetMetadataMaxBytes -> OFFSET_METADATA_TOO_LARGE for
 *     that partition; the others are made durable together, then remembered; a store failure ->
 *     COORDINATOR_NOT_AVAILABLE (retriable) for the whole request. A commit without a timestamp
 *     gets the clock's time; topic ids are kept with the offsets.
 *   - OffsetFetch returns only durable commits; -1/'' for partitions without one.
 *   - OffsetDelete: allowed in Empty groups; in active "consumer" groups per partition, refusing
 *     subscribed topics with GROUP_SUBSCRIBED_TO_TOPIC; other active groups NON_EMPTY_GROUP.
 *   - A deleted topic's offsets leave every group; only those of its topic id (or with none).
 *   Not implemented: offset retention (offsets.retention.minutes), transactional offsets.
 *
 * Store calls of one group run one after another (the group's storeQueue), in call order: a commit
 * is queued synchronously when commit() is called, so two commits apply in the order they came.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { Clock } from './clock.js';
import { ClassicGroup, CONSUMER_PROTOCOL_TYPE } from './group.js';
import { isOffsetOfTopic, type CommittedOffset, type GroupOffsetStore, type OffsetKey, type TopicRef } from './offset-store.js';
import type {
  GroupLogger, OffsetCommitParams, OffsetCommitResult, OffsetDeleteParams, OffsetDeleteResult, OffsetFetchParams, OffsetFetchResult,
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
export function offsetCommitError(p: OffsetCommitParams, errorCode: number): OffsetCommitResult {
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
   * Every group with committed offsets in the store becomes a group here (Empty, generation 0).
   * Returns the number of offsets loaded.
   */
  async loadAll(): Promise<number> {
    const stored = await this.store.loadAll();
    let count = 0;
    for (const g of stored) {
      if (g.offsets.length === 0) continue;
      const group = this.groups.getOrCreate(g.groupId);
      for (const o of g.offsets) {
        group.putOffset({ ...o });
        count++;
      }
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
      const offsets = await loadGroup(groupId);
      if (this.groups.get(groupId) === undefined) {
        if (offsets.length === 0) return;
        const created = this.groups.getOrCreate(groupId);
        for (const o of offsets) created.putOffset({ ...o });
        return;
      }
    }
    // The store's offsets replace what this broker remembers: another broker may have deleted
    // some meanwhile (OffsetDelete, a deleted topic). In the group's store queue, so a commit
    // made here is not lost to an older read.
    const group = this.groups.get(groupId)!;
    if (group.members.size > 0) return;
    await this.enqueueStore(group, async () => {
      if (group.members.size > 0) return;
      const offsets = await loadGroup(groupId);
      if (group.members.size > 0) return;
      group.offsets.clear();
      for (const o of offsets) group.putOffset({ ...o });
    });
  }

  /** OffsetCommit for a group whose member and generation the coordinator has accepted. */
  async commit(group: ClassicGroup, p: OffsetCommitParams): Promise<OffsetCommitResult> {
    const nowMs = this.clock.nowMs();
    const accepted: CommittedOffset[] = [];
    const errors = new Map<string, number>(); // `${topic}\0${partition}` -> error code
    for (const t of p.topics) {
      for (const x of t.partitions) {
        const metadata = x.committedMetadata ?? '';
        if (metadata.length > this.offsetMetadataMaxBytes) {
          errors.set(`${t.name}\0${x.partitionIndex}`, ErrorCode.OFFSET_METADATA_TOO_LARGE);
          continue;
        }
        const ts = x.commitTimestampMs ?? -1;
        const o: CommittedOffset = {
          topic: t.name, partition: x.partitionIndex, offset: x.committedOffset, leaderEpoch: x.committedLeaderEpoch,
          metadata, commitTimestampMs: ts >= 0 ? ts : nowMs,
        };
        if (t.topicId) o.topicId = t.topicId;
        accepted.push(o);
      }
    }
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
    return {
      topics: p.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode: errors.get(`${t.name}\0${x.partitionIndex}`) ?? storeError })),
      })),
    };
  }

  async fetch(p: OffsetFetchParams): Promise<OffsetFetchResult> {
    if (this.groups.isClosed()) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    const group = this.groups.get(p.groupId);
    const known = group !== undefined && !group.is('Dead') ? group : undefined;
    const none = (partitionIndex: number) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE });
    if (p.topics === null) {
      if (known === undefined) return { errorCode: ErrorCode.NONE, topics: [] };
      const topics = [...known.offsets].map(([name, parts]) => ({
        name,
        partitions: [...parts.values()].sort((a, b) => a.partition - b.partition).map((o) => ({
          partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE,
        })),
      }));
      return { errorCode: ErrorCode.NONE, topics };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: p.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((i) => {
          const o = known?.offset(t.name, i);
          if (o === undefined) return none(i);
          return { partitionIndex: i, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE };
        }),
      })),
    };
  }

  async delete(p: OffsetDeleteParams): Promise<OffsetDeleteResult> {
    const fail = (errorCode: number): OffsetDeleteResult => ({ errorCode, topics: [] });
    if (this.groups.isClosed()) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (p.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    const group = this.groups.get(p.groupId);
    if (group === undefined || group.is('Dead')) return fail(ErrorCode.GROUP_ID_NOT_FOUND);
    const active = !group.is('Empty');
    if (active && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return fail(ErrorCode.NON_EMPTY_GROUP);
    const eligible: OffsetKey[] = [];
    const topics = p.topics.map((t) => {
      const subscribed = active && group.isSubscribedToTopic(t.name);
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
          for (const k of eligible) group.removeOffset(k);
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
    for (const group of this.groups.values()) {
      if (![...group.offsets.values()].some((parts) => [...parts.values()].some(matches))) continue;
      work.push(this.enqueueStore(group, async () => {
        const keys: OffsetKey[] = [];
        for (const parts of group.offsets.values()) for (const o of parts.values()) if (matches(o)) keys.push({ topic: o.topic, partition: o.partition });
        if (keys.length === 0) return;
        if (!storeWide) await this.store.deleteOffsets(group.groupId, keys);
        for (const k of keys) group.removeOffset(k);
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
    for (const group of this.groups.values()) {
      for (const [topic, parts] of group.offsets) {
        const id = current.get(topic);
        for (const o of parts.values()) {
          const recorded = o.topicId ?? '';
          if (id !== undefined && (recorded === '' || recorded === id)) continue;
          stale.set(`${recorded}\0${topic}`, { name: topic, topicId: recorded });
        }
      }
    }
    const refs = [...stale.values()];
    if (refs.length > 0) await this.deleteTopicOffsets(refs);
    return refs;
  }

  /** DeleteGroups: the store drops every offset of the group (in its store queue). */
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
