/**
 * The broker's in-memory copy of committed object metadata, and the per-partition block lists
 * derived from it. Loaded once at start; the uploader and compactor update it right after
 * each of their commits, so reads find new blocks as soon as they are committed.
 */
import type { ObjectRecord, ObjectBlock } from '../cluster/object-registry.js';
import type { LogManager } from '../log/log-manager.js';
import type { ObjectBlockRef } from '../log/partition-log.js';

export function blockRef(o: ObjectRecord, b: ObjectBlock): ObjectBlockRef {
  return { objectId: o.id, objectKey: o.key, objectSize: o.size, baseOffset: b.baseOffset, endOffset: b.endOffset, maxTimestamp: b.maxTimestamp, position: b.position, size: b.size };
}

/** One partition's blocks in committed object records (a leader or a takeover rebuilding it). */
export function partitionBlocks(records: readonly ObjectRecord[], topicId: string, partition: number): ObjectBlockRef[] {
  const out: ObjectBlockRef[] = [];
  for (const o of records) for (const b of o.blocks) if (b.topicId === topicId && b.partition === partition) out.push(blockRef(o, b));
  return out;
}

export class ObjectIndex {
  private readonly objects = new Map<string, ObjectRecord>();

  constructor(private readonly logs: LogManager) {}

  get size(): number { return this.objects.size; }
  all(): IterableIterator<ObjectRecord> { return this.objects.values(); }
  has(id: string): boolean { return this.objects.has(id); }
  get(id: string): ObjectRecord | undefined { return this.objects.get(id); }

  /** Load committed objects and hand each partition its blocks (partitions must exist already). */
  load(records: ObjectRecord[]): void {
    const byPartition = new Map<string, ObjectBlockRef[]>();
    for (const o of records) {
      this.objects.set(o.id, o);
      for (const b of o.blocks) {
        const key = `${b.topicId}:${b.partition}`;
        let list = byPartition.get(key);
        if (!list) { list = []; byPartition.set(key, list); }
        list.push(blockRef(o, b));
      }
    }
    for (const [key, refs] of byPartition) {
      const sep = key.lastIndexOf(':');
      const st = this.logs.get(key.slice(0, sep), Number(key.slice(sep + 1)));
      // Blocks of deleted topics stay in the index until retention removes their objects.
      if (st) st.log.addObjectBlocks(refs);
    }
  }

  /** After a commit that added objects whose blocks the caller already handed to the partitions. */
  added(records: readonly ObjectRecord[]): void {
    for (const o of records) this.objects.set(o.id, o);
  }

  /** After a commit that swapped objects (compaction): partitions drop the old blocks, take the new. */
  swapped(removed: readonly ObjectRecord[], added: readonly ObjectRecord[]): void {
    const removedIds = new Set(removed.map((o) => o.id));
    const touched = new Map<string, ObjectBlockRef[]>();
    for (const o of removed) {
      this.objects.delete(o.id);
      for (const b of o.blocks) if (!touched.has(`${b.topicId}:${b.partition}`)) touched.set(`${b.topicId}:${b.partition}`, []);
    }
    for (const o of added) {
      this.objects.set(o.id, o);
      for (const b of o.blocks) {
        const key = `${b.topicId}:${b.partition}`;
        const list = touched.get(key) ?? [];
        list.push(blockRef(o, b));
        touched.set(key, list);
      }
    }
    for (const [key, refs] of touched) {
      const sep = key.lastIndexOf(':');
      this.logs.get(key.slice(0, sep), Number(key.slice(sep + 1)))?.log.replaceObjectBlocks(removedIds, refs);
    }
  }

  /** After retention removed objects no partition needs any more. */
  removed(records: readonly ObjectRecord[]): void {
    for (const o of records) this.objects.delete(o.id);
  }
}
