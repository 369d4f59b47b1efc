// Records inside batches: readRecords on plain and compressed batches, rebuildBatch (offsets, deltas,
// CRC, maxTimestamp), keylessRecords, and malformed records (every failure a RecordsFormatError or,
// for records that do not decompress, a CompressionError).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { ErrorCode } from '../../src/protocol/errors.js';
import { BatchField, BatchView, buildRecordBatch, recomputeCrc, verifyCrc, type RecordInput } from '../../src/protocol/record-batch.js';
import { CompressionError, compress, loadCompressionCodecs } from '../../src/protocol/compression.js';
import { Writer } from '../../src/protocol/primitives.js';
import { keylessRecords, readRecords, rebuildBatch, RecordsFormatError } from '../../src/protocol/records.js';

const BASE_TS = 1_700_000_000_000n;
const INPUT: RecordInput[] = [
  { key: Buffer.from('k0'), value: Buffer.from('v0'), timestamp: BASE_TS },
  { key: Buffer.from('k1'), value: null, timestamp: BASE_TS + 5n, headers: [{ key: 'h', value: Buffer.from('x') }, { key: 'n', value: null }] },
  { key: null, value: Buffer.from('keyless'), timestamp: BASE_TS - 3n },
  { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: BASE_TS + 900n },
  { key: Buffer.from('k4'), value: Buffer.from('v4'.repeat(300)), timestamp: BASE_TS + 40n },
  { key: null, value: null, timestamp: BASE_TS + 100_000n },
];
const BATCH_OPTS = { baseOffset: 1000n, partitionLeaderEpoch: 7, producerId: 42n, producerEpoch: 3, baseSequence: 17 };
const CODECS = [0, 1, 2, 3, 4];

/** The batch with its records section compressed by `codec` (attributes, batchLength and CRC set). */
function compressed(batch: Buffer, codec: number): Buffer {
  if (codec === 0) return batch;
  const packed = compress(codec, batch.subarray(61));
  const out = Buffer.concat([batch.subarray(0, 61), packed]);
  out.writeInt16BE((out.readInt16BE(BatchField.Attributes) & ~7) | codec, BatchField.Attributes);
  out.writeInt32BE(out.length - 12, BatchField.BatchLength);
  recomputeCrc(out);
  return out;
}

/** A batch header taken from a real batch, followed by `records` bytes as given (count and length patched). */
function withRecordBytes(records: Buffer, count: number, lastOffsetDelta = count - 1): Buffer {
  const header = Buffer.from(buildRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('v') }], BATCH_OPTS).subarray(0, 61));
  const out = Buffer.concat([header, records]);
  out.writeInt32BE(out.length - 12, BatchField.BatchLength);
  out.writeInt32BE(count, BatchField.RecordsCount);
  out.writeInt32BE(lastOffsetDelta, BatchField.LastOffsetDelta);
  recomputeCrc(out);
  return out;
}

interface RawRecord { attributes?: number; tsDelta?: bigint; offsetDelta?: number; keyLength?: number; key?: Buffer; valueLength?: number; value?: Buffer; headers?: number; headerBytes?: Buffer; lengthAdjust?: number }

/** One record encoded field by field, so tests can put wrong values in any field. */
function rawRecord(r: RawRecord): Buffer {
  const body = new Writer(64);
  body.int8(r.attributes ?? 0);
  body.varlong(r.tsDelta ?? 0n);
  body.varint(r.offsetDelta ?? 0);
  const key = r.key ?? Buffer.from('key');
  body.varint(r.keyLength ?? key.length);
  if ((r.keyLength ?? key.length) > 0) body.raw(key);
  const value = r.value ?? Buffer.from('value');
  body.varint(r.valueLength ?? value.length);
  if ((r.valueLength ?? value.length) > 0) body.raw(value);
  body.varint(r.headers ?? 0);
  if (r.headerBytes) body.raw(r.headerBytes);
  const b = Buffer.from(body.toBuffer());
  const w = new Writer(b.length + 5);
  w.varint(b.length + (r.lengthAdjust ?? 0));
  w.raw(b);
  return Buffer.from(w.toBuffer());
}

function assertFormatError(fn: () => unknown, pattern: RegExp, what: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RecordsFormatError, `${what}: ${String(e)}`);
    assert.equal(e.errorCode, ErrorCode.CORRUPT_MESSAGE);
    assert.match(e.message, pattern, what);
    return true;
  }, what);
}

describe('records inside batches', () => {
  before(() => loadCompressionCodecs());

  test('readRecords gives every field of a plain batch, as views of the batch', () => {
    const batch = buildRecordBatch(INPUT, BATCH_OPTS);
    const records = readRecords(batch);
    assert.equal(records.length, INPUT.length);
    records.forEach((r, i) => {
      assert.equal(r.offsetDelta, i);
      assert.equal(r.timestamp, Number(INPUT[i]!.timestamp));
      assert.deepEqual(r.key, INPUT[i]!.key ?? null);
      assert.equal(r.valueIsNull, INPUT[i]!.value === null);
      assert.equal(r.bytes.buffer, batch.buffer, 'a view, not a copy');
    });
    // The records' bytes tile the records section exactly.
    assert.ok(Buffer.concat(records.map((r) => r.bytes)).equals(batch.subarray(61)));
  });

  test('compressed batches (every codec) read the same as the plain batch', () => {
    const plain = buildRecordBatch(INPUT, BATCH_OPTS);
    const expected = readRecords(plain);
    for (const codec of CODECS) {
      const batch = compressed(plain, codec);
      assert.equal(new BatchView(batch).compression, codec);
      const got = readRecords(batch);
      assert.equal(got.length, expected.length, `codec ${codec}`);
      got.forEach((r, i) => {
        const e = expected[i]!;
        assert.equal(r.offsetDelta, e.offsetDelta);
        assert.equal(r.timestamp, e.timestamp);
        assert.deepEqual(r.key, e.key);
        assert.equal(r.valueIsNull, e.valueIsNull);
        assert.ok(r.bytes.equals(e.bytes), `codec ${codec} record ${i} bytes`);
      });
    }
  });

  test('LogAppendTime batches give every record the batch maxTimestamp', () => {
    const batch = buildRecordBatch(INPUT, { ...BATCH_OPTS, logAppendTime: true });
    batch.writeBigInt64BE(BASE_TS + 12_345n, BatchField.MaxTimestamp);
    recomputeCrc(batch);
    for (const r of readRecords(batch)) assert.equal(r.timestamp, Number(BASE_TS + 12_345n));
  });

  test('negative timestamp deltas and timestamps before 1970 stay exact', () => {
    const batch = buildRecordBatch([{ value: Buffer.from('a'), timestamp: -5_000n }, { value: Buffer.from('b'), timestamp: -(2n ** 40n) }]);
    assert.deepEqual(readRecords(batch).map((r) => r.timestamp), [-5_000, -(2 ** 40)]);
  });

  test('rebuildBatch keeps offsets, lastOffsetDelta and header fields; recomputes count, maxTimestamp, length and CRC (every codec)', () => {
    const plain = buildRecordBatch(INPUT, BATCH_OPTS);
    for (const codec of CODECS) {
      const original = compressed(plain, codec);
      const all = readRecords(original);
      const kept = [all[1]!, all[2]!, all[4]!];
      const rebuilt = rebuildBatch(original, kept);
      const o = new BatchView(original);
      const v = new BatchView(rebuilt);
      assert.ok(verifyCrc(rebuilt), `codec ${codec}: CRC`);
      assert.equal(v.batchLength, rebuilt.length - 12);
      assert.equal(v.recordsCount, 3);
      assert.equal(v.lastOffsetDelta, o.lastOffsetDelta, 'lastOffsetDelta stays, as Kafka keeps it');
      for (const f of ['baseOffset', 'partitionLeaderEpoch', 'magic', 'attributes', 'baseTimestamp', 'producerId', 'producerEpoch', 'baseSequence'] as const) {
        assert.equal(v[f], o[f], `codec ${codec}: ${f}`);
      }
      assert.equal(v.compression, codec);
      assert.equal(v.maxTimestamp, BASE_TS + 40n, 'CreateTime: the max of the kept timestamps');
      const again = readRecords(rebuilt);
      assert.deepEqual(again.map((r) => v.baseOffset + BigInt(r.offsetDelta)), [1001n, 1002n, 1004n], 'absolute offsets unchanged');
      assert.deepEqual(again.map((r) => r.timestamp), kept.map((r) => r.timestamp));
      assert.deepEqual(again.map((r) => r.key), kept.map((r) => r.key));
      again.forEach((r, i) => assert.ok(r.bytes.equals(kept[i]!.bytes), 'records copied verbatim'));
      // Rebuilding a rebuilt batch again (the cleaner's next pass) works the same way.
      const twice = rebuildBatch(rebuilt, [again[2]!]);
      assert.ok(verifyCrc(twice));
      assert.deepEqual(readRecords(twice).map((r) => r.offsetDelta), [4]);
      assert.equal(new BatchView(twice).lastOffsetDelta, 5);
    }
  });

  test('rebuildBatch of a LogAppendTime batch keeps its maxTimestamp', () => {
    const batch = buildRecordBatch(INPUT, { ...BATCH_OPTS, logAppendTime: true });
    batch.writeBigInt64BE(BASE_TS + 777n, BatchField.MaxTimestamp);
    recomputeCrc(batch);
    const rebuilt = rebuildBatch(batch, [readRecords(batch)[0]!]);
    assert.equal(new BatchView(rebuilt).maxTimestamp, BASE_TS + 777n);
    assert.equal(new BatchView(rebuilt).timestampType, 1);
    assert.ok(verifyCrc(rebuilt));
  });

  test('rebuildBatch refuses an empty or out-of-order selection', () => {
    const batch = buildRecordBatch(INPUT, BATCH_OPTS);
    const all = readRecords(batch);
    assert.throws(() => rebuildBatch(batch, []), RangeError);
    assert.throws(() => rebuildBatch(batch, [all[3]!, all[1]!]), RangeError);
    assert.throws(() => rebuildBatch(batch, [all[1]!, all[1]!]), RangeError);
  });

  test('keylessRecords lists the records with a null key (an empty key is a key)', () => {
    for (const codec of CODECS) {
      assert.deepEqual(keylessRecords(compressed(buildRecordBatch(INPUT, BATCH_OPTS), codec)), [2, 5], `codec ${codec}`);
    }
    assert.deepEqual(keylessRecords(buildRecordBatch([{ key: Buffer.from('a'), value: null }])), []);
  });

  test('malformed records are RecordsFormatErrors', () => {
    const good = rawRecord({});
    assert.equal(readRecords(withRecordBytes(good, 1)).length, 1, 'the raw encoder makes a good record');
    const cases: Array<[string, Buffer, RegExp]> = [
      ['fewer records than recordsCount', withRecordBytes(Buffer.concat([good, good]), 3), /holds 2 records, its recordsCount says 3/],
      ['more records than recordsCount', withRecordBytes(Buffer.concat([good, good]), 1, 1), /bytes follow the last/],
      ['negative recordsCount', withRecordBytes(good, -1, 0), /negative/],
      ['a record length past the end', withRecordBytes(rawRecord({ lengthAdjust: 5 }), 1), /does not fit/],
      ['a negative record length', withRecordBytes(Buffer.from([0x01, 0, 0, 0]), 1), /length -1/],
      ['a record length shorter than its fields', withRecordBytes(rawRecord({ lengthAdjust: -1 }), 1), /past the|runs past/],
      ['a record length longer than its fields', withRecordBytes(Buffer.concat([rawRecord({ lengthAdjust: 1 }), Buffer.from([0])]), 1), /end 1 bytes before/],
      ['a key length of -2', withRecordBytes(rawRecord({ keyLength: -2 }), 1), /key length -2/],
      ['a key past the record', withRecordBytes(rawRecord({ keyLength: 200 }), 1), /key of 200 bytes/],
      ['a value length of -3', withRecordBytes(rawRecord({ valueLength: -3 }), 1), /value length -3/],
      ['a negative header count', withRecordBytes(rawRecord({ headers: -1 }), 1), /header count -1/],
      ['more headers than bytes', withRecordBytes(rawRecord({ headers: 3, headerBytes: Buffer.from([2, 0x61, 0]) }), 1), /runs past/],
      ['a null header key', withRecordBytes(rawRecord({ headers: 1, headerBytes: Buffer.from([1, 0]) }), 1), /header key is null/],
      ['an offset delta past lastOffsetDelta', withRecordBytes(rawRecord({ offsetDelta: 1 }), 1), /offset delta 1 is outside/],
      ['a negative offset delta', withRecordBytes(rawRecord({ offsetDelta: -1 }), 1), /offset delta -1/],
      ['a varint of 6 bytes', withRecordBytes(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 1), /longer than 5 bytes/],
      ['a truncated varint', withRecordBytes(Buffer.from([0x80]), 1), /runs past the end/],
    ];
    for (const [what, batch, pattern] of cases) {
      assertFormatError(() => readRecords(batch), pattern, what);
      assertFormatError(() => keylessRecords(batch), pattern, `${what} (keylessRecords)`);
    }
    const truncated = buildRecordBatch(INPUT, BATCH_OPTS).subarray(0, 100);
    assertFormatError(() => readRecords(truncated), /batchLength \d+ does not fit/, 'a batch cut short');
    assertFormatError(() => readRecords(Buffer.alloc(30)), /header bytes/, 'shorter than a header');
    const v1 = Buffer.from(buildRecordBatch(INPUT));
    v1.writeInt8(1, BatchField.Magic);
    assertFormatError(() => readRecords(v1), /magic 1/, 'magic 1');
    // Malformed records inside a compressed batch are found the same way.
    assertFormatError(() => readRecords(compressed(withRecordBytes(rawRecord({ keyLength: -2 }), 1), 3)), /key length -2/, 'lz4 batch, bad key length');
  });

  test('records that do not decompress are CompressionErrors; maxBytes caps the decompressed records', () => {
    const batch = compressed(buildRecordBatch(INPUT, BATCH_OPTS), 3);
    const broken = Buffer.from(batch);
    broken.fill(0x11, 70, 90);
    assert.throws(() => readRecords(broken), (e: unknown) => e instanceof CompressionError && e.errorCode === ErrorCode.CORRUPT_MESSAGE);
    const recordsBytes = buildRecordBatch(INPUT, BATCH_OPTS).length - 61;
    assert.equal(readRecords(batch, { maxBytes: recordsBytes }).length, INPUT.length);
    assert.throws(() => readRecords(batch, { maxBytes: recordsBytes - 1 }), (e: unknown) => e instanceof CompressionError && e.reason === 'too-large');
  });

  test('random damage to a batch gives records or a typed error, never anything else', () => {
    const sources = CODECS.map((c) => compressed(buildRecordBatch(INPUT, BATCH_OPTS), c));
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(sources[i % sources.length]!);
      const cut = i % 3 === 0 ? b.subarray(0, randomInt(61, b.length)) : b;
      for (let n = 0; n < 3; n++) cut[randomInt(57, cut.length)] = randomInt(256);
      try {
        readRecords(cut);
        keylessRecords(cut);
      } catch (e) {
        assert.ok(e instanceof RecordsFormatError || e instanceof CompressionError, String(e));
        rejected++;
      }
    }
    assert.ok(rejected > 1000, `${rejected} damaged batches rejected`);
  });
});
