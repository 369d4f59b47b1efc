/**
 * All partition logs of this broker, and the produce append path through the WAL:
 * one WAL entry per partition (split only past the WAL's record limit) -> on admission into a
 * group write: reserve offsets, stamp batches -> (fsync) -> commit to cache.
 *
 * Offsets are reserved only when the WAL admits the entry: from then on it becomes durable or the
 * process stops, so an append refused or timed out before admission consumes no offset and the
 * log stays dense. The WAL admits in call order, so appends on one partition keep the order in
 * which they were issued even with several requests in flight, and commits arrive in offset order.
 */
import { WalFatalError, WalFencedError } from '@ferry/wal';
import { assert } from '../common/assert.js';
import { PartitionLog, type CachedBatch } from './partition-log.js';
import { ProducerStateTable } from './producer-state.js';
import { DataNotifier, partitionKey } from './data-notifier.js';
import { encodeBatchesEntry, decodeBatchesEntry, WAL_ENTRY_HEADER_BYTES, WAL_TYPE_BATCHES } from './wal-entry.js';
import { BatchView, buildControlBatch, controlTypeOf, setBaseOffset, setMaxTimestampAndCrc, setPartitionLeaderEpoch } from '../protocol/record-batch.js';

/** The part of the WAL the log needs (the real one is @ferry/wal). */
export interface WalAppender {
  /** `onAdmit` runs synchronously once the record is taken into a write (see @ferry/wal). */
  append(body: Buffer, type?: number, onAdmit?: () => void): Promise<bigint>;
  readonly limits: { readonly recordBytesMax: number };
}

const EVICT_CHECK_BYTES = 4 * 1024 * 1024;

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

export interface PartitionState {
  log: PartitionLog;
  producers: ProducerStateTable;
  /** WAL appends issued for this partition and not yet settled. */
  inFlight: Set<Promise<void>>;
}

export interface AppendOutcome {
  /** -1 until the WAL admits the first entry; set before `done` resolves. */
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
  /** Body bytes of WAL appends issued and not yet settled. */
  private bytesInFlight = 0;
  /** Bytes committed since the cache was last brought under its bound. */
  private bytesSinceEvict = 0;
  /**
   * Memory bounds (cache.max.bytes; upload.max.bytes): uploaded batches are evicted past
   * `cacheMaxBytes`; batches not yet uploaded cannot be, so produce is refused (retriable) while
   * they and the appends in flight reach `pendingMaxBytes` (uploads lag or fail).
   */
  cacheMaxBytes = Infinity;
  pendingMaxBytes = Infinity;

  constructor(private readonly wal: WalAppender) {}

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
   * LogAppendTime topics. `onAdmit` is told the offsets once they are assigned. Must be called
   * synchronously in request order.
   */
  append(st: PartitionState, batches: BatchToAppend[], logAppendTime: number | null,
    onAdmit?: (baseOffset: number, lastOffset: number) => void): AppendOutcome {
    const outcome: AppendOutcome = { baseOffset: -1, lastOffset: -1, done: Promise.resolve() };
    const chunks = this.splitForWal(batches);
    const writes = chunks.map((chunk, i) => this.appendEntry(st, chunk, logAppendTime, (base, last) => {
      if (i === 0) outcome.baseOffset = base;
      outcome.lastOffset = last;
      if (i === chunks.length - 1) onAdmit?.(outcome.baseOffset, last);
    }));
    // Settles only once every entry has (a refused one must not hide another still in flight).
    outcome.done = writes.length === 1 ? writes[0] : Promise.allSettled(writes).then((rs) => {
      const failed = rs.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    });
    st.inFlight.add(outcome.done);
    outcome.done.then(() => st.inFlight.delete(outcome.done), () => st.inFlight.delete(outcome.done));
    return outcome;
  }

  /**
   * Write a transaction marker (a control batch) for `producerId`: it closes the producer's open
   * transaction here once admitted. Null when the producer has moved to a newer epoch here (the
   * transaction of the older epoch was already closed by the newer one's markers).
   */
  appendMarker(st: PartitionState, m: { producerId: bigint; producerEpoch: number; commit: boolean; coordinatorEpoch: number }): AppendOutcome | null {
    if (!st.producers.markerIsCurrent(m.producerId, m.producerEpoch)) return null;
    const now = Date.now();
    const bytes = buildControlBatch(m.commit ? 1 : 0, m.coordinatorEpoch, { producerId: m.producerId, producerEpoch: m.producerEpoch, timestamp: BigInt(now) });
    return this.append(st, [{ bytes, recordsCount: 1, maxTimestamp: now, producerId: m.producerId, producerEpoch: m.producerEpoch, baseSequence: -1 }], null,
      (base) => st.producers.applyMarker(m.producerId, m.producerEpoch, base, m.commit, now));
  }

  /** Why produce must wait for uploads (memory held by batches not yet uploaded), or null. */
  pendingFull(): string | null {
    const held = this.pendingBytes + this.bytesInFlight;
    if (held < this.pendingMaxBytes) return null;
    return `${held} bytes not yet uploaded reach the memory bound of ${this.pendingMaxBytes} (cache.max.bytes); uploads are lagging`;
  }

  /** Largest batch one WAL record can hold. */
  get batchBytesMax(): number { return this.wal.limits.recordBytesMax - WAL_ENTRY_HEADER_BYTES; }

  /** Runs of whole batches that each fit one WAL record. */
  private splitForWal(batches: BatchToAppend[]): BatchToAppend[][] {
    const max = this.batchBytesMax;
    const out: BatchToAppend[][] = [];
    let run: BatchToAppend[] = [];
    let runBytes = 0;
    for (const b of batches) {
      assert(b.bytes.length <= max, `batch of ${b.bytes.length} bytes is over the WAL record limit ${max}`);
      if (run.length && runBytes + b.bytes.length > max) { out.push(run); run = []; runBytes = 0; }
      run.push(b);
      runBytes += b.bytes.length;
    }
    if (run.length) out.push(run);
    return out;
  }

  private appendEntry(st: PartitionState, batches: BatchToAppend[], logAppendTime: number | null,
    onAdmit: (baseOffset: number, lastOffset: number) => void): Promise<void> {
    const log = st.log;
    const epoch = log.leaderEpoch;
    const { body, copies } = encodeBatchesEntry(log.topicId, log.partition, epoch, batches.map((b) => b.bytes));
    const cached: CachedBatch[] = [];
    const admit = (): void => {
      for (let i = 0; i < copies.length; i++) {
        const b = batches[i];
        const base = log.reserve(b.recordsCount);
        setBaseOffset(copies[i], BigInt(base));
        setPartitionLeaderEpoch(copies[i], epoch);
        let maxTimestamp = b.maxTimestamp;
        if (logAppendTime !== null) {
          setMaxTimestampAndCrc(copies[i], BigInt(logAppendTime));
          maxTimestamp = logAppendTime;
        }
        cached.push({ baseOffset: base, lastOffset: base + b.recordsCount - 1, maxTimestamp, bytes: copies[i], walOffset: -1n });
      }
      onAdmit(cached[0].baseOffset, cached[cached.length - 1].lastOffset);
    };
    this.appendsInFlight++;
    this.bytesInFlight += body.length;
    return this.wal.append(body, WAL_TYPE_BATCHES, admit).then((walOffset) => {
      this.appendsInFlight--;
      this.bytesInFlight -= body.length;
      assert(cached.length === copies.length, 'a durable WAL entry was never admitted');
      // A topic deleted while the write was in flight: nothing left to commit into.
      if (this.partitions.get(partitionKey(log.topicId, log.partition)) !== st) return;
      for (const c of cached) {
        c.walOffset = walOffset;
        assert(c.baseOffset === log.highWatermark,
          `offsets must be dense: batch at ${c.baseOffset}, high watermark ${log.highWatermark} in ${log.topicId}/${log.partition}`);
        log.commit(c, epoch);
        this.pendingBytes += c.bytes.length;
      }
      this.notifier.notify(partitionKey(log.topicId, log.partition));
      this.onPendingBytes?.(this.pendingBytes);
      // Keep the cache near its bound between uploads too (checked every few MiB: it walks partitions).
      this.bytesSinceEvict += body.length;
      if (this.bytesSinceEvict >= EVICT_CHECK_BYTES) {
        this.bytesSinceEvict = 0;
        this.evictCache(this.cacheMaxBytes);
      }
    }, (err) => {
      this.appendsInFlight--;
      this.bytesInFlight -= body.length;
      throw err;
    });
  }

  /** producer.id.expiration.ms over every partition; returns how many producer states were dropped. */
  expireProducers(nowMs: number, expirationMs: number): number {
    let n = 0;
    for (const st of this.partitions.values()) n += st.producers.expire(nowMs, expirationMs);
    return n;
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
        const v = new BatchView(bytes);
        const base = Number(v.baseOffset);
        const last = Number(v.lastOffset);
        if (last < st.log.uploadedEndOffset || last < st.log.logStartOffset) continue;
        assert(base >= st.log.highWatermark, `recovery: offsets went backwards in ${entry.topicId}/${entry.partition}: ${base} < ${st.log.highWatermark}`);
        const maxTimestamp = Number(v.maxTimestamp);
        st.log.commit({ baseOffset: base, lastOffset: last, maxTimestamp, bytes, walOffset: rec.offset }, entry.leaderEpoch);
        if (v.isControl) {
          const type = controlTypeOf(bytes);
          if (type === 0 || type === 1) st.producers.applyMarker(v.producerId, v.producerEpoch, base, type === 1, maxTimestamp);
        } else if (v.isTransactional && v.producerId >= 0n) {
          st.producers.txns.onData(v.producerId, base);
        }
        if (v.producerId >= 0n && v.baseSequence >= 0 && !v.isControl) {
          st.producers.record(v.producerId, v.producerEpoch, {
            firstSeq: v.baseSequence, lastSeq: v.baseSequence + (last - base), baseOffset: base, lastOffset: last,
            durable: Promise.resolve(),
          }, maxTimestamp);
        }
        restored++;
      }
    }
    this.recountPending();
    return restored;
  }
}

/** A failed append that must end the process: an fsync/write error, or another broker fenced this WAL. */
export function isFatalAppendError(err: unknown): boolean {
  return err instanceof WalFatalError || err instanceof WalFencedError;
}
