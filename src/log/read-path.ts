/**
 * Reads for Fetch and ListOffsets: the log cache first; below the cache, the object store
 * through a block reader (block cache + readahead). Only requests that need object data wait
 * for it: a fetch the cache can answer never touches the object store. For a read replica in
 * another zone (FerryRemoteFetch), blockRefs names the blocks it reads itself.
 */
import type { PartitionLog, ReadResult, ObjectBlockRef } from './partition-log.js';
import { scanBatchForTimestamp } from './timestamp-index.js';
import { baseOffsetOf, lastOffsetOf, maxTimestampOf, splitBatches } from '../protocol/record-batch.js';

/** Fetches whole object blocks (the broker's is backed by the block cache). */
export interface BlockReader {
  readBlocks(blocks: readonly ObjectBlockRef[]): Promise<Buffer[]>;
  /** The blocks of one partition from the one holding `offset`, about `maxBytes` (readahead follows sequential readers). */
  readPartition(blocks: readonly ObjectBlockRef[], offset: number, maxBytes: number): Promise<Buffer[]>;
}

export class ReadPath {
  constructor(private readonly reader: BlockReader | null) {}

  /** True when serving `offset` needs the object store. */
  needsObjects(log: PartitionLog, offset: number): boolean {
    return this.reader !== null && offset < log.cacheStartOffset && offset < log.uploadedEndOffset;
  }

  /** Batches from `offset`, none at or past `upTo` (the high watermark, or the LSO for read_committed). */
  async read(log: PartitionLog, offset: number, maxBytes: number, minOneBatch: boolean, upTo = log.highWatermark): Promise<ReadResult> {
    if (offset >= upTo) return { batches: [], bytes: 0 };
    if (!this.needsObjects(log, offset)) return log.read(offset, maxBytes, minOneBatch, upTo);
    const from = Math.max(offset, log.logStartOffset);
    const blocks = await this.reader!.readPartition(log.objectBlocks(), from, maxBytes);
    if (blocks.length === 0) return log.read(offset, maxBytes, minOneBatch, upTo);
    const out: Buffer[] = [];
    let bytes = 0;
    for (const block of blocks) {
      for (const batch of splitBatches(block)) {
        if (lastOffsetOf(batch) < from) continue;
        if (baseOffsetOf(batch) >= upTo) return { batches: out, bytes };
        if (bytes + batch.length > maxBytes && !(minOneBatch && out.length === 0)) return { batches: out, bytes };
        out.push(batch);
        bytes += batch.length;
      }
    }
    return { batches: out, bytes };
  }

  /** ListOffsets MAX_TIMESTAMP: the newest batch maxTimestamp over object blocks and the cache. */
  async maxTimestamp(log: PartitionLog): Promise<{ offset: number; timestamp: number } | null> {
    const cached = log.maxTimestamp();
    if (!this.reader) return cached;
    let best: ObjectBlockRef | null = null;
    for (const ref of log.objectBlocks()) {
      if (ref.endOffset > log.logStartOffset && ref.baseOffset < log.cacheStartOffset && (!best || ref.maxTimestamp > best.maxTimestamp)) best = ref;
    }
    if (!best || (cached && cached.timestamp >= best.maxTimestamp)) return cached;
    const [block] = await this.reader.readBlocks([best]);
    let hit: { offset: number; timestamp: number } | null = null;
    for (const batch of splitBatches(block)) {
      const t = maxTimestampOf(batch);
      if (!hit || t > hit.timestamp) hit = { offset: lastOffsetOf(batch), timestamp: t };
    }
    return hit;
  }

  /** ListOffsets by timestamp over object blocks, then the cache. */
  async offsetForTimestamp(log: PartitionLog, ts: number, cacheLookup: () => { offset: number; timestamp: number } | null): Promise<{ offset: number; timestamp: number } | null> {
    if (this.reader) {
      for (const ref of log.objectBlocks()) {
        if (ref.endOffset <= log.logStartOffset || ref.maxTimestamp < ts) continue;
        if (ref.baseOffset >= log.cacheStartOffset) break;
        const [block] = await this.reader.readBlocks([ref]);
        for (const batch of splitBatches(block)) {
          const hit = scanBatchForTimestamp(batch, ts, log.logStartOffset);
          if (hit) return hit;
        }
      }
    }
    return cacheLookup();
  }
}

/**
 * For a read replica: the object blocks holding [offset, min(upTo, uploaded end)), in offset
 * order, about `maxBytes` of them (at least one), then up to `aheadBytes` more (not counted in
 * `bytes`) for the replica's readahead. `end` is where the counted blocks stop (`offset` when
 * there are none): past it the replica gets the tail only when `end` reached the uploaded end.
 */
export function blockRefs(log: PartitionLog, offset: number, upTo: number, maxBytes: number, aheadBytes = 0): { refs: ObjectBlockRef[]; bytes: number; end: number } {
  const from = Math.max(offset, log.logStartOffset);
  const stop = Math.min(upTo, log.uploadedEndOffset);
  const blocks = log.objectBlocks();
  let lo = 0, hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (blocks[mid].endOffset <= from) lo = mid + 1; else hi = mid;
  }
  const refs: ObjectBlockRef[] = [];
  let bytes = 0;
  let end = from;
  let i = lo;
  for (; i < blocks.length && blocks[i].baseOffset < stop; i++) {
    if (refs.length > 0 && bytes + blocks[i].size > maxBytes) break;
    refs.push(blocks[i]);
    bytes += blocks[i].size;
    end = Math.min(blocks[i].endOffset, stop);
    if (bytes >= maxBytes) { i++; break; }
  }
  if (end < stop) {
    for (let ahead = 0; i < blocks.length && blocks[i].baseOffset < stop && ahead < aheadBytes; i++) {
      refs.push(blocks[i]);
      ahead += blocks[i].size;
    }
  }
  return { refs, bytes, end: Math.max(end, from) };
}
