/**
 * PartitionLog on its own (no WAL, no broker): offsets and the high watermark, reads with
 * KIP-74's first whole batch, cache eviction of uploaded data, the log start, object blocks
 * (which must never overlap) and the leader-epoch history behind OffsetForLeaderEpoch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionLog, type CachedBatch, type ObjectBlockRef } from '../../src/log/partition-log.js';
import { InvariantError } from '../../src/common/assert.js';
import { buildRecordBatch, baseOffsetOf } from '../../src/protocol/record-batch.js';

const TOPIC = 'cd'.repeat(16);

/** A real batch of `count` records of `valueBytes` each, at `baseOffset`. */
function cached(baseOffset: number, count = 1, opts: { valueBytes?: number; ts?: number; walOffset?: bigint } = {}): CachedBatch {
  const ts = opts.ts ?? 1_000 + baseOffset;
  const bytes = buildRecordBatch(
    Array.from({ length: count }, (_, i) => ({ value: Buffer.alloc(opts.valueBytes ?? 10, i), timestamp: BigInt(ts + i) })),
    { baseOffset: BigInt(baseOffset) },
  );
  return { baseOffset, lastOffset: baseOffset + count - 1, maxTimestamp: ts + count - 1, bytes, walOffset: opts.walOffset ?? BigInt(baseOffset * 100) };
}

/** A log with batches of `counts` records each, committed back to back at `epoch`. */
function logWith(counts: number[], epoch = 0, valueBytes = 10): { log: PartitionLog; batches: CachedBatch[] } {
  const log = new PartitionLog(TOPIC, 0, epoch);
  const batches: CachedBatch[] = [];
  for (const n of counts) {
    const b = cached(log.reserve(n), n, { valueBytes });
    log.commit(b, epoch);
    batches.push(b);
  }
  return { log, batches };
}

function block(objectId: string, baseOffset: number, endOffset: number, extra: Partial<ObjectBlockRef> = {}): ObjectBlockRef {
  return { objectId, objectKey: `k/${objectId}`, objectSize: 1000, baseOffset, endOffset, maxTimestamp: 1_000 + endOffset, position: 0, size: 100, ...extra };
}

const bases = (bufs: Buffer[]) => bufs.map(baseOffsetOf);

test('reserve hands out dense offsets; only committed batches are readable, up to the high watermark', () => {
  const log = new PartitionLog(TOPIC, 0, 0);
  assert.equal(log.reserve(3), 0);
  assert.equal(log.reserve(2), 3);
  assert.equal(log.nextOffset, 5);
  assert.equal(log.highWatermark, 0, 'reserved is not durable');
  assert.deepEqual(log.read(0, 1 << 20, true).batches, []);
  log.commit(cached(0, 3), 0);
  assert.equal(log.highWatermark, 3);
  assert.equal(log.nextOffset, 5, 'the next reservation is untouched by a commit below it');
  log.commit(cached(3, 2), 0);
  assert.equal(log.highWatermark, 5);
  assert.deepEqual(bases(log.read(0, 1 << 20, true).batches), [0, 3]);
  assert.throws(() => log.reserve(0), InvariantError);
});

test('commit refuses what would break the log: offsets below the high watermark, a batch ending before it starts, an epoch going back', () => {
  const { log } = logWith([2, 2], 3);
  assert.throws(() => log.commit(cached(3, 1), 3), InvariantError, 'overlaps the last batch');
  assert.throws(() => log.commit({ ...cached(4, 1), lastOffset: 3 }, 3), InvariantError);
  assert.throws(() => log.commit(cached(4, 1), 2), /leader epoch went backwards/);
  assert.equal(log.highWatermark, 4, 'nothing of a refused commit is applied');
  assert.equal(log.batchCount, 2);
  // A gap (only in WALs from before offsets were reserved at admission) is accepted and moves nextOffset along.
  log.commit(cached(10, 1), 3);
  assert.equal(log.highWatermark, 11);
  assert.equal(log.nextOffset, 11);
});

test('read starts at the batch holding the offset and stops at maxBytes', () => {
  const { log, batches } = logWith([3, 3, 3, 3], 0, 100);
  const size = batches[0].bytes.length;
  assert.deepEqual(bases(log.read(4, 1 << 20, false).batches), [3, 6, 9], 'offset 4 is inside the batch at 3');
  const two = log.read(0, 2 * size + size / 2, false);
  assert.deepEqual(bases(two.batches), [0, 3], 'a batch that would go past maxBytes is left out');
  assert.equal(two.bytes, 2 * size);
  assert.deepEqual(bases(log.read(0, 2 * size, false).batches), [0, 3], 'exactly maxBytes');
  assert.deepEqual(log.read(12, 1 << 20, true).batches, [], 'at the high watermark: nothing');
  assert.deepEqual(log.read(99, 1 << 20, true).batches, []);
  // The returned buffers are the cache's own (no copy on the read path).
  assert.equal(log.read(0, 1 << 20, false).batches[0], batches[0].bytes);
});

test('KIP-74: with minOneBatch the first batch comes whole even above maxBytes, and nothing after it', () => {
  const { log, batches } = logWith([1, 1, 1], 0, 1_000);
  const one = log.read(0, 10, true);
  assert.deepEqual(bases(one.batches), [0]);
  assert.equal(one.bytes, batches[0].bytes.length);
  assert.deepEqual(log.read(0, 10, false).batches, [], 'without minOneBatch (not the first partition of a fetch) nothing fits');
  assert.deepEqual(bases(log.read(1, batches[1].bytes.length + 10, true).batches), [1], 'the second batch would pass the limit');
  assert.deepEqual(log.read(0, 0, false), { batches: [], bytes: 0 });
});

test('bytesAvailable counts from the batch holding the offset, up to the cap', () => {
  const { log, batches } = logWith([2, 2, 2], 0, 50);
  const size = batches[0].bytes.length;
  assert.equal(log.bytesAvailable(0, 1 << 20), 3 * size);
  assert.equal(log.bytesAvailable(3, 1 << 20), 2 * size);
  assert.equal(log.bytesAvailable(0, 1), size, 'stops once the cap is reached');
  assert.equal(log.bytesAvailable(6, 1 << 20), 0);
});

test('evictUploaded drops only batches already in objects, oldest first, until enough is freed', () => {
  const { log, batches } = logWith([2, 2, 2, 2], 0, 50);
  const size = batches[0].bytes.length;
  assert.equal(log.sizeBytes, 4 * size);
  assert.equal(log.evictUploaded(1 << 20), 0, 'nothing is uploaded yet: nothing may go');
  log.addObjectBlocks([block('o1', 0, 6)]);
  assert.equal(log.uploadedEndOffset, 6);
  assert.equal(log.evictUploaded(1), size, 'one batch frees enough');
  assert.equal(log.cacheStartOffset, 2);
  assert.equal(log.evictUploaded(1 << 20), 2 * size, 'the batch at 6 is not uploaded and stays');
  assert.equal(log.cacheStartOffset, 6);
  assert.equal(log.sizeBytes, size);
  assert.deepEqual(bases(log.read(0, 1 << 20, true).batches), [6], 'the cache serves from its start; the rest is in objects');
  assert.equal(log.highWatermark, 8);
});

test('pendingUpload and firstPendingWalOffset follow what is committed to objects', () => {
  const { log, batches } = logWith([1, 1, 1], 0);
  assert.deepEqual(log.pendingUpload().map((b) => b.baseOffset), [0, 1, 2]);
  assert.equal(log.firstPendingWalOffset(), batches[0].walOffset);
  assert.equal(log.oldestWalOffset(), batches[0].walOffset);
  log.addObjectBlocks([block('o1', 0, 2)]);
  assert.deepEqual(log.pendingUpload().map((b) => b.baseOffset), [2]);
  assert.equal(log.firstPendingWalOffset(), batches[2].walOffset);
  log.addObjectBlocks([block('o2', 2, 3)]);
  assert.deepEqual(log.pendingUpload(), []);
  assert.equal(log.firstPendingWalOffset(), null);
  assert.equal(log.oldestWalOffset(), batches[0].walOffset, 'still cached: the WAL is trimmed by the pending offset, not this');
});

test('addObjectBlocks asserts blocks are disjoint and not empty; blocks past the high watermark raise it (recovery)', () => {
  const log = new PartitionLog(TOPIC, 0, 0);
  log.addObjectBlocks([block('b', 10, 20), block('a', 0, 10)]);
  assert.deepEqual(log.objectBlocks().map((b) => b.objectId), ['a', 'b'], 'kept sorted by offset');
  assert.equal(log.highWatermark, 20, 'uploaded data is durable: the log resumes after it');
  assert.equal(log.nextOffset, 20);
  assert.throws(() => log.addObjectBlocks([block('c', 15, 25)]), (err: unknown) => {
    assert.ok(err instanceof InvariantError);
    assert.match(err.message, /object blocks overlap/);
    assert.match(err.message, /\[10, 20\) of b/);
    assert.match(err.message, /\[15, 25\) of c/);
    return true;
  });
  const fresh = new PartitionLog(TOPIC, 1, 0);
  assert.throws(() => fresh.addObjectBlocks([block('e', 5, 5)]), /empty object block/);
  // Compaction swaps blocks: the result must be disjoint too.
  const swap = new PartitionLog(TOPIC, 2, 0);
  swap.addObjectBlocks([block('x', 0, 5), block('y', 5, 10), block('z', 10, 15)]);
  swap.replaceObjectBlocks(new Set(['x', 'y']), [block('xy', 0, 10)]);
  assert.deepEqual(swap.objectBlocks().map((b) => [b.objectId, b.baseOffset, b.endOffset]), [['xy', 0, 10], ['z', 10, 15]]);
  assert.throws(() => swap.replaceObjectBlocks(new Set(['xy']), [block('bad', 0, 12)]), InvariantError);
});

test('advanceLogStart drops batches wholly below it, keeps one it splits, and never goes back or past the high watermark', () => {
  const { log, batches } = logWith([3, 3, 3], 0, 20);
  const size = batches[0].bytes.length;
  log.advanceLogStart(4);
  assert.equal(log.logStartOffset, 4);
  assert.equal(log.batchCount, 2, 'the batch at 3..5 holds the new start and stays');
  assert.equal(log.sizeBytes, 2 * size);
  assert.deepEqual(bases(log.read(0, 1 << 20, true).batches), [3, 6], 'a read below the start begins at it');
  assert.deepEqual([...log.batchesFrom(0)].map((b) => b.baseOffset), [3, 6]);
  log.advanceLogStart(2);
  assert.equal(log.logStartOffset, 4, 'never backwards');
  log.advanceLogStart(9);
  assert.equal(log.batchCount, 0);
  assert.equal(log.cacheStartOffset, 9);
  assert.throws(() => log.advanceLogStart(10), /beyond high watermark/);
});

test('retained bytes, objects below the log start, and dropping their blocks', () => {
  const { log, batches } = logWith([5, 5, 5], 0, 10);
  log.addObjectBlocks([block('a', 0, 5, { size: 100 }), block('b', 5, 10, { size: 200 })]);
  const tail = batches[2].bytes.length;
  assert.equal(log.retainedBytes(), 100 + 200 + tail, 'objects plus the cache not yet uploaded');
  assert.deepEqual(log.objectsBelowLogStart(), new Set());
  log.advanceLogStart(5);
  assert.deepEqual(log.objectsBelowLogStart(), new Set(['a']));
  assert.equal(log.retainedBytes(), 200 + tail);
  log.dropBlocksBelowLogStart();
  assert.deepEqual(log.objectBlocks().map((b) => b.objectId), ['b']);
  // An object with one block still needed is not released even if another of its blocks is below.
  const shared = new PartitionLog(TOPIC, 1, 0);
  shared.addObjectBlocks([block('s', 0, 5), block('t', 5, 8), block('s', 8, 10)]);
  shared.advanceLogStart(8);
  assert.deepEqual(shared.objectsBelowLogStart(), new Set(['t']));
});

test('maxTimestamp is the newest timestamp seen and the last offset of its batch', () => {
  const log = new PartitionLog(TOPIC, 0, 0);
  assert.equal(log.maxTimestamp(), null);
  log.commit(cached(log.reserve(2), 2, { ts: 5_000 }), 0);
  log.commit(cached(log.reserve(3), 3, { ts: 9_000 }), 0);
  log.commit(cached(log.reserve(1), 1, { ts: 7_000 }), 0);
  assert.deepEqual(log.maxTimestamp(), { offset: 4, timestamp: 9_002 });
});

test('endOffsetForEpoch: the start of the next larger epoch, the high watermark for the current one, -1 below the first', () => {
  const empty = new PartitionLog(TOPIC, 0, 4);
  assert.deepEqual(empty.endOffsetForEpoch(2), { epoch: 4, endOffset: 0 }, 'no history yet: the current epoch at the high watermark');

  const log = new PartitionLog(TOPIC, 0, 1);
  const commitAt = (epoch: number, n: number) => log.commit(cached(log.reserve(n), n), epoch);
  commitAt(1, 3); // epoch 1: 0..2
  commitAt(1, 2); // 3..4
  commitAt(3, 4); // epoch 3: 5..8
  commitAt(6, 2); // epoch 6: 9..10
  log.leaderEpoch = 6;
  assert.deepEqual(log.endOffsetForEpoch(0), { epoch: -1, endOffset: -1 }, 'older than anything this log has');
  assert.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 5 });
  assert.deepEqual(log.endOffsetForEpoch(2), { epoch: 1, endOffset: 5 }, 'an epoch with no batches answers the largest one below it');
  assert.deepEqual(log.endOffsetForEpoch(3), { epoch: 3, endOffset: 9 });
  assert.deepEqual(log.endOffsetForEpoch(5), { epoch: 3, endOffset: 9 });
  assert.deepEqual(log.endOffsetForEpoch(6), { epoch: 6, endOffset: 11 });
  assert.deepEqual(log.endOffsetForEpoch(9), { epoch: 6, endOffset: 11 }, 'a future epoch: the current one');
  // A new leader epoch without batches yet: asking for the last written epoch gets the high watermark, labelled with it.
  log.leaderEpoch = 8;
  assert.deepEqual(log.endOffsetForEpoch(6), { epoch: 6, endOffset: 11 });
  assert.deepEqual(log.endOffsetForEpoch(8), { epoch: 8, endOffset: 11 });
});
