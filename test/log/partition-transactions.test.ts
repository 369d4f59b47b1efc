// A partition's transactions: the LSO, the aborted list a read_committed fetch gets, snapshots at an
// upload's end, and recovery of the state from WAL records (markers and transactional batches).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionTransactions } from '../../src/log/partition-transactions.js';
import { ProducerStateTable, isEmptySnapshot, type ProducerSnapshot } from '../../src/log/producer-state.js';
import { LogManager, type WalAppender, type RecoveredRecord } from '../../src/log/log-manager.js';
import { WAL_TYPE_BATCHES } from '../../src/log/wal-entry.js';
import { buildRecordBatch, controlTypeOf, buildControlBatch } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const TOPIC = '0123456789abcdef0123456789abcdef';

test('LSO is the first offset of the oldest open transaction; aborted ranges overlap the fetched range', () => {
  const t = new PartitionTransactions();
  assert.equal(t.lastStableOffset(10), 10);
  t.onData(1n, 10);
  t.onData(2n, 12);
  t.onData(1n, 14); // same transaction: first offset stays 10
  assert.equal(t.lastStableOffset(20), 10);
  t.onMarker(1n, 20, false);
  assert.equal(t.lastStableOffset(21), 12);
  t.onMarker(2n, 21, true);
  assert.equal(t.lastStableOffset(22), 22);
  assert.deepEqual(t.abortedIn(0, 30), [{ producerId: 1n, firstOffset: 10, lastOffset: 20 }]);
  assert.deepEqual(t.abortedIn(21, 30), [], 'an abort wholly before the fetch offset is not sent');
  assert.deepEqual(t.abortedIn(0, 9), [], 'an abort wholly after what was read is not sent');
  // A marker for a producer with nothing open here changes nothing but counts.
  t.onMarker(3n, 22, false);
  assert.equal(t.markerCount(3n), 1);
  assert.deepEqual(t.abortedIn(0, 30).length, 1);
});

test('snapshot at an upload end: transactions open there, aborts below it; restore gives the same answers', () => {
  const t = new PartitionTransactions();
  t.onData(1n, 0);
  t.onMarker(1n, 5, false); // aborted [0, 5]
  t.onData(2n, 6);
  t.onMarker(2n, 9, true); // committed [6, 9], open at offset 8
  t.onData(3n, 10); // still open
  const at8 = t.snapshot(8, 0);
  assert.deepEqual(at8, { open: [['2', 6]], aborted: [['1', 0, 5]] });
  const at12 = t.snapshot(12, 0);
  assert.deepEqual(at12, { open: [['3', 10]], aborted: [['1', 0, 5]] });
  const r = new PartitionTransactions();
  r.restore(at12);
  assert.equal(r.lastStableOffset(12), 10);
  assert.deepEqual(r.abortedIn(0, 12), [{ producerId: 1n, firstOffset: 0, lastOffset: 5 }]);
  // Below the log start no reader can fetch: the abort is dropped.
  assert.deepEqual(t.snapshot(12, 6).aborted, []);
});

test('producer snapshot v2 carries the transactions; older snapshots (bare arrays) still restore', () => {
  const p = new ProducerStateTable();
  p.txns.onData(7n, 0);
  p.applyMarker(7n, 1, 3, false, 1000); // a fencing abort at epoch 1
  const snap = p.snapshot(4, 0);
  assert.ok(!isEmptySnapshot(snap));
  const json = JSON.parse(JSON.stringify(snap)) as ProducerSnapshot;
  const r = new ProducerStateTable();
  r.restore(json);
  assert.deepEqual(r.txns.abortedIn(0, 10), [{ producerId: 7n, firstOffset: 0, lastOffset: 3 }]);
  const late = r.check(7n, 0, 5, 5);
  assert.equal(late.kind === 'error' && late.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'the marker\'s epoch fences the old one after a restore');
  assert.equal(r.markerIsCurrent(7n, 0), false, 'a stale marker of the old epoch is not written');
  const legacy = new ProducerStateTable();
  legacy.restore([{ id: '9', epoch: 0, ts: 1, b: [[0, 0, 0, 0]] }]);
  assert.equal(legacy.check(9n, 0, 0, 0).kind, 'duplicate');
});

test('control batches: built as Kafka lays them out; the type is read back', () => {
  const commit = buildControlBatch(1, 7, { producerId: 5n, producerEpoch: 2, timestamp: 10n });
  const abort = buildControlBatch(0, 7, { producerId: 5n, producerEpoch: 2, timestamp: 10n });
  assert.equal(controlTypeOf(commit), 1);
  assert.equal(controlTypeOf(abort), 0);
  assert.equal(controlTypeOf(buildRecordBatch([{ value: Buffer.from('x') }], { isTransactional: true })), null, 'a data batch has no control type');
  assert.equal(commit.readInt16BE(21) & 0x30, 0x30, 'transactional and control attribute bits');
});

class MemoryWal implements WalAppender {
  readonly limits = { recordBytesMax: 1 << 20 };
  readonly records: RecoveredRecord[] = [];
  async append(body: Buffer, type = WAL_TYPE_BATCHES, onAdmit?: () => void): Promise<bigint> {
    onAdmit?.();
    const offset = BigInt(this.records.length);
    this.records.push({ offset, type, body: Buffer.from(body) });
    return offset;
  }
}

test('recovery from the WAL rebuilds open and aborted transactions from the batches and markers', async () => {
  const wal = new MemoryWal();
  const logs = new LogManager(wal);
  const st = logs.ensure(TOPIC, 0, 0);
  const data = (pid: bigint, seq: number, n: number) => {
    const bytes = buildRecordBatch(Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`v${i}`) })), { producerId: pid, producerEpoch: 0, baseSequence: seq, isTransactional: true });
    return logs.append(st, [{ bytes, recordsCount: n, maxTimestamp: 0, producerId: pid, producerEpoch: 0, baseSequence: seq }], null, (base) => st.producers.txns.onData(pid, base)).done;
  };
  await data(1n, 0, 3); // 0..2
  await data(2n, 0, 2); // 3..4
  await logs.appendMarker(st, { producerId: 1n, producerEpoch: 0, commit: false, coordinatorEpoch: 0 })!.done; // 5
  await data(2n, 2, 1); // 6
  assert.equal(st.producers.txns.lastStableOffset(st.log.highWatermark), 3);
  const again = new LogManager(new MemoryWal());
  again.recover(wal.records, () => true);
  const rs = again.get(TOPIC, 0)!;
  assert.equal(rs.log.highWatermark, 7);
  assert.equal(rs.producers.txns.lastStableOffset(rs.log.highWatermark), 3, 'producer 2 is still open from offset 3');
  assert.deepEqual(rs.producers.txns.abortedIn(0, 7), [{ producerId: 1n, firstOffset: 0, lastOffset: 5 }]);
  assert.equal(rs.producers.check(2n, 0, 3, 3).kind, 'append', 'sequences continue after the marker');
});

test('producer.id.expiration.ms: idle producers are dropped, unless a transaction of theirs is open or a batch in flight', () => {
  let now = 1_000;
  const p = new ProducerStateTable(() => now);
  const durable = Promise.resolve();
  p.record(1n, 0, { firstSeq: 0, lastSeq: 0, baseOffset: 0, lastOffset: 0, durable }, 0);
  p.record(2n, 0, { firstSeq: 0, lastSeq: 0, baseOffset: 1, lastOffset: 1, durable }, 0);
  p.txns.onData(2n, 1);
  p.record(3n, 0, { firstSeq: 0, lastSeq: 0, baseOffset: -1, lastOffset: -1, durable }, 0); // not yet admitted
  now += 500;
  p.record(4n, 0, { firstSeq: 0, lastSeq: 0, baseOffset: 2, lastOffset: 2, durable }, 0);
  assert.equal(p.expire(now, 1_000), 0, 'nobody idle for the whole period yet');
  now += 600;
  assert.equal(p.expire(now, 1_000), 1, 'producer 1 is idle past the period; 2 has an open transaction, 3 a batch in flight, 4 wrote recently');
  assert.equal(p.size, 3);
  const c = p.check(1n, 0, 1, 1);
  assert.equal(c.kind === 'error' && c.errorCode, ErrorCode.UNKNOWN_PRODUCER_ID, 'an expired producer starts over');
  p.applyMarker(2n, 0, 3, true, 0);
  now += 2_000;
  assert.equal(p.expire(now, 1_000), 2, 'once its transaction ended, producer 2 goes too (3 stays: in flight)');
});
