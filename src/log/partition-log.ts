/**
 * The in-memory log of one partition: offsets, batches (as raw bytes), leader-epoch history.
 *
 * Offsets are plain numbers internally (asserted below 2^53); the protocol layer uses bigint.
 * Two ends: `nextOffset` is the next offset handed out to a produce (assigned when the WAL admits
 * the write, after which it becomes durable or the process stops), `highWatermark` is the end of
 * what the WAL has made durable. Only durable batches are readable. Offsets are dense: every
 * committed batch starts right after the one before it.
 */
import { assert } from '../common/assert.js';

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

/** Where a run of this partition's batches lives in the object store. */
export interface ObjectBlockRef {
  objectId: string;
  objectKey: string;
  objectSize: number;
  baseOffset: number;
  /** Exclusive. */
  endOffset: number;
  maxTimestamp: number;
  position: number;
  size: number;
}

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
  /** End (exclusive) of what is committed to the object store. */
  uploadedEndOffset = 0;
  /** Object blocks sorted by baseOffset, non-overlapping, covering [.., uploadedEndOffset). */
  private blocks: ObjectBlockRef[] = [];

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
    // Gaps are only possible in WALs written before offsets were reserved at admission (recovery).
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

  /** First offset the log cache can serve; below it reads go to the object store. */
  get cacheStartOffset(): number {
    return this.batches.length ? this.batches[0].baseOffset : this.highWatermark;
  }

  /** Durable batches not yet in the object store (in offset order). */
  pendingUpload(): CachedBatch[] {
    const out: CachedBatch[] = [];
    for (let i = this.findBatch(this.uploadedEndOffset); i < this.batches.length; i++) {
      const b = this.batches[i];
      if (b.baseOffset >= this.highWatermark) break;
      if (b.baseOffset >= this.uploadedEndOffset) out.push(b);
    }
    return out;
  }

  /** WAL offset of the first batch not yet uploaded, or null when everything is uploaded. */
  firstPendingWalOffset(): bigint | null {
    const i = this.findBatch(this.uploadedEndOffset);
    for (let j = i; j < this.batches.length; j++) {
      if (this.batches[j].baseOffset >= this.uploadedEndOffset) return this.batches[j].walOffset;
    }
    return null;
  }

  /** Record blocks that were just committed to the object store. */
  addObjectBlocks(refs: ObjectBlockRef[]): void {
    for (const r of refs) {
      assert(r.endOffset > r.baseOffset, 'empty object block');
      this.blocks.push(r);
      if (r.endOffset > this.uploadedEndOffset) this.uploadedEndOffset = r.endOffset;
    }
    this.blocks.sort((a, b) => a.baseOffset - b.baseOffset);
    this.assertBlocksDisjoint();
    if (this.highWatermark < this.uploadedEndOffset) this.highWatermark = this.uploadedEndOffset;
    if (this.nextOffset < this.highWatermark) this.nextOffset = this.highWatermark;
  }

  /** Swap blocks (compaction): drop those of `removedObjectIds`, add `added`. */
  replaceObjectBlocks(removedObjectIds: ReadonlySet<string>, added: ObjectBlockRef[]): void {
    this.blocks = this.blocks.filter((b) => !removedObjectIds.has(b.objectId)).concat(added).sort((a, b) => a.baseOffset - b.baseOffset);
    this.assertBlocksDisjoint();
  }

  /** Object blocks never overlap: a read walks them in order and must not skip another object's data. */
  private assertBlocksDisjoint(): void {
    for (let i = 1; i < this.blocks.length; i++) {
      assert(this.blocks[i].baseOffset >= this.blocks[i - 1].endOffset,
        `object blocks overlap in ${this.topicId}/${this.partition}: [${this.blocks[i - 1].baseOffset}, ${this.blocks[i - 1].endOffset}) of ${this.blocks[i - 1].objectId} and [${this.blocks[i].baseOffset}, ${this.blocks[i].endOffset}) of ${this.blocks[i].objectId}`);
    }
  }

  objectBlocks(): readonly ObjectBlockRef[] { return this.blocks; }

  /** Drop cached batches already in the object store, oldest first, until `bytesToFree` are freed. */
  evictUploaded(bytesToFree: number): number {
    let freed = 0, drop = 0;
    while (drop < this.batches.length && freed < bytesToFree && this.batches[drop].lastOffset < this.uploadedEndOffset) {
      freed += this.batches[drop].bytes.length;
      drop++;
    }
    if (drop) {
      this.batches.splice(0, drop);
      this.cachedBytes -= freed;
    }
    return freed;
  }

  /**
   * Drop cached batches wholly below `offset` (all uploaded): after the log cleaner rewrote that
   * range in objects, reads must come from there, not from the uncleaned copies here.
   */
  dropCachedBelow(offset: number): number {
    assert(offset <= this.uploadedEndOffset, `dropCachedBelow(${offset}) past the uploaded end ${this.uploadedEndOffset}`);
    let freed = 0, drop = 0;
    while (drop < this.batches.length && this.batches[drop].lastOffset < offset) freed += this.batches[drop++].bytes.length;
    if (drop) {
      this.batches.splice(0, drop);
      this.cachedBytes -= freed;
    }
    return freed;
  }

  /** Bytes kept for this partition: object blocks at or above the log start plus un-uploaded cache. */
  retainedBytes(): number {
    let n = 0;
    for (const b of this.blocks) if (b.endOffset > this.logStartOffset) n += b.size;
    for (const b of this.batches) if (b.baseOffset >= this.uploadedEndOffset) n += b.bytes.length;
    return n;
  }

  /** Object ids none of whose blocks this partition still needs (all below the log start). */
  objectsBelowLogStart(): Set<string> {
    const below = new Set<string>();
    const needed = new Set<string>();
    for (const b of this.blocks) (b.endOffset <= this.logStartOffset ? below : needed).add(b.objectId);
    for (const id of needed) below.delete(id);
    return below;
  }
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
  read(offset: number, maxBytes: number, minOneBatch: boolean, upTo = this.highWatermark): ReadResult {
    const out: Buffer[] = [];
    let bytes = 0;
    const end = Math.min(upTo, this.highWatermark);
    for (let i = this.findBatch(Math.max(offset, this.logStartOffset)); i < this.batches.length; i++) {
      const b = this.batches[i];
      if (b.baseOffset >= end) break;
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

  /** Forget object blocks wholly below the log start (their objects are being deleted). */
  dropBlocksBelowLogStart(): void {
    this.blocks = this.blocks.filter((b) => b.endOffset > this.logStartOffset);
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
