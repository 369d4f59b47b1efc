/**
 * One cleaning pass over a partition's batches, in offset order (Kafka's LogCleaner semantics):
 *
 *  1. indexBatch: the dirty batches [firstDirty, mapEnd) put each key's latest offset in the
 *     offset map (aborted transactional data and control batches are not indexed);
 *  2. BatchCleaner.clean: every batch below mapEnd loses the records a later record of the same key
 *     supersedes, keyless records, aborted transactional data, and, once `delete.retention.ms` has
 *     passed since their offsets were first cleaned, tombstones and the commit markers of
 *     transactions with nothing left (abort markers stay, see cleanMarker). A batch keeps its offsets, timestamps and producer fields (offsets get
 *     gaps, never move); an unchanged batch is passed on as the same bytes, an empty one dropped,
 *     except the pass's last batch (ending at mapEnd - 1): it stays as an empty batch, as Kafka's
 *     cleaner writes them, so the log's end offset survives a restart that rebuilds it from objects.
 *
 * Records are decoded here only (in the cleaner's worker thread), never on the produce or fetch path.
 */
import { BATCH_HEADER_BYTES, BATCH_LENGTH_OVERHEAD, BatchField, BatchView, COMPRESSION_MASK, baseOffsetOf, controlTypeOf, lastOffsetOf, recomputeCrc } from '../protocol/record-batch.js';
import { readRecords, rebuildBatch, type RecordView } from '../protocol/records.js';
import type { OffsetMap } from './offset-map.js';

/** An aborted transaction of one producer: its data in [firstOffset, lastOffset] (the abort marker). */
export interface AbortedRange { producerId: string; firstOffset: number; lastOffset: number }

/** [end (exclusive), ms]: offsets from the previous entry's end up to `end` were first cleaned at ms. */
export type CleanedRange = [number, number];

export interface PassParams {
  /** Batches wholly below it are dropped (DeleteRecords or retention moved it; no reader may see them). */
  logStartOffset: number;
  firstDirtyOffset: number;
  /** Batches at or above this are not cleaned this pass (the offset map stopped there). */
  mapEndOffset: number;
  nowMs: number;
  deleteRetentionMs: number;
  cleanedRanges: readonly CleanedRange[];
  aborted: readonly AbortedRange[];
  /** Decompressed bytes one batch may have (a zip bomb guard). */
  batchBytesMax: number;
}

export interface CleanStats {
  batchesIn: number;
  batchesOut: number;
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
  superseded: number;
  tombstonesRemoved: number;
  keylessRemoved: number;
  abortedRemoved: number;
  markersRemoved: number;
}

export function emptyStats(): CleanStats {
  return { batchesIn: 0, batchesOut: 0, recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0, superseded: 0, tombstonesRemoved: 0, keylessRemoved: 0, abortedRemoved: 0, markersRemoved: 0 };
}

export class AbortedIndex {
  private readonly byProducer = new Map<bigint, AbortedRange[]>();

  constructor(ranges: readonly AbortedRange[]) {
    for (const r of ranges) {
      const pid = BigInt(r.producerId);
      const list = this.byProducer.get(pid) ?? [];
      list.push(r);
      this.byProducer.set(pid, list);
    }
    for (const list of this.byProducer.values()) list.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  isAborted(producerId: bigint, offset: number): boolean {
    const list = this.byProducer.get(producerId);
    if (!list) return false;
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid].lastOffset < offset) lo = mid + 1; else hi = mid;
    }
    return lo < list.length && list[lo].firstOffset <= offset;
  }
}

/** Adds the batch's keys to the map. False (the map unchanged) when they might not fit. */
export function indexBatch(map: OffsetMap, batch: Buffer, aborted: AbortedIndex, batchBytesMax: number): boolean {
  const v = new BatchView(batch);
  if (v.isControl) return true;
  const base = baseOffsetOf(batch);
  if (v.isTransactional && aborted.isAborted(v.producerId, base)) return true;
  if (!map.wouldFit(v.recordsCount)) return false;
  for (const r of readRecords(batch, { maxBytes: batchBytesMax })) if (r.key !== null) map.put(r.key, base + r.offsetDelta);
  return true;
}

export class BatchCleaner {
  readonly stats = emptyStats();
  private readonly aborted: AbortedIndex;
  /** Producer id -> whether its current transaction kept any data so far in this pass. */
  private readonly txnKept = new Map<bigint, boolean>();

  constructor(private readonly map: OffsetMap, private readonly p: PassParams) {
    this.aborted = new AbortedIndex(p.aborted);
  }

  /** The batch to keep (the same bytes when nothing changed), or null to drop it. */
  clean(batch: Buffer): Buffer | null {
    const base = baseOffsetOf(batch);
    if (base >= this.p.mapEndOffset) return batch;
    if (lastOffsetOf(batch) < this.p.logStartOffset) return null;
    const v = new BatchView(batch);
    this.stats.batchesIn++;
    this.stats.bytesIn += batch.length;
    this.stats.recordsIn += v.recordsCount;
    if (v.isControl) return this.cleanMarker(batch, v, base);
    if (v.isTransactional && this.aborted.isAborted(v.producerId, base)) {
      this.stats.abortedRemoved += v.recordsCount;
      return this.isPassEnd(batch) ? this.keptEmpty(batch) : null;
    }
    const records = readRecords(batch, { maxBytes: this.p.batchBytesMax });
    const kept: RecordView[] = [];
    for (const r of records) if (this.keep(r, base + r.offsetDelta)) kept.push(r);
    if (v.isTransactional) this.txnKept.set(v.producerId, (this.txnKept.get(v.producerId) ?? false) || kept.length > 0);
    if (kept.length === 0) return this.isPassEnd(batch) ? this.keptEmpty(batch) : null;
    const out = kept.length === records.length ? batch : rebuildBatch(batch, kept);
    this.kept(out, kept.length);
    return out;
  }

  private keep(r: RecordView, offset: number): boolean {
    if (r.key === null) { this.stats.keylessRemoved++; return false; }
    if (this.map.get(r.key) > offset) { this.stats.superseded++; return false; }
    if (r.valueIsNull && this.horizonPassed(offset)) { this.stats.tombstonesRemoved++; return false; }
    return true;
  }

  /** A commit marker goes once its transaction kept nothing and its offset is past the delete horizon. */
  private cleanMarker(batch: Buffer, v: BatchView, base: number): Buffer | null {
    const type = controlTypeOf(batch);
    if (type === 0 || type === 1) {
      const keptData = this.txnKept.get(v.producerId) ?? false;
      this.txnKept.delete(v.producerId);
      // Abort markers stay: the partition keeps telling read_committed readers of aborted
      // transactions, and such a reader skips the producer until it reads the marker.
      if (type === 1 && !keptData && this.horizonPassed(base) && !this.isPassEnd(batch)) {
        this.stats.markersRemoved++;
        return null;
      }
    }
    this.kept(batch, v.recordsCount);
    return batch;
  }

  /** Whether `offset` was cleaned before this pass, at least delete.retention.ms ago. */
  private horizonPassed(offset: number): boolean {
    if (offset >= this.p.firstDirtyOffset) return false;
    const ranges = this.p.cleanedRanges;
    let lo = 0, hi = ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ranges[mid][0] <= offset) lo = mid + 1; else hi = mid;
    }
    // No range recorded for it (not expected): keep it, as if it were cleaned just now.
    const cleanedAt = lo < ranges.length ? ranges[lo][1] : this.p.nowMs;
    return cleanedAt + this.p.deleteRetentionMs <= this.p.nowMs;
  }

  private isPassEnd(batch: Buffer): boolean { return lastOffsetOf(batch) + 1 >= this.p.mapEndOffset; }

  private keptEmpty(batch: Buffer): Buffer {
    const out = emptyBatchOf(batch);
    this.kept(out, 0);
    return out;
  }

  private kept(batch: Buffer, records: number): void {
    this.stats.batchesOut++;
    this.stats.bytesOut += batch.length;
    this.stats.recordsOut += records;
  }
}

/**
 * The batch with no records: the same offsets (base and lastOffsetDelta), timestamps, producer
 * fields and flags, uncompressed (Kafka's cleaner writes these to keep producer state; Java
 * clients and librdkafka step over them).
 */
export function emptyBatchOf(batch: Buffer): Buffer {
  const out = Buffer.from(batch.subarray(0, BATCH_HEADER_BYTES));
  out.writeInt32BE(BATCH_HEADER_BYTES - BATCH_LENGTH_OVERHEAD, BatchField.BatchLength);
  out.writeInt16BE(out.readInt16BE(BatchField.Attributes) & ~COMPRESSION_MASK, BatchField.Attributes);
  out.writeInt32BE(0, BatchField.RecordsCount);
  recomputeCrc(out);
  return out;
}

/** The cleaned ranges after a pass that cleaned up to `mapEnd` at `nowMs`, at most `maxEntries` long. */
export function nextCleanedRanges(prev: readonly CleanedRange[], firstDirty: number, mapEnd: number, nowMs: number, deleteRetentionMs: number, maxEntries = 32): CleanedRange[] {
  const out: CleanedRange[] = prev.filter(([end]) => end <= firstDirty).map(([e, t]) => [e, t]);
  if (mapEnd > (out.length ? out[out.length - 1][0] : -1)) out.push([mapEnd, nowMs]);
  // Ranges whose horizon passed behave alike: fold them into one.
  const expired = (t: number) => t + deleteRetentionMs <= nowMs;
  while (out.length >= 2 && expired(out[0][1]) && expired(out[1][1])) out.splice(0, 2, [out[1][0], Math.max(out[0][1], out[1][1])]);
  // Too many: merge the neighbours with the least time between them, keeping the later time (tombstones stay longer, never shorter).
  while (out.length > maxEntries) {
    let best = 0;
    for (let i = 1; i < out.length - 1; i++) if (out[i + 1][1] - out[i][1] < out[best + 1][1] - out[best][1]) best = i;
    out.splice(best, 2, [out[best + 1][0], Math.max(out[best][1], out[best + 1][1])]);
  }
  return out;
}
