/**
 * Retention (topics whose cleanup.policy includes delete): `retention.ms` drops object blocks
 * whose newest record is older than the limit, `retention.bytes` drops the oldest blocks while
 * a partition keeps more than the limit. Only uploaded data is ever dropped, never the WAL tail.
 *
 * Order, as DeleteRecords: the log start offset moves in metadata first (so ListOffsets earliest
 * and Fetch OFFSET_OUT_OF_RANGE follow at once), then objects no partition needs any more are
 * moved to dead-objects in one transaction per chunk, and the GC deletes them after the grace period.
 */
import type { Logger } from 'pino';
import type { LogManager } from '../log/log-manager.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { TopicService } from '../topics/topic-service.js';
import { PARTITIONS_PER_COMMIT_MAX, type ObjectRecord, type ObjectRegistry } from '../cluster/object-registry.js';
import type { ObjectIndex } from './object-index.js';

export interface RetentionResult { partitionsTrimmed: number; objectsRemoved: number }

export class Retention {
  constructor(
    private readonly topics: TopicService,
    private readonly logs: LogManager,
    private readonly index: ObjectIndex,
    private readonly registry: ObjectRegistry,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async runOnce(): Promise<RetentionResult> {
    let partitionsTrimmed = 0;
    for (const t of this.topics.list()) {
      if (!t.deletePolicy || (t.retentionMs < 0 && t.retentionBytes < 0)) continue;
      for (let p = 0; p < t.partitionCount; p++) {
        const st = this.logs.get(t.topicId, p);
        if (!st) continue;
        const target = this.newLogStart(st.log, t.retentionMs, t.retentionBytes);
        if (target > st.log.logStartOffset) {
          await this.topics.advanceLogStart(t, p, target);
          partitionsTrimmed++;
          this.log.info({ topic: t.name, partition: p, logStartOffset: target }, 'retention moved the log start');
        }
      }
    }
    const objectsRemoved = await this.removeUnreferenced();
    return { partitionsTrimmed, objectsRemoved };
  }

  private newLogStart(log: PartitionLog, retentionMs: number, retentionBytes: number): number {
    let start = log.logStartOffset;
    const blocks = log.objectBlocks().filter((b) => b.endOffset > start);
    if (retentionMs >= 0) {
      const cutoff = this.now() - retentionMs;
      for (const b of blocks) {
        if (b.maxTimestamp >= cutoff) break;
        start = b.endOffset;
      }
    }
    if (retentionBytes >= 0) {
      let kept = log.retainedBytes();
      for (const b of blocks) {
        if (b.endOffset <= start) { kept -= b.size; continue; }
        // As Kafka: drop the oldest block only while what remains is still at least the limit.
        if (kept - b.size < retentionBytes) break;
        kept -= b.size;
        start = b.endOffset;
      }
    }
    return Math.min(start, log.uploadedEndOffset, log.highWatermark);
  }

  /** Objects every block of which is below its partition's log start, or of a deleted topic. */
  private async removeUnreferenced(): Promise<number> {
    const removable: ObjectRecord[] = [];
    for (const o of this.index.all()) {
      const needed = o.blocks.some((b) => {
        if (!this.topics.byId(b.topicId)) return false;
        const st = this.logs.get(b.topicId, b.partition);
        return !st || b.endOffset > st.log.logStartOffset;
      });
      if (!needed) removable.push(o);
    }
    let removed = 0;
    for (let i = 0; i < removable.length; i += PARTITIONS_PER_COMMIT_MAX) {
      const chunk = removable.slice(i, i + PARTITIONS_PER_COMMIT_MAX);
      if (await this.registry.commit({ add: [], remove: chunk, guards: [] })) {
        this.index.removed(chunk);
        removed += chunk.length;
      }
    }
    if (removed) {
      for (const st of this.logs.all()) st.log.dropBlocksBelowLogStart();
      this.log.info({ objects: removed }, 'retention released objects');
    }
    return removed;
  }
}
