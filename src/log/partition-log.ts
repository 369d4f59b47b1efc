/**
 * The in-memory log of one partition: offsets, batches (as raw bytes), leader-epoch history.
 *
 * Offsets are plain numbers internally (asserted below 2^53); the protocol layer uses bigint.
 * Two ends: `nextOffset` is the next offset handed out to a produce (assigned before the WAL
 * write), `highWatermark` is the end of what the WAL has made durable. Only durable batches are
 * readable. A batch whose WAL append failed leaves a hole in the offsets, which consumers skip
 * exactly as they skip offsets removed by compaction.
 */
import { assert } from './assert.js';

export interface CachedBatch {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  /** The whole batch (magic 2) as stored and served. */
  bytes: Buffer;
  /** WAL offset of the record that holds this batch (for trimming later). */
  walOffset: bigint;
}

export interface EpochStart { epoch: number; startOffset: number }

export interface ReadResult {
  batches: Buffer[];
  bytes: number;
}

export class PartitionLog {
  logStartOffset = 0;
  nextOffset = 0;
  highWatermark = 0;
  /** Newest first-seen timestamp for ListOffsets MAX_TIMESTAMP. */
  private maxTimestampSeen = -1;
  private maxTimestampOffset = -1;
  private readonly batches: CachedBatch[] = [];
  private readonly epochs: EpochStart[] = [];
  private cachedBytes = 0;

  constructor(
    readonly topicId: string,
    readonly partition: number,
    public leaderEpoch: number,
  ) {}

  /** Reserve `count` offsets for a batch about to be written; returns its base offset. */
  reserve(count: number): number {
    assert(count > 0, 'reserve: count must be positive');
    const base = this.nextOffset;
    this.nextOffset += count;
    assert(Number.isSafeInteger(this.nextOffset), 'offset past 2^53');
    return base;
  }

  /** Make a durable batch readable. Batches arrive in offset order (the WAL acknowledges in order). */
  commit(batch: CachedBatch, epoch: number): void {
    assert(batch.baseOffset >= this.highWatermark,
      `offsets must grow: batch ${batch.baseOffset} below high watermark ${this.highWatermark}`);
    assert(batch.lastOffset >= batch.baseOffset, 'batch lastOffset below baseOffset');
    const lastEpoch = this.epochs.length ? this.epochs[this.epochs.length - 1] : undefined;
    if (!lastEpoch || lastEpoch.epoch < epoch) this.epochs.push({ epoch, startOffset: batch.baseOffset });
    else assert(lastEpoch.epoch === epoch, `leader epoch went backwards: ${epoch} < ${lastEpoch.epoch}`);
    this.batches.push(batch);
    this.cachedBytes += batch.bytes.length;
    this.highWatermark = batch.lastOffset + 1;
    if (this.nextOffset < this.highWatermark) this.nextOffset = this.highWatermark;
    if (batch.maxTimestamp > this.maxTimestampSeen) {
      this.maxTimestampSeen = batch.maxTimestamp;
      this.maxTimestampOffset = batch.lastOffset;
    }
  }

  get sizeBytes(): number { return this.cachedBytes; }
  get batchCount(): number { return this.batches.length; }

  /** Index of the first batch whose lastOffset >= offset, or batches.length. */
  private findBatch(offset: number): number {
    let lo = 0, hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.batches[mid].lastOffset < offset) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /**
   * Batches from `offset` up to `maxBytes` (at least one whole batch when `minOneBatch`, as Kafka
   * does so a consumer can always make progress), never past `upTo` (the high watermark).
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean): ReadResult {
    const out: Buffer[] = [];
    let bytes = 0;
    for (let i = this.findBatch(Math.max(offset, this.logStartOffset)); i < this.batches.length; i++) {
      const b = this.batches[i];
      if (b.baseOffset >= this.highWatermark) break;
      if (bytes + b.bytes.length > maxBytes && !(minOneBatch && out.length === 0)) break;
      out.push(b.bytes);
      bytes += b.bytes.length;
      if (bytes >= maxBytes) break;
    }
    return { batches: out, bytes };
  }

  /** Bytes available at or after `offset` (for a fetch's min_bytes), counting at most `cap`. */
  bytesAvailable(offset: number, cap: number): number {
    let n = 0;
    for (let i = this.findBatch(offset); i < this.batches.length && n < cap; i++) n += this.batches[i].bytes.length;
    return n;
  }

  /** Readable batches from the one holding `offset` on. */
  *batchesFrom(offset: number): Generator<CachedBatch> {
    for (let i = this.findBatch(Math.max(offset, this.logStartOffset)); i < this.batches.length; i++) {
      if (this.batches[i].baseOffset >= this.highWatermark) return;
      yield this.batches[i];
    }
  }

  maxTimestamp(): { offset: number; timestamp: number } | null {
    return this.maxTimestampOffset < 0 ? null : { offset: this.maxTimestampOffset, timestamp: this.maxTimestampSeen };
  }

  /** Move the log start forward (DeleteRecords, retention) and drop batches wholly below it. */
  advanceLogStart(offset: number): void {
    assert(offset <= this.highWatermark, 'log start beyond high watermark');
    if (offset <= this.logStartOffset) return;
    this.logStartOffset = offset;
    let drop = 0;
    while (drop < this.batches.length && this.batches[drop].lastOffset < offset) {
      this.cachedBytes -= this.batches[drop].bytes.length;
      drop++;
    }
    if (drop) this.batches.splice(0, drop);
  }

  /** OffsetForLeaderEpoch: end offset of `epoch` (start of the next larger epoch, or the HW). */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    if (this.epochs.length === 0) return { epoch: this.leaderEpoch, endOffset: this.highWatermark };
    let found = -1;
    for (let i = 0; i < this.epochs.length; i++) if (this.epochs[i].epoch <= epoch) found = i;
    if (found < 0) return { epoch: -1, endOffset: -1 };
    const next = this.epochs[found + 1];
    if (next) return { epoch: this.epochs[found].epoch, endOffset: next.startOffset };
    // The requested epoch is at or after the latest one we have: the current leader epoch's end is the HW.
    return { epoch: epoch >= this.leaderEpoch ? this.leaderEpoch : this.epochs[found].epoch, endOffset: this.highWatermark };
  }

  /** Oldest WAL offset still needed by this partition's cached batches (for trimming), or null. */
  oldestWalOffset(): bigint | null {
    return this.batches.length ? this.batches[0].walOffset : null;
  }
}
