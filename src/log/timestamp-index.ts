/**
 * Offset lookup by timestamp (ListOffsets). Off the hot path, so it may read record headers:
 * uncompressed batches are searched record by record; compressed ones answer with the batch's
 * first offset (decompressing here is not worth a codec dependency per format).
 */
import type { PartitionLog } from './partition-log.js';
import { BATCH_HEADER_BYTES, BatchView, Compression } from '../protocol/record-batch.js';

export function firstRecordAtOrAfter(log: PartitionLog, ts: number): { offset: number; timestamp: number } | null {
  for (const batch of log.batchesFrom(log.logStartOffset)) {
    if (batch.maxTimestamp < ts) continue;
    const hit = scanBatchForTimestamp(batch.bytes, ts, log.logStartOffset);
    if (hit) return hit;
  }
  return null;
}

/**
 * The first record of `bytes` (one batch) with timestamp >= ts at or above `logStart`, or null.
 * Records below the log start (DeleteRecords, retention inside a batch) are skipped, not taken
 * as the answer: Kafka answers the first offset >= log start whose timestamp >= ts.
 */
export function scanBatchForTimestamp(bytes: Buffer, ts: number, logStart: number): { offset: number; timestamp: number } | null {
  const batch = new BatchView(bytes);
  const baseOffset = Number(batch.baseOffset);
  if (Number(batch.lastOffset) < logStart) return null;
  const maxTimestamp = Number(batch.maxTimestamp);
  if (maxTimestamp < ts) return null;
  if (batch.compression !== Compression.None || batch.timestampType !== 0) {
    return { offset: Math.max(baseOffset, logStart), timestamp: maxTimestamp };
  }
  const hit = scanRecords(batch, ts, logStart - baseOffset);
  return hit ? { offset: baseOffset + hit.offsetDelta, timestamp: hit.timestamp } : null;
}

/** Walks the records of an uncompressed batch; returns the first at or after `minOffsetDelta` with timestamp >= ts. */
function scanRecords(batch: BatchView, ts: number, minOffsetDelta: number): { offsetDelta: number; timestamp: number } | null {
  const bytes = batch.bytes;
  const baseTimestamp = Number(batch.baseTimestamp);
  const count = batch.recordsCount;
  const cur = { pos: BATCH_HEADER_BYTES };
  for (let i = 0; i < count && cur.pos < bytes.length; i++) {
    const length = readVarint(bytes, cur);
    const start = cur.pos;
    cur.pos += 1; // attributes
    const timestampDelta = readVarint(bytes, cur);
    const offsetDelta = readVarint(bytes, cur);
    if (offsetDelta >= minOffsetDelta && baseTimestamp + timestampDelta >= ts) return { offsetDelta, timestamp: baseTimestamp + timestampDelta };
    cur.pos = start + length;
  }
  return null;
}

/** Zig-zag varint (records use them for lengths and deltas); values fit in a double here. */
function readVarint(buf: Buffer, cur: { pos: number }): number {
  let value = 0, shift = 0, byte: number;
  do {
    if (cur.pos >= buf.length) return 0;
    byte = buf[cur.pos++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80 && shift < 64);
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}
