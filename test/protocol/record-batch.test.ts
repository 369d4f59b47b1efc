import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '@node-rs/crc32';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  buildRecordBatch, parseBatches, setBaseOffset, setPartitionLeaderEpoch, setMaxTimestampAndCrc, recomputeCrc, verifyCrc,
  BatchView, BatchFramingError, BatchField, baseOffsetOf, lastOffsetOf, maxTimestampOf, splitBatches, type BatchError,
} from '../../src/protocol/record-batch.js';

const records = [
  { key: Buffer.from('k1'), value: Buffer.from('hello'), headers: [{ key: 'h', value: Buffer.from('x') }], timestamp: 1000n },
  { key: null, value: Buffer.from('world'), timestamp: 1500n },
  { value: null, timestamp: 1200n },
];

function good(): Buffer {
  return buildRecordBatch(records, { producerId: 7n, producerEpoch: 1, baseSequence: 10 });
}

function expectError(res: BatchView[] | BatchError, code: number): BatchError {
  assert.ok(!Array.isArray(res), 'expected a rejection');
  assert.equal(res.errorCode, code, res.message);
  return res;
}

describe('record batches', () => {
  test('a good batch parses with its header fields', () => {
    const b = good();
    const res = parseBatches(b, { batchBytesMax: 1 << 20 });
    assert.ok(Array.isArray(res));
    assert.equal(res.length, 1);
    const v = res[0]!;
    assert.equal(v.magic, 2);
    assert.equal(v.batchLength, b.length - 12);
    assert.equal(v.recordsCount, 3);
    assert.equal(v.lastOffsetDelta, 2);
    assert.equal(v.baseTimestamp, 1000n);
    assert.equal(v.maxTimestamp, 1500n);
    assert.equal(v.producerId, 7n);
    assert.equal(v.producerEpoch, 1);
    assert.equal(v.baseSequence, 10);
    assert.equal(v.compression, 0);
    assert.equal(v.timestampType, 0);
    assert.equal(v.isTransactional, false);
    assert.equal(v.isControl, false);
    assert.equal(v.crc, crc32c(b.subarray(21)));
    assert.equal(v.bytes.buffer, b.buffer, 'views share memory with the input');
  });

  test('several batches in one slice', () => {
    const res = parseBatches(Buffer.concat([good(), good(), good()]), { batchBytesMax: 1 << 20 });
    assert.ok(Array.isArray(res));
    assert.equal(res.length, 3);
    assert.deepEqual(parseBatches(Buffer.alloc(0), { batchBytesMax: 100 }), []);
  });

  test('a wrong CRC is CORRUPT_MESSAGE', () => {
    const b = good();
    b[b.length - 1]! ^= 0xff;
    expectError(parseBatches(b, { batchBytesMax: 1 << 20 }), ErrorCode.CORRUPT_MESSAGE);
  });

  test('a truncated batch is CORRUPT_MESSAGE, at every cut', () => {
    const b = good();
    for (let cut = 1; cut < b.length; cut++) {
      expectError(parseBatches(b.subarray(0, cut), { batchBytesMax: 1 << 20 }), ErrorCode.CORRUPT_MESSAGE);
    }
    // a good batch followed by a partial one rejects the whole slice
    const e = expectError(parseBatches(Buffer.concat([b, b.subarray(0, 30)]), { batchBytesMax: 1 << 20 }), ErrorCode.CORRUPT_MESSAGE);
    assert.equal(e.batchIndex, 1);
  });

  test('magic 0 and 1 are UNSUPPORTED_FOR_MESSAGE_FORMAT', () => {
    for (const magic of [0, 1]) {
      const b = good();
      b.writeInt8(magic, 16);
      expectError(parseBatches(b, { batchBytesMax: 1 << 20 }), ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
    }
  });

  test('recordsCount != lastOffsetDelta + 1 is INVALID_RECORD', () => {
    const b = good();
    b.writeInt32BE(5, 57);
    recomputeCrc(b);
    expectError(parseBatches(b, { batchBytesMax: 1 << 20 }), ErrorCode.INVALID_RECORD);
  });

  test('a batch above batchBytesMax is MESSAGE_TOO_LARGE', () => {
    const b = good();
    expectError(parseBatches(b, { batchBytesMax: b.length - 1 }), ErrorCode.MESSAGE_TOO_LARGE);
    assert.ok(Array.isArray(parseBatches(b, { batchBytesMax: b.length })));
  });

  test('a batchLength shorter than a header is CORRUPT_MESSAGE', () => {
    const b = good();
    b.writeInt32BE(10, 8);
    expectError(parseBatches(b, { batchBytesMax: 1 << 20 }), ErrorCode.CORRUPT_MESSAGE);
  });

  test('setters rewrite in place and keep the CRC valid', () => {
    const b = good();
    const crcBefore = b.readUInt32BE(17);
    setBaseOffset(b, 123456789012n);
    setPartitionLeaderEpoch(b, 42);
    assert.equal(b.readUInt32BE(17), crcBefore, 'baseOffset and epoch are outside the CRC');
    assert.ok(verifyCrc(b));
    setMaxTimestampAndCrc(b, 99999n);
    assert.ok(verifyCrc(b));
    const res = parseBatches(b, { batchBytesMax: 1 << 20 });
    assert.ok(Array.isArray(res));
    const v = res[0]!;
    assert.equal(v.baseOffset, 123456789012n);
    assert.equal(v.lastOffset, 123456789014n);
    assert.equal(v.partitionLeaderEpoch, 42);
    assert.equal(v.maxTimestamp, 99999n);
    assert.equal(v.timestampType, 1, 'LogAppendTime is marked in the attributes');
  });

  test('splitBatches cuts concatenated batches into views, checking every length', () => {
    const a = good();
    const b = buildRecordBatch([{ value: Buffer.from('x'.repeat(100)) }], { baseOffset: 3n });
    const both = Buffer.concat([a, b]);
    const parts = splitBatches(both);
    assert.deepEqual(parts.map((p) => p.length), [a.length, b.length]);
    assert.equal(parts[1]!.buffer, both.buffer, 'a view, not a copy');
    assert.equal(parts[1]!.byteOffset, both.byteOffset + a.length);
    assert.deepEqual(splitBatches(Buffer.alloc(0)), []);
    const framing = (reason: string) => (e: unknown) => e instanceof BatchFramingError && e.reason === reason;
    // Every cut inside the second batch: too few bytes for a length, or a length past the end.
    for (let cut = a.length + 1; cut < both.length; cut++) {
      assert.throws(() => splitBatches(both.subarray(0, cut)), framing(cut - a.length < 12 ? 'truncated' : 'bounds'), `cut at ${cut}`);
      assert.equal(splitBatches(both.subarray(0, cut), { partialTail: true }).length, 1, `partial tail at ${cut} is dropped`);
    }
    for (const len of [-1, 0, 48]) {
      const bad = Buffer.from(both);
      bad.writeInt32BE(len, a.length + BatchField.BatchLength);
      assert.throws(() => splitBatches(bad), framing('bounds'), `batchLength ${len}`);
      assert.throws(() => splitBatches(bad, { partialTail: true }), framing('bounds'), `batchLength ${len} is corrupt, not partial`);
    }
  });

  test('header readers give the log its numbers', () => {
    const b = buildRecordBatch([{ value: null, timestamp: 5n }, { value: null, timestamp: 9n }], { baseOffset: 40n });
    assert.equal(baseOffsetOf(b), 40);
    assert.equal(lastOffsetOf(b), 41);
    assert.equal(maxTimestampOf(b), 9);
    assert.equal(b.readInt32BE(BatchField.RecordsCount), new BatchView(b).recordsCount);
  });
});
