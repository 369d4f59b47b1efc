/**
 * Background compaction (rate-limited), one atomic metadata swap per step:
 *  1. stream-set objects (many partitions each, one per upload) are split into per-partition
 *     stream objects, so a partition's history needs few GETs and little metadata;
 *  2. small stream objects of one partition are merged into larger ones.
 * The replaced objects move to dead-objects and the GC deletes them after the grace period, so
 * fetches that already resolved blocks in them finish. Data of deleted topics and below a
 * partition's log start is dropped on the way.
 */
import type { Logger } from 'pino';
import { ByteRateLimit } from '../common/byte-rate-limit.js';
import type { ObjectStore } from '../objects/object-store.js';
import { splitBatches } from '../protocol/record-batch.js';
import { putPartitionObject } from './partition-object.js';
import { PARTITIONS_PER_COMMIT_MAX, type ObjectBlock, type ObjectRecord, type ObjectRegistry, type PartitionGuard } from '../cluster/object-registry.js';
import type { LogManager } from '../log/log-manager.js';
import type { ObjectIndex } from './object-index.js';

export interface CompactorOptions {
  clusterName: string;
  /** Bytes read plus written per second. */
  bytesPerSecMax: number;
  /** Stream objects below this size are merged with their neighbours. */
  smallObjectBytes: number;
  /** Largest object compaction writes. */
  targetObjectBytes: number;
  /** Most bytes read in one step. */
  stepBytesMax: number;
}

export const DEFAULT_COMPACTOR_SIZES = { smallObjectBytes: 8 << 20, targetObjectBytes: 128 << 20, stepBytesMax: 256 << 20 };

interface PartitionData { topicId: string; partition: number; blocks: { block: ObjectBlock; bytes: Buffer }[] }

/**
 * Splits a partition's blocks (sorted) where an object outside this step holds offsets in the gap:
 * a new object's blocks must never span another object's data.
 */
function contiguousRuns(p: PartitionData, heldElsewhere: (from: number, to: number) => boolean): PartitionData[] {
  const runs: PartitionData[] = [];
  let cur: PartitionData | null = null;
  for (const b of p.blocks) {
    const prevEnd = cur ? cur.blocks[cur.blocks.length - 1].block.endOffset : 0;
    if (!cur || (b.block.baseOffset > prevEnd && heldElsewhere(prevEnd, b.block.baseOffset))) {
      cur = { topicId: p.topicId, partition: p.partition, blocks: [] };
      runs.push(cur);
    }
    cur.blocks.push(b);
  }
  return runs;
}

export class Compactor {
  private readonly rate: ByteRateLimit;
  steps = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ObjectRegistry,
    private readonly index: ObjectIndex,
    private readonly logs: LogManager,
    private readonly topicExists: (topicId: string) => boolean,
    private readonly options: CompactorOptions,
    private readonly log: Logger,
    /** Topics the log cleaner works on: it needs their data in stream objects, so a lone stream-set holding some is split too. */
    private readonly isCompacted: (topicId: string) => boolean = () => false,
    private readonly now: () => number = Date.now,
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.rate = new ByteRateLimit(options.bytesPerSecMax, now, sleep);
  }

  /** One pass: split stream-set objects, then merge small stream objects. Returns steps done. */
  async runOnce(): Promise<number> {
    let steps = 0;
    if (await this.splitStreamSets()) steps++;
    steps += await this.mergeSmallStreams();
    this.steps += steps;
    return steps;
  }

  private throttle(bytes: number): Promise<void> { return this.rate.take(bytes); }

  /**
   * Only objects all of whose (live) partitions this broker leads are rewritten: reads of a
   * partition go to its leader only, so no other broker holds blocks of them in memory.
   */
  private ownsAll(o: ObjectRecord): boolean {
    return o.blocks.every((b) => !this.isLive(b) || this.logs.get(b.topicId, b.partition) !== undefined);
  }

  private isLive(b: ObjectBlock): boolean {
    if (!this.topicExists(b.topicId)) return false;
    const st = this.logs.get(b.topicId, b.partition);
    return !st || b.endOffset > st.log.logStartOffset;
  }

  private async guards(keys: Iterable<string>): Promise<PartitionGuard[]> {
    const out: PartitionGuard[] = [];
    for (const key of keys) {
      const sep = key.lastIndexOf(':');
      const topicId = key.slice(0, sep), partition = Number(key.slice(sep + 1));
      out.push({ topicId, partition, modRevision: await this.registry.partitionRevision(topicId, partition) });
    }
    return out;
  }

  private async readObject(o: ObjectRecord): Promise<Buffer> {
    await this.throttle(o.size);
    return this.store.get(o.key);
  }

  private writeStream(p: PartitionData): Promise<ObjectRecord> {
    return putPartitionObject(this.store, p.topicId, p.partition, p.blocks.flatMap(({ bytes }) => splitBatches(bytes)), {
      clusterName: this.options.clusterName, kind: 'stream', createdMs: this.now(), throttle: (n) => this.throttle(n),
    });
  }

  private async commitSwap(removed: ObjectRecord[], added: ObjectRecord[], partitionKeys: Set<string>): Promise<boolean> {
    const ok = await this.registry.commit({ add: added, remove: removed, guards: await this.guards(partitionKeys) });
    if (!ok) {
      this.log.info({ removed: removed.map((o) => o.id) }, 'compaction step lost a guard (leadership or topic changed); its new objects are garbage');
      return false;
    }
    this.index.swapped(removed, added);
    return true;
  }

  /** True when no other object holds offsets of this partition between `a` and `b`. */
  private adjacent(a: ObjectRecord, b: ObjectRecord): boolean {
    const end = Math.max(...a.blocks.map((x) => x.endOffset));
    const start = Math.min(...b.blocks.map((x) => x.baseOffset));
    return start <= end || !this.heldBy(a.blocks[0].topicId, a.blocks[0].partition, end, start, new Set([a.id, b.id]));
  }

  /** Whether an object not in `exclude` holds offsets of the partition in [from, to). */
  private heldBy(topicId: string, partition: number, from: number, to: number, exclude: ReadonlySet<string>): boolean {
    for (const o of this.index.all()) {
      if (exclude.has(o.id)) continue;
      for (const x of o.blocks) if (x.topicId === topicId && x.partition === partition && x.baseOffset < to && x.endOffset > from) return true;
    }
    return false;
  }

  private gapCheck(p: PartitionData, step: readonly ObjectRecord[]): (from: number, to: number) => boolean {
    const ids = new Set(step.map((o) => o.id));
    return (from, to) => this.heldBy(p.topicId, p.partition, from, to, ids);
  }

  /** Step 1: the oldest stream-set objects become per-partition stream objects. */
  private async splitStreamSets(): Promise<boolean> {
    const sets = [...this.index.all()].filter((o) => o.kind === 'stream-set' && this.ownsAll(o)).sort((a, b) => a.createdMs - b.createdMs);
    // Usually two at least (an upload is not rewritten at once), unless the cleaner waits for one.
    const minSets = sets.length === 1 && sets[0].blocks.some((b) => this.isLive(b) && this.isCompacted(b.topicId)) ? 1 : 2;
    if (sets.length < minSets) return false;
    const chosen: ObjectRecord[] = [];
    const partitions = new Set<string>();
    let bytes = 0;
    for (const o of sets) {
      const keys = new Set(o.blocks.filter((b) => this.isLive(b)).map((b) => `${b.topicId}:${b.partition}`));
      const union = new Set([...partitions, ...keys]);
      // Compares: one guard per partition plus one per removed object.
      if (chosen.length > 0 && (union.size + chosen.length + 1 > PARTITIONS_PER_COMMIT_MAX || bytes + o.size > this.options.stepBytesMax)) break;
      chosen.push(o);
      for (const k of keys) partitions.add(k);
      bytes += o.size;
    }
    if (chosen.length < minSets) return false;
    const byPartition = new Map<string, PartitionData>();
    for (const o of chosen) {
      const body = await this.readObject(o);
      for (const b of o.blocks) {
        if (!this.isLive(b)) continue;
        const key = `${b.topicId}:${b.partition}`;
        let p = byPartition.get(key);
        if (!p) { p = { topicId: b.topicId, partition: b.partition, blocks: [] }; byPartition.set(key, p); }
        p.blocks.push({ block: b, bytes: body.subarray(b.position, b.position + b.size) });
      }
    }
    const added: ObjectRecord[] = [];
    for (const p of byPartition.values()) {
      p.blocks.sort((x, y) => x.block.baseOffset - y.block.baseOffset);
      // A new object's blocks must not span offsets held by objects outside this step.
      for (const run of contiguousRuns(p, this.gapCheck(p, chosen))) added.push(await this.writeStream(run));
    }
    const ok = await this.commitSwap(chosen, added, new Set(byPartition.keys()));
    if (ok) this.log.info({ from: chosen.length, to: added.length, bytes }, 'compacted stream-set objects into stream objects');
    return ok;
  }

  /** Step 2: runs of small stream objects of one partition merge into one. */
  private async mergeSmallStreams(): Promise<number> {
    const byPartition = new Map<string, ObjectRecord[]>();
    for (const o of this.index.all()) {
      if (o.kind !== 'stream' || o.size >= this.options.smallObjectBytes || o.blocks.length === 0 || !this.ownsAll(o)) continue;
      const key = `${o.blocks[0].topicId}:${o.blocks[0].partition}`;
      byPartition.set(key, [...(byPartition.get(key) ?? []), o]);
    }
    let steps = 0;
    for (const [key, objects] of byPartition) {
      if (objects.length < 2) continue;
      objects.sort((a, b) => a.blocks[0].baseOffset - b.blocks[0].baseOffset);
      // Only objects whose offsets follow each other with nothing between them merge.
      const run: ObjectRecord[] = [];
      let bytes = 0;
      for (const o of objects) {
        const prev = run[run.length - 1];
        if (prev && !this.adjacent(prev, o)) { if (run.length >= 2) break; run.length = 0; bytes = 0; }
        if (run.length > 0 && (bytes + o.size > this.options.targetObjectBytes || run.length + 1 >= PARTITIONS_PER_COMMIT_MAX)) break;
        run.push(o);
        bytes += o.size;
      }
      if (run.length < 2) continue;
      const sep = key.lastIndexOf(':');
      const p: PartitionData = { topicId: key.slice(0, sep), partition: Number(key.slice(sep + 1)), blocks: [] };
      for (const o of run) {
        const body = await this.readObject(o);
        for (const b of o.blocks) if (this.isLive(b)) p.blocks.push({ block: b, bytes: body.subarray(b.position, b.position + b.size) });
      }
      p.blocks.sort((x, y) => x.block.baseOffset - y.block.baseOffset);
      const added: ObjectRecord[] = [];
      for (const r of contiguousRuns(p, this.gapCheck(p, run))) added.push(await this.writeStream(r));
      if (await this.commitSwap(run, added, new Set([key]))) {
        steps++;
        this.log.info({ partition: key, from: run.length, bytes }, 'merged small stream objects');
      }
    }
    return steps;
  }
}
