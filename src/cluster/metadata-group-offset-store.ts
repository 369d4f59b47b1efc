// Committed consumer-group offsets in the MetadataStore, in the shape of src/groups' GroupOffsetStore
// (loadAll, commit, deleteOffsets, deleteGroup, and the pending transactional offsets). One key per
// group, topic and partition, and per pending transactional offset also per producer id:
//
//   groups/<group>/offsets/<topic>/<partition>             {"o":"<offset>","e":<leaderEpoch>,"m":"<metadata>","t":<commitTimestampMs>,"i":"<topicId>","r":<order>}
//   groups/<group>/txn/<producerId>/<topic>/<partition>    the same value (no "r"): a TxnOffsetCommit waiting for its marker
//
// The offset is a decimal string so every int64 survives JSON. "i" (the topic id at commit time)
// is absent in values written before it was kept; such an offset belongs to any topic of its name. Group and topic are escaped
// (escapeSegment). A commit is one transaction when it fits etcd's limits (ETCD_LIMITS: 128 ops,
// 1.5 MiB); larger commits are split into several transactions, each atomic (the coordinator issues one call
// per group at a time and answers only after all of them resolve).
//
// Order of commits (Kafka keeps, of a regular and a transactional commit of one partition, the one
// later in its log): a key's modRevision is its place in that order; "r" is present on an offset
// that came from a transaction and keeps the modRevision of its pending key (the TxnOffsetCommit's
// place, not the marker's). completePending(commit) moves a pending offset to its committed key
// unless the committed one is later, each partition's put and the pending key's delete in one
// transaction (split past ETCD_LIMITS, never between the two), so a crash leaves each partition
// pending or committed and a repeated call finishes the rest.
//
// API: new MetadataGroupOffsetStore(store, { clusterName })
//   loadAll(): Promise<StoredGroupOffsets[]>, loadGroup(groupId): Promise<StoredGroupOffsets> (with `pending`)
//   commit(groupId, offsets), deleteOffsets(groupId, keys) (also pending ones), deleteGroup(groupId)
//   putPending(groupId, producerId, offsets), completePending(groupId, producerId, commit): the applied offsets
//   deleteTopicOffsets(topics): a deleted topic's offsets (committed and pending) out of every group, each key deleted only
//     if unchanged since it was read (a commit racing the sweep, e.g. for a re-created topic, stays)
//   types OffsetKey, CommittedOffset, StoredGroupOffsets, PendingTxnOffsets (structurally equal to src/groups/offset-store.ts)

import { decodeJson, encodeJson, ETCD_LIMITS, type Compare, type KeyValue, type MetadataStore, type Op } from './metadata-store.js';
import { MetadataKeys, escapeSegment, unescapeSegment } from './metadata-keys.js';
import { isOffsetOfTopic, type TopicRef } from '../groups/offset-store.js';

// The shapes are the coordinator's (src/groups/offset-store.ts): this is one implementation of its store.
import type { OffsetKey, CommittedOffset, StoredGroupOffsets, GroupOffsetStore, PendingTxnOffsets } from '../groups/offset-store.js';
export type { OffsetKey, CommittedOffset, StoredGroupOffsets, PendingTxnOffsets, TopicRef };

interface StoredValue { o: string; e: number; m: string; t: number; i?: string; r?: number }

/** One decoded record: a committed offset (producerId null) or a pending transactional one. */
interface Decoded {
  groupId: string;
  producerId: bigint | null;
  offset: CommittedOffset;
  key: string;
  modRevision: number;
  /** Its place in the order of commits (see the header). */
  order: number;
}

export class MetadataGroupOffsetStore implements GroupOffsetStore {
  private readonly keys: MetadataKeys;

  constructor(private readonly store: MetadataStore, options: { clusterName: string }) {
    this.keys = new MetadataKeys(options.clusterName);
  }

  async loadGroup(groupId: string): Promise<StoredGroupOffsets> {
    const all = await this.loadAll(this.keys.groupPrefix(groupId));
    return all.find((g) => g.groupId === groupId) ?? { groupId, offsets: [] };
  }

  async loadAll(prefixOverride?: string): Promise<StoredGroupOffsets[]> {
    const prefix = this.keys.groupsPrefix();
    const listPrefix = prefixOverride ?? prefix;
    const groups = new Map<string, { offsets: CommittedOffset[]; pending: Map<bigint, CommittedOffset[]> }>();
    for (const r of this.decode(await this.store.list(listPrefix))) {
      let g = groups.get(r.groupId);
      if (!g) groups.set(r.groupId, (g = { offsets: [], pending: new Map() }));
      if (r.producerId === null) {
        g.offsets.push(r.offset);
      } else {
        let list = g.pending.get(r.producerId);
        if (!list) g.pending.set(r.producerId, (list = []));
        list.push(r.offset);
      }
    }
    return [...groups].map(([groupId, g]) => {
      const out: StoredGroupOffsets = { groupId, offsets: g.offsets };
      if (g.pending.size > 0) out.pending = [...g.pending].map(([producerId, offsets]): PendingTxnOffsets => ({ producerId, offsets }));
      return out;
    });
  }

  /** The offset records among `kvs` (keys under groupsPrefix()), with their keys and revisions. */
  private *decode(kvs: readonly KeyValue[]): Generator<Decoded> {
    const prefix = this.keys.groupsPrefix();
    for (const kv of kvs) {
      // <group>/offsets/<topic>/<partition> or <group>/txn/<producerId>/<topic>/<partition>; the
      // escaped segments contain no '/'.
      const parts = kv.key.slice(prefix.length).split('/');
      let producerId: bigint | null;
      if (parts.length === 4 && parts[1] === 'offsets') producerId = null;
      else if (parts.length === 5 && parts[1] === 'txn') producerId = parseProducerId(parts[2]!, kv.key);
      else continue; // other per-group records, if any appear later
      const topic = parts[parts.length - 2]!;
      const partition = Number(parts[parts.length - 1]);
      if (!Number.isInteger(partition) || partition < 0) throw new Error(`malformed offset key ${kv.key}`);
      const v = decodeJson<StoredValue>(kv.value, kv.key);
      const offset: CommittedOffset = { topic: unescapeSegment(topic), partition, offset: BigInt(v.o), leaderEpoch: v.e, metadata: v.m, commitTimestampMs: v.t };
      if (v.i !== undefined) offset.topicId = v.i;
      const order = producerId === null && v.r !== undefined ? v.r : kv.modRevision;
      yield { groupId: unescapeSegment(parts[0]!), producerId, offset, key: kv.key, modRevision: kv.modRevision, order };
    }
  }

  async commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    // The last entry for a partition wins, as if the commits were applied in order.
    const byKey = new Map<string, Op>();
    for (const o of offsets) {
      const key = this.keys.groupOffset(groupId, o.topic, o.partition);
      byKey.set(key, put(key, o));
    }
    await this.runChunked([...byKey.values()].map((op) => [op]));
  }

  async putPending(groupId: string, producerId: bigint, offsets: readonly CommittedOffset[]): Promise<void> {
    const byKey = new Map<string, Op>();
    for (const o of offsets) {
      const key = this.pendingKey(groupId, producerId, o.topic, o.partition);
      byKey.set(key, put(key, o));
    }
    await this.runChunked([...byKey.values()].map((op) => [op]));
  }

  async completePending(groupId: string, producerId: bigint, commit: boolean): Promise<CommittedOffset[]> {
    const committed = new Map<string, Decoded>(); // committed key -> record
    const pending: Decoded[] = [];
    for (const r of this.decode(await this.store.list(this.keys.groupPrefix(groupId)))) {
      if (r.groupId !== groupId) continue;
      if (r.producerId === null) committed.set(r.key, r);
      else if (r.producerId === producerId) pending.push(r);
    }
    const units: Op[][] = [];
    const applied: CommittedOffset[] = [];
    for (const p of pending) {
      const remove: Op = { type: 'delete', key: p.key };
      const key = this.keys.groupOffset(groupId, p.offset.topic, p.offset.partition);
      const current = committed.get(key);
      if (!commit || (current !== undefined && current.order > p.modRevision)) {
        units.push([remove]); // aborted, or committed after the transaction's offset (that one stays)
        continue;
      }
      units.push([put(key, p.offset, p.modRevision), remove]);
      applied.push(p.offset);
    }
    await this.runChunked(units);
    return applied;
  }

  async deleteOffsets(groupId: string, keys: readonly OffsetKey[]): Promise<void> {
    const unique = new Set(keys.map((k) => this.keys.groupOffset(groupId, k.topic, k.partition)));
    // Pending transactional offsets of those partitions go too (Kafka's tombstone removes them).
    const wanted = new Set(keys.map((k) => `${k.partition}:${k.topic}`));
    for (const r of this.decode(await this.store.list(`${this.keys.groupPrefix(groupId)}txn/`))) {
      if (r.groupId === groupId && wanted.has(`${r.offset.partition}:${r.offset.topic}`)) unique.add(r.key);
    }
    await this.runChunked([...unique].map((key): Op[] => [{ type: 'delete', key }]));
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

  private pendingKey(groupId: string, producerId: bigint, topic: string, partition: number): string {
    return `${this.keys.groupPrefix(groupId)}txn/${producerId.toString()}/${escapeSegment(topic)}/${partition}`;
  }

  /**
   * Runs units of ops in transactions that stay within etcd's op count and request size; the ops
   * of one unit always share a transaction.
   */
  private async runChunked(units: Op[][]): Promise<void> {
    const bytesMax = ETCD_LIMITS.requestBytesMax - 64 * 1024; // headroom for framing
    let chunk: Op[] = [];
    let bytes = 0;
    for (const unit of units) {
      const size = unit.reduce((n, op) => n + opBytes(op), 0);
      if (chunk.length > 0 && (chunk.length + unit.length > ETCD_LIMITS.txnOpsMax || bytes + size > bytesMax)) {
        await this.store.txn([], chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(...unit);
      bytes += size;
    }
    if (chunk.length > 0) await this.store.txn([], chunk);
  }
}

function opBytes(op: Op): number {
  return op.type === 'put' ? op.key.length * 3 + op.value.length : 3 * (op.type === 'delete' ? op.key.length : op.prefix.length);
}

/** The put of one offset's value; `order` ("r") only for an offset moved from a pending key. */
function put(key: string, o: CommittedOffset, order?: number): Op {
  const value: StoredValue = { o: o.offset.toString(), e: o.leaderEpoch, m: o.metadata, t: o.commitTimestampMs };
  if (o.topicId) value.i = o.topicId;
  if (order !== undefined) value.r = order;
  return { type: 'put', key, value: encodeJson(value) };
}

function parseProducerId(segment: string, key: string): bigint {
  if (!/^-?\d+$/.test(segment)) throw new Error(`malformed pending offset key ${key}`);
  return BigInt(segment);
}
