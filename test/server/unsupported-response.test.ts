/**
 * The UNSUPPORTED_VERSION answer (src/server/unsupported-response.ts) for every API and version
 * Ferry has a codec for: it encodes, decodes back with the same codec to the error in the
 * top-level errorCode when that version has one, and otherwise on every item the request named
 * (for the APIs with an item mapper) or as a well-formed empty answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_TABLE } from '../../src/protocol/messages/index.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { hasTopLevelErrorCode, unsupportedResponse } from '../../src/server/unsupported-response.js';

const REQUESTS: Record<number, object> = {
  0: { topicData: [{ name: 't', partitionData: [{ index: 0, records: null }, { index: 3, records: null }] }] },
  1: { topics: [{ topic: 't', topicId: '0'.repeat(31) + '1', partitions: [{ partition: 2 }] }] },
  15: { groups: ['g1', 'g2'] },
  69: { groupIds: ['g1'] },
  75: { topics: [{ name: 't' }] },
};

function roundTrip(apiKey: number, version: number, body: object): any {
  const api = API_TABLE.get(apiKey)!;
  const w = new Writer();
  api.encodeResponse(w, version, body);
  const r = new Reader(w.toBuffer());
  const decoded = api.decodeResponse(r, version);
  assert.equal(r.error, null, `${api.name} v${version} decodes`);
  return decoded;
}

test('every API and version has an UNSUPPORTED_VERSION answer the client can read', () => {
  let topLevel = 0, items = 0, empty = 0;
  for (const api of API_TABLE.values()) {
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      const request = REQUESTS[api.apiKey] ?? null;
      const decoded = roundTrip(api.apiKey, v, unsupportedResponse(api, v, request));
      if (hasTopLevelErrorCode(api, v)) {
        assert.equal(decoded.errorCode, ErrorCode.UNSUPPORTED_VERSION, `${api.name} v${v}`);
        topLevel++;
      } else if (request) {
        // The decoder fills a default top-level errorCode even where the version has none: look below it.
        const { errorCode: _absent, ...below } = decoded;
        const codes = JSON.stringify(below, (_k, val) => (typeof val === 'bigint' ? String(val) : val)).match(/"errorCode":(\d+)/g) ?? [];
        assert.ok(codes.length > 0 && codes.every((c) => c.endsWith(`:${ErrorCode.UNSUPPORTED_VERSION}`)), `${api.name} v${v}: every item has the error (${codes})`);
        items++;
      } else {
        empty++;
      }
    }
  }
  assert.ok(topLevel > 100 && items > 20, `${topLevel} top-level, ${items} per item, ${empty} empty`);
});

test('per-item answers name what the request named', () => {
  const fetch = roundTrip(1, 3, unsupportedResponse(API_TABLE.get(1)!, 3, REQUESTS[1]!));
  assert.deepEqual(fetch.responses.map((t: any) => [t.topic, t.partitions.map((p: any) => [p.partitionIndex, p.errorCode])]), [['t', [[2, 35]]]]);
  const produce = roundTrip(0, 2, unsupportedResponse(API_TABLE.get(0)!, 2, REQUESTS[0]!));
  assert.deepEqual(produce.responses.map((t: any) => [t.name, t.partitionResponses.map((p: any) => [p.index, p.errorCode])]), [['t', [[0, 35], [3, 35]]]]);
  const groups = roundTrip(15, 0, unsupportedResponse(API_TABLE.get(15)!, 0, REQUESTS[15]!));
  assert.deepEqual(groups.groups.map((g: any) => [g.groupId, g.errorCode]), [['g1', 35], ['g2', 35]]);
});
