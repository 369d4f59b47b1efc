// The `records` field (Fetch responses, Produce requests) given as a list of batch buffers: the
// same bytes on the wire as the one concatenated buffer, in every version; each batch goes out as
// a chunk of its own, by reference (adjacent views of one buffer as one chunk); decoding gives one
// view of the frame.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader, Writer, type DeepPartial, type RecordsInput } from '../../src/protocol/primitives.js';
import {
  decodeFetchResponse, encodeFetchResponse, FetchResponseVersions, type FetchResponse,
  decodeProduceRequest, encodeProduceRequest, ProduceRequestVersions, type ProduceRequest,
} from '../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';

const TOPIC_ID = '0123456789abcdef0123456789abcdef';

function fetchResponse(records: RecordsInput | null): DeepPartial<FetchResponse> {
  return {
    throttleTimeMs: 0, errorCode: 0, sessionId: 0,
    responses: [{ topic: 't', topicId: TOPIC_ID, partitions: [{ partitionIndex: 3, highWatermark: 10n, lastStableOffset: 10n, logStartOffset: 0n, abortedTransactions: null, records }] }],
  };
}

function encodeFetch(version: number, records: RecordsInput | null): Writer {
  const w = new Writer(64);
  encodeFetchResponse(w, version, fetchResponse(records));
  return w;
}

function decodeFetchRecords(bytes: Buffer, version: number): Buffer | null {
  const r = new Reader(bytes);
  const m = decodeFetchResponse(r, version);
  assert.equal(r.error, null);
  assert.equal(r.remaining, 0);
  return m.responses[0]!.partitions[0]!.records;
}

/** Batches in memory of their own (never adjacent). */
function separateBatches(sizes: number[]): Buffer[] {
  return sizes.map((n, i) => {
    const b = buildRecordBatch([{ value: Buffer.alloc(n, i) }], { baseOffset: BigInt(i) });
    return Buffer.concat([b, Buffer.alloc(1)]).subarray(0, b.length); // a gap after each
  });
}

const versions = (v: { min: number; max: number }) => Array.from({ length: v.max - v.min + 1 }, (_, i) => v.min + i);

describe('records as a list of batch buffers', () => {
  test('Fetch response: a list encodes to the bytes of the concatenated buffer, in every version', () => {
    const batches = separateBatches([10, 300, 20_000]);
    const whole = Buffer.concat(batches);
    for (const v of versions(FetchResponseVersions)) {
      const asList = Buffer.from(encodeFetch(v, batches).toBuffer());
      assert.deepEqual(asList, Buffer.from(encodeFetch(v, whole).toBuffer()), `v${v}`);
      assert.deepEqual(decodeFetchRecords(asList, v), whole, `v${v} decodes to the batches one after another`);
    }
  });

  test('each batch is a chunk of its own, the very buffer given, however small', () => {
    const batches = separateBatches([1, 100, 5_000, 40_000]);
    for (const v of [4, 11, 12, 16]) {
      const chunks = encodeFetch(v, batches).toChunks();
      for (const b of batches) assert.ok(chunks.includes(b), `v${v}: the ${b.length}-byte batch is not copied`);
      const other = chunks.filter((c) => !batches.includes(c)).reduce((n, c) => n + c.length, 0);
      assert.ok(other < 200, `v${v}: only the other fields are copied (${other} bytes)`);
    }
  });

  test('batches adjacent in memory (one WAL entry, one object block) go out as one chunk over that memory', () => {
    const block = Buffer.concat(separateBatches([50, 60, 70]));
    const a = block.subarray(0, 120), b = block.subarray(120, 200), c = block.subarray(200);
    const far = separateBatches([80])[0]!;
    const chunks = encodeFetch(12, [a, b, c, far]).toChunks();
    const run = chunks.find((x) => x.buffer === block.buffer && x.byteOffset === block.byteOffset);
    assert.ok(run, 'one chunk starts where the block starts');
    assert.equal(run.length, block.length, 'and covers the three adjacent views');
    assert.ok(chunks.includes(far), 'a batch elsewhere is a chunk of its own');
  });

  test('null, an empty list and an empty buffer', () => {
    for (const v of [4, 11, 12, 17]) {
      assert.equal(decodeFetchRecords(encodeFetch(v, null).toBuffer(), v), null, `v${v} null`);
      assert.deepEqual(decodeFetchRecords(encodeFetch(v, []).toBuffer(), v), Buffer.alloc(0), `v${v} []`);
      assert.deepEqual(Buffer.from(encodeFetch(v, []).toBuffer()), Buffer.from(encodeFetch(v, Buffer.alloc(0)).toBuffer()), `v${v} [] = empty buffer`);
    }
  });

  test('property: any list of buffers round-trips as their concatenation (Fetch response and Produce request, every version)', () => {
    const lists = fc.array(fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)), { maxLength: 6 });
    fc.assert(fc.property(lists, fc.constantFrom(...versions(FetchResponseVersions)), fc.constantFrom(...versions(ProduceRequestVersions)), (list, fv, pv) => {
      const whole = Buffer.concat(list);
      const fetched = Buffer.from(encodeFetch(fv, list).toBuffer());
      assert.deepEqual(fetched, Buffer.from(encodeFetch(fv, whole).toBuffer()));
      assert.deepEqual(decodeFetchRecords(fetched, fv), whole);

      const produce = (records: Buffer | Buffer[]): Buffer => {
        const w = new Writer(64);
        const m: DeepPartial<ProduceRequest> = { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records }] }] };
        encodeProduceRequest(w, pv, m);
        return Buffer.from(w.toBuffer());
      };
      const bytes = produce(list);
      assert.deepEqual(bytes, produce(whole));
      const r = new Reader(bytes);
      const m = decodeProduceRequest(r, pv);
      assert.equal(r.error, null);
      assert.deepEqual(m.topicData[0]!.partitionData[0]!.records, whole);
    }), { numRuns: 200 });
  });
});
