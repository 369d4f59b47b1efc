// Byte vectors written by hand from the Kafka protocol guide, so the codecs are checked against the
// spec and not only against themselves.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '@node-rs/crc32';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { decodeRequestHeader, encodeRequestHeader, encodeResponseHeader } from '../../src/protocol/headers.js';
import { API_TABLE, ApiKey } from '../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { ErrorCode, errorName, isRetriable, KafkaError } from '../../src/protocol/errors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Decodes header + body, checks the expected values, and re-encodes byte-exact. */
function checkRequest(frame: Buffer, apiKey: number, version: number, expectBody: (m: any) => void): void {
  const r = new Reader(frame);
  const h = decodeRequestHeader(r);
  assert.equal(h.apiKey, apiKey);
  assert.equal(h.apiVersion, version);
  const api = API_TABLE.get(apiKey)!;
  const body = api.decodeRequest(r, version);
  assert.equal(r.error, null);
  assert.equal(r.remaining, 0);
  expectBody(body);
  const w = new Writer();
  encodeRequestHeader(w, api.requestHeaderVersion(version), h);
  api.encodeRequest(w, version, body);
  assert.deepEqual(w.toBuffer(), frame);
}

describe('known-answer vectors', () => {
  test('ApiVersions v0 request (header v1, empty body)', () => {
    const frame = hex('0012 0000 00000001 0004 74657374');
    checkRequest(frame, ApiKey.ApiVersions, 0, (m) => assert.deepEqual(m, { clientSoftwareName: '', clientSoftwareVersion: '' }));
    const r = new Reader(frame);
    assert.deepEqual(decodeRequestHeader(r), { apiKey: 18, apiVersion: 0, correlationId: 1, clientId: 'test' });
  });

  test('ApiVersions v3 request (header v2 with a classic client id, compact strings, tagged sections)', () => {
    const frame = hex('0012 0003 0000002a 0004 74657374 00   05 6b636174  04 312e37  00');
    checkRequest(frame, ApiKey.ApiVersions, 3, (m) => assert.deepEqual(m, { clientSoftwareName: 'kcat', clientSoftwareVersion: '1.7' }));
  });

  test('ApiVersions v3 response uses header v0 and encodes as specified', () => {
    const api = API_TABLE.get(ApiKey.ApiVersions)!;
    assert.equal(api.responseHeaderVersion(3), 0);
    const w = new Writer();
    encodeResponseHeader(w, api.responseHeaderVersion(3), 7);
    api.encodeResponse(w, 3, { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 9 }], throttleTimeMs: 0 });
    //            corr     err  n+1 key  min  max  tag  throttle  tags
    assert.deepEqual(w.toBuffer(), hex('00000007 0000 02 0000 0003 0009 00 00000000 00'));
  });

  test('Metadata v1 request with one topic', () => {
    const frame = hex('0003 0001 00000005 0002 6964  00000001 0001 74');
    checkRequest(frame, ApiKey.Metadata, 1, (m) => assert.deepEqual(m.topics, [{ topicId: '00000000000000000000000000000000', name: 't' }]));
  });

  test('Metadata v1 request with null topics (= all topics)', () => {
    checkRequest(hex('0003 0001 00000005 ffff  ffffffff'), ApiKey.Metadata, 1, (m) => assert.equal(m.topics, null));
  });

  test('Produce v3 request with one batch', () => {
    // One record: attributes 0, timestampDelta 0, offsetDelta 0, key null (-1 -> 01), value "v" (1 -> 02), 0 headers.
    const record = hex('0e 00 00 00 01 02 76 00');
    const afterCrc = Buffer.concat([
      hex('0000'), //                attributes
      hex('00000000'), //            lastOffsetDelta
      hex('0000018bcfe56800'), //    baseTimestamp 1700000000000
      hex('0000018bcfe56800'), //    maxTimestamp
      hex('ffffffffffffffff'), //    producerId -1
      hex('ffff'), //                producerEpoch -1
      hex('ffffffff'), //            baseSequence -1
      hex('00000001'), //            recordsCount
      record,
    ]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32c(afterCrc));
    const batch = Buffer.concat([hex('0000000000000000'), hex('00000039'), hex('ffffffff'), hex('02'), crc, afterCrc]);
    assert.equal(batch.length, 69);
    assert.deepEqual(buildRecordBatch([{ value: Buffer.from('v'), timestamp: 1700000000000n }]), batch, 'buildRecordBatch encodes the same bytes');

    const frame = Buffer.concat([
      hex('0000 0003 00000009 0001 63'), // header v1: Produce v3, correlation 9, client "c"
      hex('ffff'), //                      transactionalId null
      hex('ffff'), //                      acks -1
      hex('000003e8'), //                  timeoutMs 1000
      hex('00000001 0001 74'), //          1 topic "t"
      hex('00000001 00000000'), //         1 partition, index 0
      hex('00000045'), //                  records length 69
      batch,
    ]);
    checkRequest(frame, ApiKey.Produce, 3, (m) => {
      assert.equal(m.transactionalId, null);
      assert.equal(m.acks, -1);
      assert.equal(m.timeoutMs, 1000);
      assert.equal(m.topicData[0].name, 't');
      assert.deepEqual(m.topicData[0].partitionData[0].records, batch);
      assert.equal(m.topicData[0].partitionData[0].records.buffer, frame.buffer, 'records are a view, not a copy');
    });
  });

  test('varints and varlongs (zig-zag)', () => {
    const cases: [number, string][] = [[0, '00'], [-1, '01'], [1, '02'], [63, '7e'], [-64, '7f'], [64, '8001'], [2147483647, 'feffffff0f'], [-2147483648, 'ffffffff0f']];
    for (const [v, h] of cases) {
      assert.equal(new Writer().varint(v).toBuffer().toString('hex'), h);
      assert.equal(new Reader(hex(h)).varint(), v);
      assert.equal(new Writer().varlong(BigInt(v)).toBuffer().toString('hex'), h);
      assert.equal(new Reader(hex(h)).varlong(), BigInt(v));
    }
    const min64 = -(1n << 63n);
    const b = new Writer().varlong(min64).toBuffer();
    assert.equal(b.toString('hex'), 'ffffffffffffffffff01');
    assert.equal(new Reader(b).varlong(), min64);
    assert.equal(new Writer().uvarint(300).toBuffer().toString('hex'), 'ac02');
  });

  test('request header versions per api', () => {
    assert.equal(API_TABLE.get(ApiKey.Produce)!.requestHeaderVersion(8), 1);
    assert.equal(API_TABLE.get(ApiKey.Produce)!.requestHeaderVersion(9), 2);
    assert.equal(API_TABLE.get(ApiKey.Produce)!.responseHeaderVersion(9), 1);
    assert.equal(API_TABLE.get(ApiKey.ApiVersions)!.requestHeaderVersion(3), 2);
    assert.equal(API_TABLE.get(ApiKey.ApiVersions)!.responseHeaderVersion(3), 0);
    // unknown api key: header v1, so the broker can read the correlation id and client id
    const r = new Reader(hex('7fff 0000 00000003 0001 61'));
    assert.deepEqual(decodeRequestHeader(r), { apiKey: 0x7fff, apiVersion: 0, correlationId: 3, clientId: 'a' });
    assert.equal(r.error, null);
  });

  test('error codes', () => {
    assert.equal(ErrorCode.NONE, 0);
    assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
    assert.equal(ErrorCode.CORRUPT_MESSAGE, 2);
    assert.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
    assert.equal(errorName(3), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(errorName(-12345), 'UNKNOWN_ERROR_-12345');
    assert.equal(isRetriable(ErrorCode.NOT_LEADER_OR_FOLLOWER), true);
    assert.equal(isRetriable(ErrorCode.MESSAGE_TOO_LARGE), false);
    const e = new KafkaError(ErrorCode.INVALID_RECORD);
    assert.equal(e.code, 87);
    assert.equal(e.message, 'INVALID_RECORD');
    assert.ok(e instanceof Error);
  });
});
