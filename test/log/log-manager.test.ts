import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogManager, type WalAppender } from '../../src/log/log-manager.js';
import { buildRecordBatch, parseBatches, BatchView } from '../../src/protocol/record-batch.js';

const TOPIC = 'ab'.repeat(16);

/** A WAL stand-in that keeps records in memory and acknowledges in order, on demand. */
class MemoryWal implements WalAppender {
  records: { offset: bigint; type: number; body: Buffer }[] = [];
  private next = 0n;
  failNext = false;
  readonly limits = { recordBytesMax: 1 << 20 };
  async append(body: Buffer, type = 0, onAdmit?: () => void): Promise<bigint> {
    if (this.failNext) { this.failNext = false; throw Object.assign(new Error('full'), { retriable: true }); }
    onAdmit?.();
    const offset = this.next;
    this.next += BigInt(body.length);
    this.records.push({ offset, type, body: Buffer.from(body) });
    return offset;
  }
}

function batch(values: string[], timestamp = 1000, producer?: { id: bigint; epoch: number; seq: number }): BatchView {
  const bytes = buildRecordBatch(values.map((v, i) => ({ value: Buffer.from(v), timestamp: BigInt(timestamp + i) })),
    producer ? { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.seq } : {});
  const parsed = parseBatches(bytes, { batchBytesMax: 1 << 20 });
  assert.ok(Array.isArray(parsed));
  return parsed[0];
}

function toAppend(v: BatchView) {
  return { bytes: v.bytes, recordsCount: v.recordsCount, maxTimestamp: Number(v.maxTimestamp), producerId: v.producerId, producerEpoch: v.producerEpoch, baseSequence: v.baseSequence };
}

test('appends assign consecutive offsets, become readable after the WAL ack, and survive recovery', async () => {
  const wal = new MemoryWal();
  const logs = new LogManager(wal);
  const st = logs.ensure(TOPIC, 0, 3);
  const a = logs.append(st, [toAppend(batch(['a', 'b', 'c']))], null);
  const b = logs.append(st, [toAppend(batch(['d']))], null);
  // This stand-in admits at once (the real WAL admits when the write is formed).
  assert.equal(a.baseOffset, 0);
  assert.equal(b.baseOffset, 3);
  assert.equal(st.log.highWatermark, 0, 'nothing readable before the WAL acknowledges');
  await Promise.all([a.done, b.done]);
  assert.equal(st.log.highWatermark, 4);
  const read = st.log.read(0, 1 << 20, true);
  assert.equal(read.batches.length, 2);
  const first = new BatchView(read.batches[0]);
  assert.equal(first.baseOffset, 0n);
  assert.equal(first.partitionLeaderEpoch, 3);
  assert.equal(new BatchView(read.batches[1]).baseOffset, 3n);

  const again = new LogManager(new MemoryWal());
  assert.equal(again.recover(wal.records, (id) => id === TOPIC), 2);
  const st2 = again.get(TOPIC, 0)!;
  assert.equal(st2.log.highWatermark, 4);
  assert.equal(st2.log.nextOffset, 4);
  assert.deepEqual(st2.log.read(0, 1 << 20, true).batches.map((x) => x.toString('hex')), read.batches.map((x) => x.toString('hex')));
  assert.equal(again.recover([], () => true), 0);
});

test('recovery skips deleted topics and restores idempotent producer state', async () => {
  const wal = new MemoryWal();
  const logs = new LogManager(wal);
  const st = logs.ensure(TOPIC, 1, 0);
  await logs.append(st, [toAppend(batch(['x', 'y'], 5, { id: 7n, epoch: 0, seq: 0 }))], null).done;
  const again = new LogManager(new MemoryWal());
  assert.equal(again.recover(wal.records, () => false), 0);
  assert.equal(again.get(TOPIC, 1), undefined);
  again.recover(wal.records, () => true);
  const producers = again.get(TOPIC, 1)!.producers;
  assert.equal(producers.check(7n, 0, 0, 1).kind, 'duplicate');
  assert.equal(producers.check(7n, 0, 2, 2).kind, 'append');
  const gap = producers.check(7n, 0, 5, 5);
  assert.equal(gap.kind, 'error');
});

test('a WAL append refused before admission consumes no offsets; the next one follows on', async () => {
  const wal = new MemoryWal();
  const logs = new LogManager(wal);
  const st = logs.ensure(TOPIC, 0, 0);
  await logs.append(st, [toAppend(batch(['a']))], null).done;
  wal.failNext = true;
  const failed = logs.append(st, [toAppend(batch(['b', 'c']))], null);
  await assert.rejects(failed.done);
  assert.equal(failed.baseOffset, -1, 'never admitted, never given offsets');
  const c = logs.append(st, [toAppend(batch(['d']))], null);
  await c.done;
  assert.equal(c.baseOffset, 1);
  assert.equal(st.log.highWatermark, 2);
  assert.deepEqual(st.log.read(0, 1 << 20, true).batches.map((x) => new BatchView(x).baseOffset), [0n, 1n]);
});

test('LogAppendTime rewrites maxTimestamp and keeps the CRC valid', async () => {
  const wal = new MemoryWal();
  const logs = new LogManager(wal);
  const st = logs.ensure(TOPIC, 0, 0);
  await logs.append(st, [toAppend(batch(['a'], 10))], 99_000).done;
  const bytes = st.log.read(0, 1 << 20, true).batches[0];
  const parsed = parseBatches(bytes, { batchBytesMax: 1 << 20 });
  assert.ok(Array.isArray(parsed), 'CRC still valid');
  assert.equal(parsed[0].maxTimestamp, 99_000n);
  assert.equal(st.log.maxTimestamp()?.timestamp, 99_000);
});

test('read honours maxBytes but always returns one whole batch first; log start drops old batches', async () => {
  const wal = new MemoryWal();
  const logs = new LogManager(wal);
  const st = logs.ensure(TOPIC, 0, 0);
  for (let i = 0; i < 5; i++) await logs.append(st, [toAppend(batch([`v${i}`.repeat(50)]))], null).done;
  const one = st.log.read(0, 10, true);
  assert.equal(one.batches.length, 1);
  assert.equal(st.log.read(0, 10, false).batches.length, 0);
  st.log.advanceLogStart(2);
  assert.equal(st.log.logStartOffset, 2);
  assert.equal(new BatchView(st.log.read(0, 1 << 20, true).batches[0]).baseOffset, 2n);
  assert.throws(() => st.log.advanceLogStart(99));
});
