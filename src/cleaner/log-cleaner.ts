/**
 * The log cleaner: key-based compaction of topics whose cleanup.policy includes compact, over
 * the partition's objects in the object store (see clean-plan.ts for what a pass takes and
 * batch-cleaner.ts for what it keeps).
 *
 * A pass over one partition, on its leader only:
 *  1. index: the dirty objects are read in offset order and their keys go to the worker's offset
 *     map, until the map is full (mapEnd) or the dirty section ends;
 *  2. filter: the clean section and the dirty objects up to mapEnd are read again, the worker
 *     drops what is superseded, and the kept batches are written as new compacted objects (the
 *     rest of an object past mapEnd as a plain stream object);
 *  3. swap: one metadata transaction adds the new objects and retires the old ones, guarded by
 *     the partition record (leadership) and the old records still existing (compaction and
 *     retention race with it). Old objects are deleted by the GC after its grace period.
 * A crash anywhere before 3 leaves only unreferenced new objects (the GC's orphans); after it,
 * the new objects are the partition's. Reads and writes are rate-limited; the CPU work runs in a
 * worker thread. A partition whose data the cleaner cannot decode is skipped and reported (as
 * Kafka marks it uncleanable) until it is retried after `uncleanableRetryMs`.
 */
import type { Logger } from 'pino';
import { ByteRateLimit } from '../common/byte-rate-limit.js';
import type { ObjectStore } from '../objects/object-store.js';
import { putPartitionObject } from '../uploader/partition-object.js';
import { baseOffsetOf, lastOffsetOf } from '../protocol/record-batch.js';
import type { ObjectRecord, ObjectRegistry } from '../cluster/object-registry.js';
import type { LogManager } from '../log/log-manager.js';
import type { ObjectIndex } from '../uploader/object-index.js';
import type { TopicInfo } from '../topics/topic-service.js';
import { crashPoint } from '../ops/crash-point.js';
import { assert } from '../common/assert.js';
import { emptyStats, nextCleanedRanges, type AbortedRange, type CleanStats } from './batch-cleaner.js';
import { placedObjects, planPass, type CleanPlan, type PlacedObject } from './clean-plan.js';
import type { CleanerThread } from './cleaner-thread.js';

/**
 * Objects one pass may retire: its swap is one metadata transaction, which etcd caps at 128 ops
 * (a put per new object, a delete and a dead-object put per old one).
 */
const INPUT_OBJECTS_MAX = 40;

/** Most bytes of an object one read of a pass fetches (whole blocks; a larger block is read alone). */
const READ_CHUNK_BYTES = 8 * 1024 * 1024;

export interface LogCleanerOptions {
  clusterName: string;
  dedupeBufferBytes: number;
  /** Object reads plus writes per second. */
  ioBytesPerSecMax: number;
  /** Largest object a pass writes. */
  targetObjectBytes: number;
  /** Decompressed bytes of one batch (a zip bomb guard). */
  batchBytesMax: number;
  uncleanableRetryMs?: number;
}

/** Where the cleaner stands on one partition (metrics, `ferry topics describe`). */
export interface PartitionCleanState {
  topic: string;
  topicId: string;
  partition: number;
  dirtyRatio: number;
  cleanBytes: number;
  dirtyBytes: number;
  /** Age of the oldest uploaded data not yet cleaned (0: none). */
  lagMs: number;
  uncleanable: boolean;
}

export interface PassResult {
  topicId: string;
  partition: number;
  firstDirtyOffset: number;
  mapEndOffset: number;
  bytesRead: number;
  bytesWritten: number;
  objectsIn: number;
  objectsOut: number;
  stats: CleanStats;
  durationMs: number;
}

export interface CleanerEvents {
  passDone?(r: PassResult, topic: string): void;
  passFailed?(topic: string, partition: number, reason: string): void;
  passLost?(topic: string, partition: number): void;
}

export class LogCleaner {
  private readonly rate: ByteRateLimit;
  private readonly uncleanable = new Map<string, number>();
  private readonly states = new Map<string, PartitionCleanState>();
  /** Of the pass in progress. */
  private bytesRead = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ObjectRegistry,
    private readonly index: ObjectIndex,
    private readonly logs: LogManager,
    private readonly topics: () => readonly TopicInfo[],
    private readonly thread: CleanerThread,
    private readonly options: LogCleanerOptions,
    private readonly log: Logger,
    private readonly events: CleanerEvents = {},
    /** Runs a pass in turn with compaction steps (they share one memory allowance). */
    private readonly inTurn: <T>(job: () => Promise<T>) => Promise<T> = (job) => job(),
    private readonly now: () => number = Date.now,
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.rate = new ByteRateLimit(options.ioBytesPerSecMax, now, sleep);
  }

  /** The latest plan of every compacted partition this broker leads. */
  partitionStates(): PartitionCleanState[] { return [...this.states.values()]; }

  /** Plans every compacted partition led here and cleans those due, dirtiest first. Returns passes done. */
  async runOnce(): Promise<number> {
    const plans: { plan: CleanPlan; topic: TopicInfo }[] = [];
    const seen = new Set<string>();
    const compacted = this.topics().filter((t) => t.compactPolicy);
    const byPartition = this.objectsByPartition(new Set(compacted.map((t) => t.topicId)));
    for (const t of compacted) {
      for (let p = 0; p < t.partitionCount; p++) {
        const plan = this.plan(t, p, byPartition.get(`${t.topicId}:${p}`) ?? []);
        if (!plan) continue;
        const key = `${t.topicId}:${p}`;
        seen.add(key);
        const blocked = (this.uncleanable.get(key) ?? 0) > this.now();
        this.states.set(key, {
          topic: t.name, topicId: t.topicId, partition: p, dirtyRatio: plan.dirtyRatio, cleanBytes: plan.cleanBytes, dirtyBytes: plan.dirtyBytes,
          lagMs: this.lagMs(plan), uncleanable: blocked,
        });
        if (plan.due && !blocked) plans.push({ plan, topic: t });
      }
    }
    for (const key of this.states.keys()) if (!seen.has(key)) this.states.delete(key);
    plans.sort((a, b) => b.plan.dirtyRatio - a.plan.dirtyRatio);
    let done = 0;
    for (const { plan, topic } of plans) {
      const key = `${plan.topicId}:${plan.partition}`;
      try {
        // Planned again inside the turn: compaction (which takes turns with passes) may have
        // merged the objects of the first plan meanwhile, and a pass on those would lose its swap.
        const r = await this.inTurn(async () => {
          const fresh = this.plan(topic, plan.partition, this.objectsByPartition(new Set([topic.topicId])).get(key) ?? []);
          return fresh?.due ? this.clean(fresh, topic) : undefined;
        });
        if (r === undefined) continue;
        if (!r) { this.events.passLost?.(topic.name, plan.partition); continue; }
        done++;
        this.events.passDone?.(r, topic.name);
        this.log.info({ topic: topic.name, partition: plan.partition, firstDirty: r.firstDirtyOffset, mapEnd: r.mapEndOffset, bytesRead: r.bytesRead, bytesWritten: r.bytesWritten, recordsIn: r.stats.recordsIn, recordsOut: r.stats.recordsOut, ms: r.durationMs }, 'cleaned partition');
      } catch (err) {
        const reason = (err as Error).message;
        this.uncleanable.set(key, this.now() + (this.options.uncleanableRetryMs ?? 600_000));
        const st = this.states.get(key);
        if (st) st.uncleanable = true;
        this.events.passFailed?.(topic.name, plan.partition, reason);
        this.log.error({ err, topic: topic.name, partition: plan.partition }, 'log cleaner failed on partition; skipping it until the retry time');
      }
    }
    return done;
  }

  /** The objects holding data of each partition of these topics (one walk over the index per run). */
  private objectsByPartition(topicIds: ReadonlySet<string>): Map<string, ObjectRecord[]> {
    const out = new Map<string, ObjectRecord[]>();
    for (const o of this.index.all()) {
      const keys = new Set<string>();
      for (const b of o.blocks) if (topicIds.has(b.topicId)) keys.add(`${b.topicId}:${b.partition}`);
      for (const k of keys) {
        const list = out.get(k);
        if (list) list.push(o); else out.set(k, [o]);
      }
    }
    return out;
  }

  private plan(t: TopicInfo, p: number, objects: readonly ObjectRecord[]): CleanPlan | null {
    const st = this.logs.get(t.topicId, p);
    if (!st) return null;
    const log = st.log;
    let headBytes = 0;
    for (const b of log.pendingUpload()) headBytes += b.bytes.length;
    const lso = st.producers.txns.lastStableOffset(log.highWatermark);
    const placed = placedObjects(objects, t.topicId, p, log.logStartOffset);
    return planPass({ topicId: t.topicId, partition: p, logStartOffset: log.logStartOffset, stableUploadedEnd: Math.min(log.uploadedEndOffset, lso), headBytes }, placed, t.compaction, this.now());
  }

  private lagMs(plan: CleanPlan): number {
    const first = plan.dirty[0];
    return first ? Math.max(0, this.now() - first.block.maxTimestamp) : 0;
  }

  private throttle(bytes: number): Promise<void> { return this.rate.take(bytes); }

  /**
   * This partition's blocks of one object in runs of about READ_CHUNK_BYTES, one ranged GET each,
   * so a pass holds little of an object at once. The worker cuts them into batches and checks
   * their CRCs (a corrupt batch makes the partition uncleanable): none of that on this thread.
   */
  private async *readChunks(p: PlacedObject, topicId: string, partition: number): AsyncGenerator<Buffer> {
    const blocks = p.object.blocks.filter((b) => b.topicId === topicId && b.partition === partition).sort((a, b) => a.baseOffset - b.baseOffset);
    for (let i = 0; i < blocks.length;) {
      let j = i + 1, bytes = blocks[i].size;
      while (j < blocks.length && blocks[j].position === blocks[j - 1].position + blocks[j - 1].size && bytes + blocks[j].size <= READ_CHUNK_BYTES) bytes += blocks[j++].size;
      const start = blocks[i].position;
      await this.throttle(bytes);
      const body = await this.store.get(p.object.key, { start, end: start + bytes });
      this.bytesRead += bytes;
      yield body;
      i = j;
    }
  }

  /** One pass. Null when the swap lost a race (leadership or retention changed the partition; the next run tries again). */
  private async clean(plan: CleanPlan, topic: TopicInfo): Promise<PassResult | null> {
    const started = this.now();
    const { topicId, partition } = plan;
    const st = this.logs.get(topicId, partition);
    if (!st) return null;
    // Taken first: a leadership change during the pass fails the swap.
    const revision = await this.registry.partitionRevision(topicId, partition);
    const aborted: AbortedRange[] = st.producers.txns.abortedIn(st.log.logStartOffset, plan.cleanableEndOffset)
      .map((a) => ({ producerId: a.producerId.toString(), firstOffset: a.firstOffset, lastOffset: a.lastOffset }));
    this.bytesRead = 0;
    await this.thread.begin(this.options.dedupeBufferBytes, aborted, this.options.batchBytesMax, plan.cleanableEndOffset);
    try {
      if (plan.clean.length >= INPUT_OBJECTS_MAX) throw new Error(`the clean section has ${plan.clean.length} objects, more than one pass may swap (${INPUT_OBJECTS_MAX - 1}); raise compaction.step.max.bytes for larger objects`);
      let mapEnd = plan.cleanableEndOffset;
      const dirtyUsed: PlacedObject[] = [];
      indexing: for (const p of plan.dirty) {
        // The rest waits for the next pass.
        if (plan.clean.length + dirtyUsed.length >= INPUT_OBJECTS_MAX) { mapEnd = p.block.baseOffset; break; }
        dirtyUsed.push(p);
        for await (const chunk of this.readChunks(p, topicId, partition)) {
          const r = await this.thread.index(chunk, p.object.id);
          if (r.stoppedAt !== null) { mapEnd = r.stoppedAt; break indexing; }
        }
      }
      crashPoint('clean-after-index');
      if (mapEnd <= plan.firstDirtyOffset) throw new Error(`log.cleaner.dedupe.buffer.size (${this.options.dedupeBufferBytes} bytes) holds not even the first dirty batch's keys`);
      // The last dirty object may reach past mapEnd; if no batch of it was indexed, it stays as it is.
      if (dirtyUsed.length && dirtyUsed[dirtyUsed.length - 1].block.baseOffset >= mapEnd) dirtyUsed.pop();
      const now = this.now();
      const deleteRetentionMs = topic.compaction.deleteRetentionMs;
      await this.thread.startFilter({
        logStartOffset: st.log.logStartOffset, firstDirtyOffset: plan.firstDirtyOffset, mapEndOffset: mapEnd, nowMs: now, deleteRetentionMs,
        cleanedRanges: plan.cleanedRanges, aborted, batchBytesMax: this.options.batchBytesMax,
      });
      const ranges = nextCleanedRanges(plan.cleanedRanges, plan.firstDirtyOffset, mapEnd, now, deleteRetentionMs);
      const writer = new ObjectWriter(this.store, this.options, topicId, partition, (n) => this.throttle(n), now);
      const inputs = [...plan.clean, ...dirtyUsed];
      let lastOut = -1;
      for (const p of inputs) {
        for await (const chunk of this.readChunks(p, topicId, partition)) {
          for (const b of await this.thread.filter(chunk, p.object.id)) {
            const base = baseOffsetOf(b);
            assert(base > lastOut, `cleaner output offsets must grow: ${base} after ${lastOut} in ${topicId}/${partition}`);
            lastOut = lastOffsetOf(b);
            await writer.add(b, base < mapEnd ? ranges : null);
          }
        }
      }
      const added = await writer.finish();
      crashPoint('clean-after-put');
      const stats = (await this.thread.end()) ?? emptyStats();
      const removed = inputs.map((p) => p.object);
      const ok = await this.registry.commit({ add: added, remove: removed, guards: [{ topicId, partition, modRevision: revision }] });
      if (!ok) {
        this.log.info({ topicId, partition }, 'cleaning pass lost a race (leadership, compaction or retention changed the partition); its new objects are garbage');
        return null;
      }
      crashPoint('clean-after-commit');
      this.index.swapped(removed, added);
      // The log cache still holds the uncleaned batches: reads of the cleaned range go to the new objects.
      st.log.dropCachedBelow(mapEnd);
      return {
        topicId, partition, firstDirtyOffset: plan.firstDirtyOffset, mapEndOffset: mapEnd, bytesRead: this.bytesRead, bytesWritten: writer.bytesWritten,
        objectsIn: removed.length, objectsOut: added.length, stats, durationMs: this.now() - started,
      };
    } finally {
      await this.thread.end().catch(() => undefined);
    }
  }

}

/**
 * Cuts the kept batches into objects of about targetObjectBytes: compacted objects for the
 * cleaned part, a stream object for batches past mapEnd (ranges null), and PUTs each when full.
 */
class ObjectWriter {
  private batches: Buffer[] = [];
  private bytes = 0;
  private ranges: [number, number][] | null = null;
  private readonly out: ObjectRecord[] = [];
  bytesWritten = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: LogCleanerOptions,
    private readonly topicId: string,
    private readonly partition: number,
    private readonly throttle: (bytes: number) => Promise<void>,
    private readonly createdMs: number,
  ) {}

  async add(batch: Buffer, ranges: [number, number][] | null): Promise<void> {
    if (this.batches.length && (ranges === null) !== (this.ranges === null)) await this.flush();
    this.ranges = ranges;
    this.batches.push(batch);
    this.bytes += batch.length;
    if (this.bytes >= this.options.targetObjectBytes) await this.flush();
  }

  async finish(): Promise<ObjectRecord[]> {
    await this.flush();
    return this.out;
  }

  private async flush(): Promise<void> {
    if (this.batches.length === 0) return;
    const compacted = this.ranges !== null;
    const record = await putPartitionObject(this.store, this.topicId, this.partition, this.batches, {
      clusterName: this.options.clusterName, kind: compacted ? 'compacted' : 'stream', createdMs: this.createdMs, throttle: this.throttle,
      ...(compacted ? { cleanedRanges: this.ranges! } : {}),
    });
    this.bytesWritten += record.size;
    this.out.push(record);
    this.batches = [];
    this.bytes = 0;
  }
}
