// Property round-trips for every generated message and version: encode -> decode gives the same
// message, and re-encoding the decoded message gives the same bytes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader } from '../../src/protocol/primitives.js';
import { SCHEMA } from './schema.generated.js';
import { allMessageVersions, codecFor, encodeMessage, messageArb } from './arbitraries.js';

const RUNS = Number(process.env.FERRY_PROPERTY_RUNS ?? 40);

describe('generated codecs round-trip', () => {
  test('the schema covers 54 Kafka APIs and 2 of Ferry\'s own (request + response) and 2 data messages', () => {
    assert.equal(SCHEMA.filter((s) => s.kind === 'request').length, 56);
    assert.equal(SCHEMA.filter((s) => s.kind === 'response').length, 56);
    assert.equal(SCHEMA.filter((s) => s.kind === 'request' && s.apiKey! >= 30000).length, 2);
    assert.equal(SCHEMA.filter((s) => s.kind === 'data').length, 2);
  });

  for (const { schema, version } of allMessageVersions()) {
    test(`${schema.name} v${version}`, () => {
      const codec = codecFor(schema.name);
      fc.assert(
        fc.property(messageArb(schema, version), (m) => {
          const bytes = encodeMessage(schema.name, version, m);
          const r = new Reader(bytes);
          const decoded = codec.decode(r, version);
          assert.equal(r.error, null);
          assert.equal(r.remaining, 0, 'decoder consumed every byte');
          assert.deepStrictEqual(decoded, m);
          assert.deepStrictEqual(encodeMessage(schema.name, version, decoded), bytes);
        }),
        { numRuns: RUNS },
      );
    });
  }
});
