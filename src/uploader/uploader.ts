/**
 * The uploader: moves durable data from the log cache (and so the WAL) into the object store,
 * in this order and no other (DESIGN §4):
 *
 *   1. PUT the objects (create-only; a failed PUT leaves at most garbage, which the sweeper removes);
 *   2. one metadata transaction per commit group records the objects, guarded by each touched
 *      partition's record, so a fenced leader cannot commit;
 *   3. only then make the new blocks readable from the object store, and trim the WAL.
 *
 * It runs every `upload.interval.ms`, early when `upload.max.bytes` are pending, and once more on
 * shutdown. One upload at a time. A partition with at least `upload.stream.split.bytes` pending
 * gets its own stream object; the rest share stream-set objects of at most
 * PARTITIONS_PER_COMMIT_MAX partitions (one guarded transaction each).
 */
import type { Logger } from 'pino';
import type { Wal } from '@ferry/wal';
import type { LogManager, PartitionState } from '../log/log-manager.js';
import type { CachedBatch, ObjectBlockRef } from '../log/partition-log.js';
import { isEmptySnapshot } from '../log/producer-state.js';
import { partitionKey } from '../log/data-notifier.js';
import type { ObjectStore } from '../objects/object-store.js';
import { encodeJson, type Compare } from '../cluster/metadata-store.js';
import { encodeObject, newObjectId, objectKey } from '../objects/object-format.js';
import type { ObjectIndex } from './object-index.js';
import { blockRef } from './object-index.js';
import { crashPoint } from '../ops/crash-point.js';
import { describeError, errorCode } from '../ops/describe-error.js';
import { assert } from '../common/assert.js';
import { PARTITIONS_PER_COMMIT_MAX, type ObjectRecord, type ObjectRegistry, type PartitionGuard } from '../cluster/object-registry.js';

export interface UploaderOptions {
  intervalMs: number;
  pendingBytesMax: number;
  streamSplitBytes: number;
  cacheMaxBytes: number;
  clusterName: string;
  /** Wait between attempts after a failed upload (default 1000). */
  retryBackoffMs?: number;
}

export interface UploaderMetrics {
  uploadCompleted(bytes: number, seconds: number): void;
  uploadFailed(): void;
  uploadLag(bytes: number, seconds: number): void;
}

export interface UploaderStats {
  uploads: number;
  objects: number;
  bytes: number;
  failures: number;
  lastUploadMs: number;
  lastTrimOffset: bigint;
}

interface PartitionUpload { st: PartitionState; batches: CachedBatch[]; bytes: number }

export class UploadFencedError extends Error {
  override name = 'UploadFencedError';
}

export class Uploader {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly startedMs = Date.now();
  private readonly revisions = new Map<string, number>();
  /** Set while uploads fail: the first error of the run (logged once), and how many failed since. */
  private failing: { error: Error; since: number; count: number } | null = null;
  /** Told when uploads start failing (with the error) and when they succeed again (null). */
  onFailingChange: ((error: Error | null) => void) | null = null;
  readonly stats: UploaderStats = { uploads: 0, objects: 0, bytes: 0, failures: 0, lastUploadMs: 0, lastTrimOffset: -1n };

  constructor(
    private readonly logs: LogManager,
    private readonly wal: Wal,
    private readonly store: ObjectStore,
    private readonly registry: ObjectRegistry,
    private readonly index: ObjectIndex,
    private readonly options: UploaderOptions,
    private readonly log: Logger,
    private readonly metrics: UploaderMetrics | null = null,
    private readonly now: () => number = Date.now,
  ) {}

  /** Upload lag: bytes not yet in the object store, and seconds since the last successful upload while any are pending. */
  reportLag(): void {
    const bytes = this.logs.bytesPendingUpload;
    const since = this.stats.lastUploadMs || this.startedMs;
    this.metrics?.uploadLag(bytes, bytes > 0 ? (this.now() - since) / 1000 : 0);
  }

  start(): void {
    this.logs.onPendingBytes = (bytes) => {
      if (bytes >= this.options.pendingBytesMax && !this.failing) this.trigger('size');
    };
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const wait = this.failing ? Math.min(this.options.intervalMs, this.options.retryBackoffMs ?? 1000) : this.options.intervalMs;
    this.timer = setTimeout(() => this.trigger(this.failing ? 'retry' : 'interval'), wait);
    this.timer.unref();
  }

  /** Start an upload now (or right after the running one). */
  trigger(reason: string): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    this.running = this.uploadOnce(reason)
      .then(() => this.recovered(), (err: Error) => this.failed(err, reason))
      .finally(() => {
        this.running = null;
        // After a failure, retry after the backoff, not at once (no retry storm against a failing store).
        if (this.again && !this.stopped && !this.failing) { this.again = false; void this.trigger('backlog'); } else this.schedule();
      });
    return this.running;
  }

  /** Whether the last upload failed (the WAL is filling), and with what. */
  get failingError(): Error | null { return this.failing?.error ?? null; }

  private failed(err: Error, reason: string): void {
    this.stats.failures++;
    this.metrics?.uploadFailed();
    if (!this.failing) {
      // Logged at warn once per failing run; repeats of it at debug.
      this.failing = { error: err, since: this.now(), count: 1 };
      this.log.warn({ err, reason, code: errorCode(err) }, `uploads failing: ${describeError(err)}; the data stays in the WAL, retrying`);
      this.onFailingChange?.(err);
    } else {
      this.failing.count++;
      this.log.debug({ err, reason, failures: this.failing.count }, 'upload failed again');
    }
  }

  private recovered(): void {
    if (!this.failing) return;
    this.log.warn({ failures: this.failing.count, ms: this.now() - this.failing.since }, 'uploads recovered');
    this.failing = null;
    this.onFailingChange?.(null);
  }

  /** Final upload on shutdown: everything durable goes to the object store and the WAL is trimmed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    this.logs.onPendingBytes = null;
    if (this.running) await this.running;
    try {
      await this.uploadOnce('shutdown');
    } catch (err) {
      this.log.warn({ err }, 'final upload failed; the data stays in the WAL and is uploaded after restart');
    }
  }

  private externalGuards: ((topicId: string, partition: number) => PartitionGuard | null) | null = null;
  private commitCompares: () => Compare[] = () => [];

  /** Compares added to every commit (the WAL volume's owner record: a fenced owner cannot commit). */
  useCommitCompares(fn: () => Compare[]): void {
    this.commitCompares = fn;
  }

  /** Upload everything pending now and trim the WAL; rejects if any of it could not be committed. */
  async flush(reason: string): Promise<void> {
    if (this.running) await this.running;
    await this.uploadOnce(reason);
    for (const st of this.logs.all()) {
      if (st.log.pendingUpload().length > 0) throw new Error(`${st.log.topicId}/${st.log.partition}: data still pending after a flush`);
    }
  }

  /** Cluster mode: the leadership view supplies each partition's commit guard (its record's revision). */
  useGuards(fn: (topicId: string, partition: number) => PartitionGuard | null): void {
    this.externalGuards = fn;
  }

  private async guardFor(st: PartitionState): Promise<PartitionGuard> {
    if (this.externalGuards) {
      const g = this.externalGuards(st.log.topicId, st.log.partition);
      if (!g) throw new UploadFencedError(`${st.log.topicId}/${st.log.partition}: not the leader any more; not committing`);
      return g;
    }
    const key = `${st.log.topicId}:${st.log.partition}`;
    let rev = this.revisions.get(key);
    if (rev === undefined) {
      rev = await this.registry.partitionRevision(st.log.topicId, st.log.partition);
      this.revisions.set(key, rev);
    }
    return { topicId: st.log.topicId, partition: st.log.partition, modRevision: rev };
  }

  private async uploadOnce(reason: string): Promise<void> {
    const started = this.now();
    const work: PartitionUpload[] = [];
    for (const st of this.logs.all()) {
      const batches = st.log.pendingUpload();
      if (batches.length === 0) continue;
      let bytes = 0;
      for (const b of batches) bytes += b.bytes.length;
      work.push({ st, batches, bytes });
    }
    let uploadedBytes = 0;
    let objects = 0;
    if (work.length > 0) {
      for (const g of this.planObjects(work)) {
        uploadedBytes += await this.uploadGroup(g.kind, g.parts);
        objects++;
      }
    }
    this.logs.recountPending();
    this.logs.evictCache(this.options.cacheMaxBytes);
    await this.trimWal();
    if (objects > 0) {
      this.stats.uploads++;
      this.stats.objects += objects;
      this.stats.bytes += uploadedBytes;
      this.stats.lastUploadMs = this.now();
      this.metrics?.uploadCompleted(uploadedBytes, (this.now() - started) / 1000);
      this.log.debug({ reason, objects, bytes: uploadedBytes, partitions: work.length, ms: this.now() - started }, 'uploaded');
    }
  }

  /**
   * The objects of one upload, in the order they must commit (a partition's runs in offset
   * order). Each object holds at most about `pendingBytesMax` (upload.max.bytes): an object is
   * built in memory before its PUT, so that is what an upload costs however far uploads lag.
   * A partition with at least `streamSplitBytes` gets stream objects of its own; the rest share
   * stream-set objects (at most 127 partitions each, the commit's guard limit).
   */
  private planObjects(work: PartitionUpload[]): { kind: ObjectRecord['kind']; parts: PartitionUpload[] }[] {
    const objectBytesMax = this.options.pendingBytesMax;
    const streams: { kind: ObjectRecord['kind']; parts: PartitionUpload[] }[] = [];
    const shared: PartitionUpload[] = [];
    for (const w of work) {
      let run: CachedBatch[] = [];
      let runBytes = 0;
      const flush = (last: boolean) => {
        if (!run.length) return;
        const part = { st: w.st, batches: run, bytes: runBytes };
        // A partition's remainder below the split size goes into a stream-set, after its stream objects.
        if (last && runBytes < this.options.streamSplitBytes) shared.push(part); else streams.push({ kind: 'stream', parts: [part] });
        run = [];
        runBytes = 0;
      };
      for (const b of w.batches) {
        if (run.length && runBytes + b.bytes.length > objectBytesMax) flush(false);
        run.push(b);
        runBytes += b.bytes.length;
      }
      flush(true);
    }
    const groups = streams;
    let group: PartitionUpload[] = [];
    let groupBytes = 0;
    for (const part of shared) {
      if (group.length && (group.length === PARTITIONS_PER_COMMIT_MAX || groupBytes + part.bytes > objectBytesMax)) {
        groups.push({ kind: 'stream-set', parts: group });
        group = [];
        groupBytes = 0;
      }
      group.push(part);
      groupBytes += part.bytes;
    }
    if (group.length) groups.push({ kind: 'stream-set', parts: group });
    return groups;
  }

  /** PUT one object for `parts`, commit it, then publish its blocks. Returns the bytes uploaded. */
  private async uploadGroup(kind: ObjectRecord['kind'], parts: PartitionUpload[]): Promise<number> {
    for (const p of parts) {
      assert(p.batches.length > 0 && p.batches[0].baseOffset >= p.st.log.uploadedEndOffset,
        `upload of ${p.st.log.topicId}/${p.st.log.partition} starts at ${p.batches[0]?.baseOffset}, below what is uploaded (${p.st.log.uploadedEndOffset})`);
      for (let i = 1; i < p.batches.length; i++) {
        assert(p.batches[i].baseOffset > p.batches[i - 1].lastOffset, `upload run of ${p.st.log.topicId}/${p.st.log.partition} not in offset order at ${p.batches[i].baseOffset}`);
      }
    }
    const id = newObjectId();
    const key = objectKey(this.options.clusterName, id);
    const encoded = encodeObject(parts.map((p) => ({
      topicId: p.st.log.topicId, partition: p.st.log.partition,
      batches: p.batches.map((b) => ({ baseOffset: b.baseOffset, lastOffset: b.lastOffset, recordCount: b.lastOffset - b.baseOffset + 1, bytes: b.bytes, maxTimestamp: b.maxTimestamp })),
    })));
    await this.store.put(key, encoded.chunks, { ifNoneMatch: true });
    crashPoint('upload-after-put');

    const record: ObjectRecord = { id, key, size: encoded.size, kind, createdMs: this.now(), blocks: encoded.index.map((e) => ({ ...e })) };
    const guards = await Promise.all(parts.map((p) => this.guardFor(p.st)));
    // Idempotence must survive the WAL trim: the producer state of what this object makes durable goes with it.
    const producerSnapshots = parts
      .map((p) => ({ p, snap: p.st.producers.snapshot(p.batches[p.batches.length - 1].lastOffset + 1, p.st.log.logStartOffset) }))
      .filter(({ snap }) => !isEmptySnapshot(snap))
      .map(({ p, snap }) => ({ topicId: p.st.log.topicId, partition: p.st.log.partition, value: encodeJson(snap) }));
    const committed = await this.registry.commit({ add: [record], guards, producerSnapshots, compares: this.commitCompares() });
    if (!committed) {
      // A partition record changed (leadership moved, topic deleted): re-read before the next try.
      for (const p of parts) this.revisions.delete(`${p.st.log.topicId}:${p.st.log.partition}`);
      throw new UploadFencedError(`object ${id}: a partition guard failed; not committed (the object is garbage now)`);
    }
    crashPoint('upload-after-commit');
    this.index.added([record]);
    for (const p of parts) {
      const refs: ObjectBlockRef[] = record.blocks
        .filter((b) => b.topicId === p.st.log.topicId && b.partition === p.st.log.partition)
        .map((b) => blockRef(record, b));
      p.st.log.addObjectBlocks(refs);
      // Fetches waiting for uploaded data (read replicas in uploaded-only mode) may go on now.
      this.logs.notifier.notify(partitionKey(p.st.log.topicId, p.st.log.partition));
    }
    return encoded.size;
  }

  private async trimWal(): Promise<void> {
    const target = this.logs.walTrimTarget(this.wal.nextOffset);
    if (target === null || target <= this.wal.trimOffset) return;
    await this.wal.trim(target);
    crashPoint('upload-after-trim');
    this.stats.lastTrimOffset = target;
  }
}
