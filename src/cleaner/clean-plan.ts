/**
 * Which part of a compacted partition one cleaning pass takes (Kafka's cleanable range, mapped
 * onto objects):
 *  - the clean section: the partition's compacted objects, from the log start up to its first
 *    dirty offset (the largest cleaned end recorded in them);
 *  - the dirty section: the blocks of the stream objects after it, in offset order, as long as
 *    each is below the last stable offset, older than `min.compaction.lag.ms`, and no longer in
 *    the active head (it may end inside an object). Ferry's head is the WAL tail not yet uploaded plus uploaded data that would
 *    still be in Kafka's active segment: newer than `segment.ms` with less than `segment.bytes`
 *    after it. Stream-set objects (many partitions) end the section until compaction splits them.
 * A pass runs when dirty / (clean + dirty) reaches `min.cleanable.dirty.ratio`, or when the
 * oldest dirty data is older than `max.compaction.lag.ms`.
 */
import type { ObjectBlock, ObjectRecord } from '../cluster/object-registry.js';
import type { CleanedRange } from './batch-cleaner.js';
import type { TopicCompaction } from '../topics/topic-service.js';

/** The topic's settings a plan reads (tombstones' delete.retention.ms is the filter's). */
export type CompactionSettings = Omit<TopicCompaction, 'deleteRetentionMs'>;

export interface PartitionView {
  topicId: string;
  partition: number;
  logStartOffset: number;
  /** min(uploaded end, last stable offset). */
  stableUploadedEnd: number;
  /** Bytes of the WAL tail not yet uploaded. */
  headBytes: number;
}

export interface PlacedObject { object: ObjectRecord; block: ObjectBlock }

export interface CleanPlan {
  topicId: string;
  partition: number;
  firstDirtyOffset: number;
  /** End of the dirty section (exclusive): a batch boundary, perhaps inside the last dirty object. */
  cleanableEndOffset: number;
  cleanBytes: number;
  dirtyBytes: number;
  /** dirty / (clean + dirty), 0 when both are 0. */
  dirtyRatio: number;
  /** Whether a pass is due (ratio reached or max lag passed) and there is dirty data to take. */
  due: boolean;
  clean: PlacedObject[];
  dirty: PlacedObject[];
  cleanedRanges: CleanedRange[];
}

/** The partition's blocks in objects, one per object (stream and compacted objects hold one partition), in offset order. */
export function placedObjects(objects: Iterable<ObjectRecord>, topicId: string, partition: number, logStartOffset: number): PlacedObject[] {
  const out: PlacedObject[] = [];
  for (const o of objects) {
    let first: ObjectBlock | null = null, last: ObjectBlock | null = null, size = 0;
    for (const b of o.blocks) {
      if (b.topicId !== topicId || b.partition !== partition) continue;
      if (!first || b.baseOffset < first.baseOffset) first = b;
      if (!last || b.endOffset > last.endOffset) last = b;
      size += b.size;
    }
    if (!first || !last || last.endOffset <= logStartOffset) continue;
    // One synthetic block spanning the object's blocks of this partition.
    out.push({ object: o, block: { ...first, endOffset: last.endOffset, size, maxTimestamp: maxTimestampOf(o, topicId, partition) } });
  }
  return out.sort((a, b) => a.block.baseOffset - b.block.baseOffset);
}

function maxTimestampOf(o: ObjectRecord, topicId: string, partition: number): number {
  let t = -1;
  for (const b of o.blocks) if (b.topicId === topicId && b.partition === partition && b.maxTimestamp > t) t = b.maxTimestamp;
  return t;
}

export function planPass(view: PartitionView, placed: readonly PlacedObject[], s: CompactionSettings, nowMs: number): CleanPlan {
  const clean: PlacedObject[] = [];
  let firstDirty = view.logStartOffset;
  let ranges: CleanedRange[] = [];
  for (const p of placed) {
    if (p.object.kind !== 'compacted') continue;
    clean.push(p);
    const recorded = p.object.cleanedRanges;
    const end = recorded && recorded.length ? recorded[recorded.length - 1][0] : p.block.endOffset;
    if (end > firstDirty) { firstDirty = end; ranges = decodeRanges(p.object); }
  }
  // Anything else below the first dirty offset (not expected) is cleaned with the clean section.
  for (const p of placed) if (p.object.kind !== 'compacted' && p.block.baseOffset < firstDirty) clean.push(p);
  clean.sort((a, b) => a.block.baseOffset - b.block.baseOffset);

  const candidates = placed.filter((p) => p.object.kind !== 'compacted' && p.block.baseOffset >= firstDirty);
  // The dirty section goes block by block (blocks hold whole batches), so it may end inside an
  // object: the pass then rewrites the rest of that object as it is.
  const dirty: PlacedObject[] = [];
  let cleanableEnd = firstDirty, dirtyBytes = 0, after = view.headBytes;
  const blocksOf = (p: PlacedObject) => p.object.blocks.filter((b) => b.topicId === view.topicId && b.partition === view.partition).sort((a, b) => a.baseOffset - b.baseOffset);
  for (const p of candidates) for (const b of blocksOf(p)) after += b.size;
  scan: for (const p of candidates) {
    if (p.object.kind !== 'stream') break;
    let took = 0;
    const blocks = blocksOf(p);
    for (const b of blocks) {
      after -= b.size;
      if (b.baseOffset >= view.stableUploadedEnd) break;
      if (b.maxTimestamp > nowMs - s.minCompactionLagMs) break;
      const rolled = b.maxTimestamp <= nowMs - s.segmentMs || after >= s.segmentBytes;
      if (!rolled) break;
      took++;
      dirtyBytes += b.size;
      cleanableEnd = Math.min(b.endOffset, view.stableUploadedEnd);
    }
    if (took > 0) dirty.push(p);
    if (took < blocks.length || cleanableEnd < p.block.endOffset) break scan;
  }
  const cleanBytes = clean.reduce((n, p) => n + p.block.size, 0);
  const dirtyRatio = cleanBytes + dirtyBytes === 0 ? 0 : dirtyBytes / (cleanBytes + dirtyBytes);
  const overdue = dirty.length > 0 && dirty[0].block.maxTimestamp <= nowMs - s.maxCompactionLagMs;
  return {
    topicId: view.topicId, partition: view.partition,
    firstDirtyOffset: firstDirty,
    cleanableEndOffset: cleanableEnd,
    cleanBytes, dirtyBytes, dirtyRatio,
    due: dirty.length > 0 && (dirtyRatio >= s.minCleanableDirtyRatio || overdue),
    clean, dirty, cleanedRanges: ranges,
  };
}

function decodeRanges(o: ObjectRecord): CleanedRange[] {
  return (o.cleanedRanges ?? []).map(([e, t]) => [e, t]);
}
