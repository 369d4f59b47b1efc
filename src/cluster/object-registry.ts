// Object metadata (DESIGN §4–5): which objects exist in the object store and which offsets of
// which partitions each one holds. An object is readable only once its record is committed here;
// an object in the store with no record is garbage (an upload that never committed) and is
// deleted after a grace period, as are objects whose records were removed (compaction, retention).
//
//   objects/<id>           compact JSON: {"k": key, "s": size, "t": kind, "c": createdMs,
//                          "tp": [topicId...], "b": [[topicIndex, partition, base, end, count, maxTimestamp, pos, size]...],
//                          "x": [[end, cleanedAtMs]...] (compacted objects only: when each offset range was first cleaned)}
//                          kind: "m" stream-set (many partitions, one upload), "s" stream (one partition),
//                          "c" compacted (one partition, written by the log cleaner)
//   dead-objects/<id>      {"k": key, "d": deadSinceMs}   unreferenced, deleted from the store after the grace period
//   producers/<topicId>/<p>  idempotent-producer snapshot of the uploaded data, written with each upload commit
//
// Every change is one transaction. Commits of new data are guarded by the modRevision of each
// touched partition's record (partitions/<topicId>/<p>): a leader that was fenced (its partition
// record changed) cannot commit. etcd allows 128 compares per transaction, so one commit covers
// at most PARTITIONS_PER_COMMIT_MAX partitions; the uploader splits larger uploads.
//
// API: new ObjectRegistry(store, keys)
//   list() -> ObjectRecord[];  partitionRevision(topicId, p) -> number (0: no record)
//   commit({ add, remove, guards }) -> boolean (false: a guard failed)
//   listDead() -> DeadObject[];  forgetDead(ids)
import { decodeJson, encodeJson, ETCD_LIMITS, type Compare, type MetadataStore, type Op } from './metadata-store.js';
import type { MetadataKeys } from './metadata-keys.js';
import type { IndexEntry } from '../objects/object-format.js';

export type ObjectKind = 'stream-set' | 'stream' | 'compacted';

/** A block of one partition in an object: the object index's entry (see object-format.ts). */
export type ObjectBlock = IndexEntry;

export interface ObjectRecord {
  id: string;
  key: string;
  size: number;
  kind: ObjectKind;
  createdMs: number;
  blocks: ObjectBlock[];
  /**
   * Compacted objects: [end (exclusive), ms] in offset order, each range (from the previous end)
   * first cleaned at ms. The last end is where the pass that wrote the object stopped: the
   * partition's first dirty offset. Kept in the object record so it moves in the same
   * transaction as the swap; the times let tombstones stay delete.retention.ms after their first cleaning.
   */
  cleanedRanges?: [number, number][];
}

export interface PartitionGuard { topicId: string; partition: number; modRevision: number }

export interface DeadObject { id: string; key: string; deadSinceMs: number }

/** Compares left for partition guards in one transaction (one is kept for other guards). */
export const PARTITIONS_PER_COMMIT_MAX = ETCD_LIMITS.txnOpsMax - 1;

interface StoredObject { k: string; s: number; t: 's' | 'm' | 'c'; c: number; tp: string[]; b: [number, number, number, number, number, number, number, number][]; x?: [number, number][] }

const KIND_CODE: Record<ObjectKind, StoredObject['t']> = { 'stream-set': 'm', stream: 's', compacted: 'c' };
const KIND_OF: Record<StoredObject['t'], ObjectKind> = { m: 'stream-set', s: 'stream', c: 'compacted' };

export function encodeObjectRecord(o: ObjectRecord): Buffer {
  const topics: string[] = [];
  const index = new Map<string, number>();
  const b = o.blocks.map((x): StoredObject['b'][number] => {
    let i = index.get(x.topicId);
    if (i === undefined) { i = topics.length; topics.push(x.topicId); index.set(x.topicId, i); }
    return [i, x.partition, x.baseOffset, x.endOffset, x.recordCount, x.maxTimestamp, x.position, x.size];
  });
  const stored: StoredObject = { k: o.key, s: o.size, t: KIND_CODE[o.kind], c: o.createdMs, tp: topics, b };
  if (o.cleanedRanges !== undefined) stored.x = o.cleanedRanges;
  return encodeJson(stored);
}

export function decodeObjectRecord(id: string, value: Buffer, what: string): ObjectRecord {
  const s = decodeJson<StoredObject>(value, what);
  const kind = KIND_OF[s.t];
  if (!kind) throw new Error(`${what}: unknown object kind ${JSON.stringify(s.t)}`);
  return {
    id, key: s.k, size: s.s, kind, createdMs: s.c, ...(s.x !== undefined ? { cleanedRanges: s.x } : {}),
    blocks: s.b.map(([ti, partition, baseOffset, endOffset, recordCount, maxTimestamp, position, size]) => ({
      topicId: s.tp[ti], partition, baseOffset, endOffset, recordCount, maxTimestamp, position, size,
    })),
  };
}

export class ObjectRegistry {
  private readonly objectsPrefix: string;
  private readonly deadPrefix: string;

  constructor(private readonly store: MetadataStore, private readonly keys: MetadataKeys, private readonly now: () => number = Date.now) {
    this.objectsPrefix = `${keys.root}objects/`;
    this.deadPrefix = `${keys.root}dead-objects/`;
  }

  async list(): Promise<ObjectRecord[]> {
    const kvs = await this.store.list(this.objectsPrefix);
    return kvs.map((kv) => decodeObjectRecord(kv.key.slice(this.objectsPrefix.length), kv.value, kv.key));
  }

  async partitionRevision(topicId: string, partition: number): Promise<number> {
    const kv = await this.store.get(this.keys.partition(topicId, partition));
    return kv ? kv.modRevision : 0;
  }

  /**
   * Atomically: add object records, move removed ones to dead-objects. `guards` must all still
   * hold. Returns false when a guard failed (nothing changed).
   */
  async commit(change: { add: ObjectRecord[]; remove?: ObjectRecord[]; guards: PartitionGuard[]; producerSnapshots?: { topicId: string; partition: number; value: Buffer }[]; compares?: Compare[] }): Promise<boolean> {
    if (change.guards.length > PARTITIONS_PER_COMMIT_MAX) throw new RangeError(`${change.guards.length} partition guards exceed ${PARTITIONS_PER_COMMIT_MAX} per commit`);
    const compares: Compare[] = change.guards.map((g) => ({ key: this.keys.partition(g.topicId, g.partition), target: 'modRevision', op: '==', value: g.modRevision }));
    // E.g. the WAL volume's owner record: a broker whose volume was taken over commits nothing.
    compares.push(...(change.compares ?? []));
    const ops: Op[] = [];
    for (const o of change.add) ops.push({ type: 'put', key: this.objectsPrefix + o.id, value: encodeObjectRecord(o) });
    for (const p of change.producerSnapshots ?? []) ops.push({ type: 'put', key: this.producersKey(p.topicId, p.partition), value: p.value });
    const deadSince = this.now();
    for (const o of change.remove ?? []) {
      // Removing must not race with another remover: the record must still be there.
      compares.push({ key: this.objectsPrefix + o.id, target: 'createRevision', op: '>', value: 0 });
      ops.push({ type: 'delete', key: this.objectsPrefix + o.id });
      ops.push({ type: 'put', key: this.deadPrefix + o.id, value: encodeJson({ k: o.key, d: deadSince }) });
    }
    const r = await this.store.txn(compares, ops);
    return r.succeeded;
  }

  producersKey(topicId: string, partition: number): string { return `${this.keys.root}producers/${topicId}/${partition}`; }

  /** Producer-state snapshots of a topic's partitions (written with uploads). */
  async producerSnapshots(topicId: string): Promise<Map<number, Buffer>> {
    const prefix = `${this.keys.root}producers/${topicId}/`;
    const out = new Map<number, Buffer>();
    for (const kv of await this.store.list(prefix)) out.set(Number(kv.key.slice(prefix.length)), kv.value);
    return out;
  }

  async listDead(): Promise<DeadObject[]> {
    const kvs = await this.store.list(this.deadPrefix);
    return kvs.map((kv) => {
      const v = decodeJson<{ k: string; d: number }>(kv.value, kv.key);
      return { id: kv.key.slice(this.deadPrefix.length), key: v.k, deadSinceMs: v.d };
    });
  }

  async forgetDead(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += ETCD_LIMITS.txnOpsMax) {
      await this.store.txn([], ids.slice(i, i + ETCD_LIMITS.txnOpsMax).map((id) => ({ type: 'delete' as const, key: this.deadPrefix + id })));
    }
  }
}
