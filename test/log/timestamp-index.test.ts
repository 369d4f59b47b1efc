// ListOffsets by timestamp below the log start (issue 11): the cache path (firstRecordAtOrAfter)
// and the object path (ReadPath.offsetForTimestamp) both answer the first offset >= the log start
// whose timestamp >= the target, never null because an earlier, deleted record matched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionLog, type ObjectBlockRef } from '../../src/log/partition-log.js';
import { ReadPath, type BlockReader } from '../../src/log/read-path.js';
import { firstRecordAtOrAfter, scanBatchForTimestamp } from '../../src/log/timestamp-index.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';

const TOPIC = 'cd'.repeat(16);

/** One uncompressed batch at `baseOffset` whose records carry `timestamps`. */
function batchAt(baseOffset: number, timestamps: number[], opts: { logAppendTime?: boolean } = {}): Buffer {
  return buildRecordBatch(timestamps.map((t, i) => ({ value: Buffer.from(`v${baseOffset + i}`), timestamp: BigInt(t) })),
    { baseOffset: BigInt(baseOffset), logAppendTime: opts.logAppendTime });
}

function logOf(batches: Buffer[]): PartitionLog {
  const log = new PartitionLog(TOPIC, 0, 0);
  for (const bytes of batches) {
    const base = Number(bytes.readBigInt64BE(0));
    log.commit({ baseOffset: base, lastOffset: base + bytes.readInt32BE(23), maxTimestamp: Number(bytes.readBigInt64BE(35)), bytes, walOffset: 0n }, 0);
  }
  return log;
}

/** Uploads every batch of `log` as one object block and drops the cache, as cache.max.bytes=0 does. */
function uploadAndEvict(log: PartitionLog, batches: Buffer[]): BlockReader {
  const block = Buffer.concat(batches);
  const ref: ObjectBlockRef = {
    objectId: 'o1', objectKey: 'k/o1', objectSize: block.length, baseOffset: 0, endOffset: log.highWatermark,
    maxTimestamp: Math.max(...batches.map((b) => Number(b.readBigInt64BE(35)))), position: 0, size: block.length,
  };
  log.addObjectBlocks([ref]);
  log.evictUploaded(Number.MAX_SAFE_INTEGER);
  assert.equal(log.batchCount, 0);
  return {
    readBlocks: async (refs) => refs.map(() => block),
    readPartition: async () => [block],
  };
}

test('cache: after the log start moves inside a batch, the lookup answers the first record at or above it', () => {
  const log = logOf([batchAt(0, [1000, 1010, 1020, 1030, 1040])]);
  assert.deepEqual(firstRecordAtOrAfter(log, 0), { offset: 0, timestamp: 1000 });
  log.advanceLogStart(2);
  assert.deepEqual(firstRecordAtOrAfter(log, 0), { offset: 2, timestamp: 1020 });
  assert.deepEqual(firstRecordAtOrAfter(log, 1025), { offset: 3, timestamp: 1030 });
  assert.equal(firstRecordAtOrAfter(log, 1041), null);
});

test('a record below the log start with a later timestamp does not hide the ones above it', () => {
  // Offset 1 (deleted) matches 4000 first; offset 3 is the first kept record that does.
  const bytes = batchAt(0, [1000, 5000, 2000, 6000]);
  assert.deepEqual(scanBatchForTimestamp(bytes, 4000, 2), { offset: 3, timestamp: 6000 });
  assert.equal(scanBatchForTimestamp(bytes, 4000, 4), null, 'the whole batch is below the log start');
});

test('a LogAppendTime batch wholly below the log start is not answered as the log start', () => {
  const old = batchAt(0, [9000, 9000], { logAppendTime: true });
  assert.equal(scanBatchForTimestamp(old, 5000, 2), null);
  assert.deepEqual(scanBatchForTimestamp(old, 5000, 1), { offset: 1, timestamp: 9000 });
});

test('objects: uploaded and evicted, the lookup skips deleted records in the block', async () => {
  const batches = [batchAt(0, [1000, 1010, 1020, 1030, 1040]), batchAt(5, [9000, 9010]), batchAt(7, [1050, 1060])];
  const log = logOf(batches);
  const reads = new ReadPath(uploadAndEvict(log, batches));
  const lookup = (ts: number) => reads.offsetForTimestamp(log, ts, () => firstRecordAtOrAfter(log, ts));
  assert.deepEqual(await lookup(0), { offset: 0, timestamp: 1000 });
  log.advanceLogStart(2);
  assert.deepEqual(await lookup(0), { offset: 2, timestamp: 1020 });
  log.advanceLogStart(6);
  assert.deepEqual(await lookup(0), { offset: 6, timestamp: 9010 });
  assert.deepEqual(await lookup(9005), { offset: 6, timestamp: 9010 });
  log.advanceLogStart(7);
  assert.deepEqual(await lookup(5000), null, 'only the batch below the log start is that late');
  assert.deepEqual(await lookup(0), { offset: 7, timestamp: 1050 });
});
