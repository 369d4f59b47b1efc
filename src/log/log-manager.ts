/**
 * All partition logs of this broker, and the produce append path through the WAL:
 * reserve offsets -> stamp batches -> one WAL entry per partition -> (fsync) -> commit to cache.
 *
 * Offsets are reserved synchronously when the append is issued, so appends on one partition
 * keep the order in which they were issued even when several requests are in flight; the WAL
 * acknowledges in order, so commits arrive in offset order too.
 */
import { assert } from './assert.js';
import { PartitionLog, type CachedBatch } from './partition-log.js';
import { ProducerStateTable } from './producer-state.js';
import { DataNotifier, partitionKey } from './data-notifier.js';
import { encodeBatchesEntry, decodeBatchesEntry, WAL_TYPE_BATCHES } from './wal-entry.js';

/** The part of the WAL the log needs (the real one is @ferry/wal). */
export interface WalAppender {
  append(body: Buffer, type?: number): Promise<bigint>;
}

export interface RecoveredRecord { offset: bigint; type: number; body: Buffer }

/** What the append path needs to know about each batch (from the protocol's batch view). */
export interface BatchToAppend {
  bytes: Buffer;
  recordsCount: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
}

export interface BatchStamper {
  setBaseOffset(batch: Buffer, offset: bigint): void;
  setPartitionLeaderEpoch(batch: Buffer, epoch: number): void;
  setMaxTimestampAndCrc(batch: Buffer, timestamp: bigint): void;
  readBaseOffset(batch: Buffer): number;
  readLastOffsetDelta(batch: Buffer): number;
  readMaxTimestamp(batch: Buffer): number;
  readProducer(batch: Buffer): { producerId: bigint; producerEpoch: number; baseSequence: number };
}

export interface PartitionState {
  log: PartitionLog;
  producers: ProducerStateTable;
  /** WAL appends issued for this partition and not yet settled. */
  inFlight: Set<Promise<void>>;
}

export interface AppendOutcome {
  baseOffset: number;
  lastOffset: number;
  /** Resolves once durable and readable. */
  done: Promise<void>;
}

export class LogManager {
  private readonly partitions = new Map<string, PartitionState>();
  readonly notifier = new DataNotifier();
  /** WAL appends issued and not yet committed (their WAL offsets are not known yet). */
  private appendsInFlight = 0;
  /** Bytes committed and not yet uploaded, across partitions (drives early uploads). */
  private pendingBytes = 0;
  /** Called after each commit with the bytes pending upload. */
  onPendingBytes: ((bytes: number) => void) | null = null;

  constructor(private readonly wal: WalAppender, private readonly stamper: BatchStamper) {}

  get(topicId: string, partition: number): PartitionState | undefined {
    return this.partitions.get(partitionKey(topicId, partition));
  }

  /** Create the partition's state if missing (topic creation, recovery, leadership). */
  ensure(topicId: string, partition: number, leaderEpoch: number): PartitionState {
    const key = partitionKey(topicId, partition);
    let st = this.partitions.get(key);
    if (!st) {
      st = { log: new PartitionLog(topicId, partition, leaderEpoch), producers: new ProducerStateTable(), inFlight: new Set() };
      this.partitions.set(key, st);
    } else {
      assert(leaderEpoch >= st.log.leaderEpoch, `leader epoch went backwards for ${key}`);
      st.log.leaderEpoch = leaderEpoch;
    }
    return st;
  }

  /** Drop one partition's state (leadership moved away); parked fetches wake and see it gone. */
  removePartition(topicId: string, partition: number): void {
    const key = partitionKey(topicId, partition);
    if (this.partitions.delete(key)) this.notifier.notify(key);
  }

  /** Resolves when every append issued so far for the partition has settled. */
  async settled(st: PartitionState): Promise<void> {
    await Promise.allSettled([...st.inFlight]);
  }

  removeTopic(topicId: string): void {
    for (const [key, st] of this.partitions) {
      if (st.log.topicId === topicId) {
        this.partitions.delete(key);
        this.notifier.notify(key);
      }
    }
  }

  all(): IterableIterator<PartitionState> { return this.partitions.values(); }

  /**
   * Append already-validated batches. `logAppendTime` (ms) rewrites maxTimestamp for
   * LogAppendTime topics. Must be called synchronously in request order.
   */
  append(st: PartitionState, batches: BatchToAppend[], logAppendTime: number | null): AppendOutcome {
    const log = st.log;
    const epoch = log.leaderEpoch;
    const { body, copies } = encodeBatchesEntry(log.topicId, log.partition, epoch, batches.map((b) => b.bytes));
    const cached: CachedBatch[] = [];
    let first = -1;
    for (let i = 0; i < copies.length; i++) {
      const b = batches[i];
      const base = log.reserve(b.recordsCount);
      if (first < 0) first = base;
      this.stamper.setBaseOffset(copies[i], BigInt(base));
      this.stamper.setPartitionLeaderEpoch(copies[i], epoch);
      let maxTimestamp = b.maxTimestamp;
      if (logAppendTime !== null) {
        this.stamper.setMaxTimestampAndCrc(copies[i], BigInt(logAppendTime));
        maxTimestamp = logAppendTime;
      }
      cached.push({ baseOffset: base, lastOffset: base + b.recordsCount - 1, maxTimestamp, bytes: copies[i], walOffset: -1n });
    }
    const last = cached[cached.length - 1].lastOffset;
    this.appendsInFlight++;
    const done = this.wal.append(body, WAL_TYPE_BATCHES).then((walOffset) => {
      this.appendsInFlight--;
      // A topic deleted while the write was in flight: nothing left to commit into.
      if (this.partitions.get(partitionKey(log.topicId, log.partition)) !== st) return;
      for (const c of cached) {
        c.walOffset = walOffset;
        log.commit(c, epoch);
        this.pendingBytes += c.bytes.length;
      }
      this.notifier.notify(partitionKey(log.topicId, log.partition));
      this.onPendingBytes?.(this.pendingBytes);
    }, (err) => {
      this.appendsInFlight--;
      throw err;
    });
    st.inFlight.add(done);
    done.then(() => st.inFlight.delete(done), () => st.inFlight.delete(done));
    return { baseOffset: first, lastOffset: last, done };
  }

  /** Bytes committed to the cache and not yet uploaded (recomputed after each upload). */
  get bytesPendingUpload(): number { return this.pendingBytes; }

  /** After an upload committed: recount what is still pending. */
  recountPending(): void {
    let n = 0;
    for (const st of this.partitions.values()) for (const b of st.log.pendingUpload()) n += b.bytes.length;
    this.pendingBytes = n;
  }

  /**
   * Where the WAL may be trimmed to: the record of the oldest batch not yet uploaded; when
   * everything is uploaded and no append is in flight, the WAL's end. Null: nothing to trim yet.
   */
  walTrimTarget(walNextOffset: bigint): bigint | null {
    let min: bigint | null = null;
    for (const st of this.partitions.values()) {
      const w = st.log.firstPendingWalOffset();
      if (w !== null && w >= 0n && (min === null || w < min)) min = w;
    }
    if (min !== null) return min;
    return this.appendsInFlight === 0 ? walNextOffset : null;
  }

  /** Keep the log cache under `maxBytes` by dropping batches already in the object store, largest partitions first. */
  evictCache(maxBytes: number): number {
    let total = 0;
    for (const st of this.partitions.values()) total += st.log.sizeBytes;
    if (total <= maxBytes) return 0;
    let freed = 0;
    const bySize = [...this.partitions.values()].sort((a, b) => b.log.sizeBytes - a.log.sizeBytes);
    for (const st of bySize) {
      if (total - freed <= maxBytes) break;
      freed += st.log.evictUploaded(total - freed - maxBytes);
    }
    return freed;
  }

  /**
   * Rebuild partition logs and producer state from WAL records (in WAL order). Records of
   * topics that no longer exist are skipped, and so are batches already in the object store
   * (the WAL is trimmed only after uploads commit, so it may still hold some). Returns how many
   * batches were restored.
   */
  recover(records: Iterable<RecoveredRecord>, topicExists: (topicId: string) => boolean, only?: { topicId: string; partition: number }): number {
    let restored = 0;
    for (const rec of records) {
      if (rec.type !== WAL_TYPE_BATCHES) continue;
      const entry = decodeBatchesEntry(rec.body);
      if (!topicExists(entry.topicId)) continue;
      if (only && (entry.topicId !== only.topicId || entry.partition !== only.partition)) continue;
      const st = this.ensure(entry.topicId, entry.partition, Math.max(entry.leaderEpoch, this.get(entry.topicId, entry.partition)?.log.leaderEpoch ?? 0));
      for (const bytes of entry.batches) {
        const base = this.stamper.readBaseOffset(bytes);
        const last = base + this.stamper.readLastOffsetDelta(bytes);
        if (last < st.log.uploadedEndOffset || last < st.log.logStartOffset) continue;
        assert(base >= st.log.highWatermark, `recovery: offsets went backwards in ${entry.topicId}/${entry.partition}: ${base} < ${st.log.highWatermark}`);
        st.log.commit({ baseOffset: base, lastOffset: last, maxTimestamp: this.stamper.readMaxTimestamp(bytes), bytes, walOffset: rec.offset }, entry.leaderEpoch);
        const p = this.stamper.readProducer(bytes);
        if (p.producerId >= 0n && p.baseSequence >= 0) {
          st.producers.record(p.producerId, p.producerEpoch, {
            firstSeq: p.baseSequence, lastSeq: p.baseSequence + (last - base), baseOffset: base, lastOffset: last,
            durable: Promise.resolve(),
          }, this.stamper.readMaxTimestamp(bytes));
        }
        restored++;
      }
    }
    this.recountPending();
    return restored;
  }
}
