// Decoders on hostile input: random bytes and every truncation of valid messages may only set
// r.error (never throw), and never allocate past what the input could hold.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader } from '../../src/protocol/primitives.js';
import { decodeRequestHeader } from '../../src/protocol/headers.js';
import { allMessageVersions, codecFor, encodeMessage, messageArb } from './arbitraries.js';

const RUNS = Number(process.env.FERRY_PROPERTY_RUNS ?? 40);

describe('decoder fuzz', () => {
  for (const { schema, version } of allMessageVersions()) {
    test(`${schema.name} v${version}: random bytes and truncations`, () => {
      const codec = codecFor(schema.name);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
          const r = new Reader(Buffer.from(bytes));
          codec.decode(r, version); // must not throw
          assert.ok(r.error === null || typeof r.error === 'string');
          assert.ok(r.offset <= bytes.length);
        }),
        { numRuns: RUNS },
      );
      fc.assert(
        fc.property(messageArb(schema, version), fc.nat(), (m, cut) => {
          const bytes = encodeMessage(schema.name, version, m);
          if (bytes.length === 0) return;
          const prefix = bytes.subarray(0, cut % bytes.length);
          const r = new Reader(prefix);
          codec.decode(r, version);
          assert.notEqual(r.error, null, `a ${prefix.length}-byte prefix of ${bytes.length} bytes must fail`);
        }),
        { numRuns: RUNS },
      );
    });
  }

  test('huge lengths are refused before allocating', () => {
    // int32 array length 0x7fffffff followed by nothing.
    const r = new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    assert.equal(r.arrayLength(), 0);
    assert.match(r.error ?? '', /exceeds/);
    const r2 = new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2]));
    assert.equal(r2.nullableBytes()?.length ?? 0, 0);
    assert.notEqual(r2.error, null);
    // Metadata v1 request claiming 2^31-1 topics.
    const r3 = new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 1, 0x74]));
    const m = codecFor('MetadataRequest').decode(r3, 1) as { topics: unknown[] | null };
    assert.notEqual(r3.error, null);
    assert.deepEqual(m.topics, []);
  });

  test('sticky reader: after an error every read yields zero values', () => {
    const r = new Reader(Buffer.from([1]));
    assert.equal(r.int32(), 0);
    const err = r.error;
    assert.notEqual(err, null);
    assert.equal(r.int8(), 0);
    assert.equal(r.int64(), 0n);
    assert.equal(r.string(), '');
    assert.ok(!r.nullableString());
    assert.equal(r.uuid(), '00000000000000000000000000000000');
    assert.equal(r.bytes().length, 0);
    assert.equal(r.remaining, 0);
    assert.equal(r.error, err, 'the first error is kept');
  });

  test('request headers from random bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = new Reader(Buffer.from(bytes));
        const h = decodeRequestHeader(r);
        assert.equal(typeof h.apiKey, 'number');
      }),
      { numRuns: 500 },
    );
  });
});
