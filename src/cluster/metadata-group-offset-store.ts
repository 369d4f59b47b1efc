// Committed consumer-group offsets in the MetadataStore, in the shape of src/groups' GroupOffsetStore
// (loadAll, commit, deleteOffsets, deleteGroup). One key per group, topic and partition:
//
//   groups/<group>/offsets/<topic>/<partition>  {"o":"<offset>","e":<leaderEpoch>,"m":"<metadata>","t":<commitTimestampMs>,"i":"<topicId>"}
//
// The offset is a decimal string so every int64 survives JSON. "i" (the topic id at commit time)
// is absent in values written before it was kept; such an offset belongs to any topic of its name. Group and topic are escaped
// (escapeSegment). A commit is one transaction when it fits etcd's limits (ETCD_LIMITS: 128 ops,
// 1.5 MiB); larger commits are split into several transactions, each atomic (the coordinator issues one call
// per group at a time and answers only after all of them resolve).
//
// API: new MetadataGroupOffsetStore(store, { clusterName })
//   loadAll(): Promise<StoredGroupOffsets[]>
//   commit(groupId, offsets), deleteOffsets(groupId, keys), deleteGroup(groupId)
//   deleteTopicOffsets(topics): a deleted topic's offsets out of every group, each key deleted only
//     if unchanged since it was read (a commit racing the sweep, e.g. for a re-created topic, stays)
//   types OffsetKey, CommittedOffset, StoredGroupOffsets (structurally equal to src/groups/offset-store.ts)

import { decodeJson, encodeJson, ETCD_LIMITS, type Compare, type KeyValue, type MetadataStore, type Op } from './metadata-store.js';
import { MetadataKeys, unescapeSegment } from './metadata-keys.js';
import { isOffsetOfTopic, type TopicRef } from '../groups/offset-store.js';

// The shapes are the coordinator's (src/groups/offset-store.ts): this is one implementation of its store.
import type { OffsetKey, CommittedOffset, StoredGroupOffsets, GroupOffsetStore } from '../groups/offset-store.js';
export type { OffsetKey, CommittedOffset, StoredGroupOffsets, TopicRef };

interface StoredValue { o: string; e: number; m: string; t: number; i?: string }

export class MetadataGroupOffsetStore implements GroupOffsetStore {
  private readonly keys: MetadataKeys;

  constructor(private readonly store: MetadataStore, options: { clusterName: string }) {
    this.keys = new MetadataKeys(options.clusterName);
  }

  async loadGroup(groupId: string): Promise<CommittedOffset[]> {
    const all = await this.loadAll(this.keys.groupPrefix(groupId));
    return all.find((g) => g.groupId === groupId)?.offsets ?? [];
  }

  async loadAll(prefixOverride?: string): Promise<StoredGroupOffsets[]> {
    const prefix = this.keys.groupsPrefix();
    const listPrefix = prefixOverride ?? prefix;
    const groups = new Map<string, CommittedOffset[]>();
    for (const { groupId, offset } of this.decode(await this.store.list(listPrefix))) {
      let list = groups.get(groupId);
      if (!list) groups.set(groupId, (list = []));
      list.push(offset);
    }
    return [...groups].map(([groupId, offsets]) => ({ groupId, offsets }));
  }

  /** The offset records among `kvs` (keys under groupsPrefix()), with their keys and revisions. */
  private *decode(kvs: readonly KeyValue[]): Generator<{ groupId: string; offset: CommittedOffset; key: string; modRevision: number }> {
    const prefix = this.keys.groupsPrefix();
    for (const kv of kvs) {
      // <group>/offsets/<topic>/<partition>; the escaped segments contain no '/'.
      const parts = kv.key.slice(prefix.length).split('/');
      if (parts.length !== 4 || parts[1] !== 'offsets') continue; // other per-group records, if any appear later
      const partition = Number(parts[3]);
      if (!Number.isInteger(partition) || partition < 0) throw new Error(`malformed offset key ${kv.key}`);
      const v = decodeJson<StoredValue>(kv.value, kv.key);
      const offset: CommittedOffset = { topic: unescapeSegment(parts[2]!), partition, offset: BigInt(v.o), leaderEpoch: v.e, metadata: v.m, commitTimestampMs: v.t };
      if (v.i !== undefined) offset.topicId = v.i;
      yield { groupId: unescapeSegment(parts[0]!), offset, key: kv.key, modRevision: kv.modRevision };
    }
  }

  async commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    // The last entry for a partition wins, as if the commits were applied in order.
    const byKey = new Map<string, Op>();
    for (const o of offsets) {
      const key = this.keys.groupOffset(groupId, o.topic, o.partition);
      const value: StoredValue = { o: o.offset.toString(), e: o.leaderEpoch, m: o.metadata, t: o.commitTimestampMs };
      if (o.topicId) value.i = o.topicId;
      byKey.set(key, { type: 'put', key, value: encodeJson(value) });
    }
    await this.runChunked([...byKey.values()]);
  }

  async deleteOffsets(groupId: string, keys: readonly OffsetKey[]): Promise<void> {
    const unique = new Set(keys.map((k) => this.keys.groupOffset(groupId, k.topic, k.partition)));
    await this.runChunked([...unique].map((key): Op => ({ type: 'delete', key })));
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.store.txn([], [{ type: 'deletePrefix', prefix: this.keys.groupPrefix(groupId) }]);
  }

  async deleteTopicOffsets(topics: readonly TopicRef[]): Promise<void> {
    if (topics.length === 0) return;
    const doomed: { key: string; modRevision: number }[] = [];
    for (const r of this.decode(await this.store.list(this.keys.groupsPrefix()))) {
      if (topics.some((t) => isOffsetOfTopic(r.offset, t))) doomed.push({ key: r.key, modRevision: r.modRevision });
    }
    // Keys are guarded by their revision: one re-committed since the list is no longer ours to delete.
    // A chunk whose guard fails is retried key by key, so only the changed keys are kept.
    for (let i = 0; i < doomed.length; i += ETCD_LIMITS.txnOpsMax) {
      const chunk = doomed.slice(i, i + ETCD_LIMITS.txnOpsMax);
      const guarded = (list: typeof chunk) => this.store.txn(
        list.map((d): Compare => ({ key: d.key, target: 'modRevision', op: '==', value: d.modRevision })),
        list.map((d): Op => ({ type: 'delete', key: d.key })),
      );
      if ((await guarded(chunk)).succeeded || chunk.length === 1) continue;
      for (const d of chunk) await guarded([d]);
    }
  }

  /** Runs ops in transactions that stay within etcd's op count and request size. */
  private async runChunked(ops: Op[]): Promise<void> {
    const bytesMax = ETCD_LIMITS.requestBytesMax - 64 * 1024; // headroom for framing
    let chunk: Op[] = [];
    let bytes = 0;
    for (const op of ops) {
      const size = op.type === 'put' ? op.key.length * 3 + op.value.length : 3 * (op.type === 'delete' ? op.key.length : op.prefix.length);
      if (chunk.length > 0 && (chunk.length === ETCD_LIMITS.txnOpsMax || bytes + size > bytesMax)) {
        await this.store.txn([], chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(op);
      bytes += size;
    }
    if (chunk.length > 0) await this.store.txn([], chunk);
  }
}
