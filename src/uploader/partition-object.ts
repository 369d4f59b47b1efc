/**
 * Writes one object of one partition's batches (compaction's stream objects, the log cleaner's
 * compacted ones) and returns its metadata record, not yet committed: PUT create-only under a
 * fresh id, after the caller's rate limit.
 */
import type { ObjectStore } from '../objects/object-store.js';
import { encodeObject, newObjectId, objectKey } from '../objects/object-format.js';
import { baseOffsetOf, lastOffsetOf } from '../protocol/record-batch.js';
import type { ObjectKind, ObjectRecord } from '../cluster/object-registry.js';

export interface PartitionObjectOptions {
  clusterName: string;
  kind: ObjectKind;
  createdMs: number;
  /** Waits for the rate limit before the PUT of `bytes`. */
  throttle: (bytes: number) => Promise<void>;
  cleanedRanges?: [number, number][];
}

export async function putPartitionObject(store: ObjectStore, topicId: string, partition: number, batches: readonly Buffer[], o: PartitionObjectOptions): Promise<ObjectRecord> {
  const id = newObjectId();
  const key = objectKey(o.clusterName, id);
  const inputs = batches.map((bytes) => {
    const baseOffset = baseOffsetOf(bytes), lastOffset = lastOffsetOf(bytes);
    return { baseOffset, lastOffset, recordCount: lastOffset - baseOffset + 1, bytes };
  });
  const encoded = encodeObject([{ topicId, partition, batches: inputs }]);
  await o.throttle(encoded.size);
  await store.put(key, encoded.chunks, { ifNoneMatch: true });
  return {
    id, key, size: encoded.size, kind: o.kind, createdMs: o.createdMs, blocks: encoded.index.map((e) => ({ ...e })),
    ...(o.cleanedRanges ? { cleanedRanges: o.cleanedRanges } : {}),
  };
}
