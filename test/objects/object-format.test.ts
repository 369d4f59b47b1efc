// The object layout [data blocks][index][footer]: property round trips (fast-check), block
// cutting, reading the index through a store with one or two GETs, and every validation failure
// (bad magic, version, CRCs, truncation, bounds, order) as a typed ObjectFormatError.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import {
  decodeFooter, decodeIndex, encodeObject, FOOTER_BYTES, INDEX_ENTRY_BYTES, newObjectId, objectIdOfKey, objectIdTimeMs, objectKey,
  objectKeyPrefix, ObjectFormatError, readObjectIndex, type BatchInput, type PartitionInput,
} from '../../src/objects/object-format.js';
import { BatchFramingError, splitBatches } from '../../src/protocol/record-batch.js';
import { FsObjectStore } from '../../src/objects/fs-object-store.js';
import { FaultyObjectStore } from '../../src/objects/faulty-object-store.js';
import { ObjectStoreError } from '../../src/objects/object-store.js';
import { makeBatch } from './batches.js';

const TOPIC_A = '0'.repeat(31) + 'a';
const TOPIC_B = 'f'.repeat(32);

function whole(chunks: Buffer[]): Buffer {
  return Buffer.concat(chunks);
}

function decodeWhole(obj: Buffer) {
  const footer = decodeFooter(obj, obj.length);
  return decodeIndex(obj.subarray(footer.indexPosition, footer.indexPosition + footer.indexLength), footer);
}

const isFormatError = (reason: string) => (e: unknown) => e instanceof ObjectFormatError && e.code === 'OBJECT_FORMAT' && e.reason === reason;
const isFramingError = (reason: string) => (e: unknown) => e instanceof BatchFramingError && e.code === 'BATCH_FRAMING' && e.reason === reason;

/** Arbitrary partitions: distinct (topic, partition), batches in offset order with gaps, sizes 61..3000. */
const partitionsArb = fc.uniqueArray(
  fc.record({
    topicId: fc.constantFrom(TOPIC_A, TOPIC_B, 'abcdef0123456789abcdef0123456789'),
    partition: fc.integer({ min: 0, max: 5 }),
    batches: fc.array(fc.record({ gap: fc.integer({ min: 0, max: 3 }), count: fc.integer({ min: 1, max: 20 }), size: fc.integer({ min: 61, max: 3000 }) }), { maxLength: 30 }),
  }),
  { selector: (p) => `${p.topicId}:${p.partition}`, maxLength: 6 },
).map((ps) => ps.map((p): PartitionInput => {
  let next = 1000 * p.partition;
  const batches: BatchInput[] = p.batches.map((b) => {
    const batch = makeBatch(next + b.gap, b.count, b.size);
    next = batch.lastOffset + 1;
    return batch;
  });
  return { topicId: p.topicId, partition: p.partition, batches };
}));

describe('object format', () => {
  test('round trip: the decoded index equals the encoder\'s; blocks hold the batches in order; blocks are cut at the target', () => {
    fc.assert(fc.property(partitionsArb, fc.integer({ min: 1, max: 8000 }), (partitions, target) => {
      const enc = encodeObject(partitions, { blockBytesTarget: target });
      const obj = whole(enc.chunks);
      assert.equal(obj.length, enc.size);
      const index = decodeWhole(obj);
      assert.deepEqual(index, enc.index);
      const sorted = [...partitions].sort((a, b) => (a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : a.partition - b.partition));
      let e = 0;
      for (const p of sorted) {
        const got: Buffer[] = [];
        while (e < index.length && index[e]!.topicId === p.topicId && index[e]!.partition === p.partition) {
          const entry = index[e]!;
          const batches = splitBatches(obj.subarray(entry.position, entry.position + entry.size));
          assert.ok(batches.length === 1 || entry.size <= target, `block of ${entry.size} bytes with ${batches.length} batches over target ${target}`);
          assert.equal(entry.baseOffset, Number(batches[0]!.readBigInt64BE(0)));
          assert.equal(entry.recordCount, batches.reduce((n, b) => n + b.readInt32BE(57), 0));
          assert.equal(entry.maxTimestamp, Math.max(...batches.map((b) => Number(b.readBigInt64BE(35)))));
          got.push(...batches);
          e++;
        }
        assert.deepEqual(got, p.batches.map((b) => b.bytes));
        if (p.batches.length) assert.equal(index[e - 1]!.endOffset, p.batches[p.batches.length - 1]!.lastOffset + 1);
      }
      assert.equal(e, index.length);
    }), { numRuns: 300 });
  });

  test('the default target cuts at 512 KiB; a batch larger than the target is a block of its own', () => {
    const batches = [makeBatch(0, 1, 300 * 1024), makeBatch(1, 1, 300 * 1024), makeBatch(2, 1, 2 * 1024 * 1024), makeBatch(3, 1, 100)];
    const enc = encodeObject([{ topicId: TOPIC_A, partition: 0, batches }]);
    assert.deepEqual(enc.index.map((e) => [e.baseOffset, e.endOffset, e.size]), [[0, 1, 300 * 1024], [1, 2, 300 * 1024], [2, 3, 2 * 1024 * 1024], [3, 4, 100]]);
    assert.equal(enc.chunks[0], batches[0]!.bytes, 'batch buffers go out as they are, not copied');
  });

  test('an empty object (no batches) is valid', () => {
    const enc = encodeObject([{ topicId: TOPIC_A, partition: 0, batches: [] }]);
    assert.equal(enc.size, FOOTER_BYTES);
    assert.deepEqual(decodeWhole(whole(enc.chunks)), []);
  });

  test('bad input is refused: topic id, duplicate partition, overlapping or unordered batches, inconsistent batch header', () => {
    const b = makeBatch(10, 5, 100);
    for (const bad of [
      [{ topicId: 'xyz', partition: 0, batches: [b] }],
      [{ topicId: TOPIC_A.toUpperCase().replace('A', 'A'), partition: 0, batches: [makeBatch(0, 1, 100)] }].map((p) => ({ ...p, topicId: 'A'.repeat(32) })),
      [{ topicId: TOPIC_A, partition: 0, batches: [b] }, { topicId: TOPIC_A, partition: 0, batches: [] }],
      [{ topicId: TOPIC_A, partition: 0, batches: [b, makeBatch(14, 1, 100)] }],
      [{ topicId: TOPIC_A, partition: 0, batches: [b, makeBatch(3, 1, 100)] }],
      [{ topicId: TOPIC_A, partition: -1, batches: [b] }],
      [{ topicId: TOPIC_A, partition: 0, batches: [{ ...b, bytes: b.bytes.subarray(0, 90) }] }],
      [{ topicId: TOPIC_A, partition: 0, batches: [{ ...b, baseOffset: 11, lastOffset: 14 }] }],
      [{ topicId: TOPIC_A, partition: 0, batches: [{ ...b, lastOffset: 9 }] }],
    ] as PartitionInput[][]) {
      assert.throws(() => encodeObject(bad), isFormatError('input'), JSON.stringify(bad.map((p) => [p.topicId, p.partition])));
    }
  });

  describe('corruption is detected', () => {
    const enc = encodeObject([
      { topicId: TOPIC_A, partition: 0, batches: [makeBatch(0, 3, 500), makeBatch(3, 3, 500)] },
      { topicId: TOPIC_B, partition: 1, batches: [makeBatch(7, 1, 800)] },
    ], { blockBytesTarget: 600 });
    const good = whole(enc.chunks);
    const footerAt = good.length - FOOTER_BYTES;
    const footer = decodeFooter(good, good.length);
    const indexOf = (obj: Buffer) => obj.subarray(footer.indexPosition, footer.indexPosition + footer.indexLength);
    const mutate = (fn: (b: Buffer) => void): Buffer => { const b = Buffer.from(good); fn(b); return b; };
    /** Rewrites an index entry field and fixes both CRCs, so only the semantic check can catch it. */
    const withIndex = (fn: (index: Buffer) => void): Buffer => mutate((b) => {
      const index = b.subarray(footer.indexPosition, footer.indexPosition + footer.indexLength);
      fn(index);
      b.writeUInt32BE(crc32c(index), footerAt + 12);
      b.writeUInt32BE(crc32c(b.subarray(footerAt, footerAt + 28)), footerAt + 28);
    });
    const withFooter = (fn: (f: Buffer) => void): Buffer => mutate((b) => {
      const f = b.subarray(footerAt);
      fn(f);
      f.writeUInt32BE(crc32c(f.subarray(0, 28)), 28);
    });

    test('bad magic', () => assert.throws(() => decodeFooter(mutate((b) => { b[b.length - 1] ^= 1; })), isFormatError('magic')));
    test('footer CRC', () => assert.throws(() => decodeFooter(mutate((b) => { b[footerAt + 3] ^= 1; })), isFormatError('crc')));
    test('unknown version', () => assert.throws(() => decodeFooter(withFooter((f) => f.writeUInt16BE(9, 20))), isFormatError('version')));
    test('index CRC', () => {
      const bad = mutate((b) => { b[footer.indexPosition + 5] ^= 0x40; });
      assert.throws(() => decodeIndex(indexOf(bad), decodeFooter(bad, bad.length)), isFormatError('crc'));
    });
    test('truncated: tail shorter than the footer, index shorter than the footer says', () => {
      assert.throws(() => decodeFooter(good.subarray(good.length - 10)), isFormatError('truncated'));
      assert.throws(() => decodeIndex(indexOf(good).subarray(1), footer), isFormatError('truncated'));
    });
    test('object size disagreeing with the footer', () => {
      assert.throws(() => decodeFooter(good, good.length + 1), isFormatError('bounds'));
      assert.throws(() => decodeFooter(Buffer.concat([Buffer.alloc(5), good]), undefined), isFormatError('bounds'));
    });
    test('index position or length out of bounds', () => {
      assert.throws(() => decodeFooter(withFooter((f) => f.writeBigUInt64BE(BigInt(footer.indexPosition + 1), 0)), good.length), isFormatError('bounds'));
      assert.throws(() => decodeFooter(withFooter((f) => f.writeUInt32BE(footer.indexLength + 1, 8)), good.length), isFormatError('bounds'));
      assert.throws(() => decodeFooter(withFooter((f) => { f.writeUInt32BE(0x7fffffff, 16); f.writeUInt32BE(0x7fffffff * 64 % 2 ** 32, 8); })), isFormatError('bounds'));
    });
    const entryField = (i: number, at: number) => footer.indexPosition + i * INDEX_ENTRY_BYTES + at;
    const decodeBad = (b: Buffer) => decodeIndex(indexOf(b), decodeFooter(b, b.length));
    test('a block past the index / not contiguous', () => {
      assert.throws(() => decodeBad(withIndex((ix) => ix.writeUInt32BE(ix.readUInt32BE(20) + 1, 20))), isFormatError('bounds'));
      assert.throws(() => decodeBad(withIndex((ix) => ix.writeBigUInt64BE(1n, 56))), isFormatError('bounds'));
      void entryField;
    });
    test('unsorted entries and overlapping offsets', () => {
      assert.throws(() => decodeBad(withIndex((ix) => { Buffer.from(TOPIC_B, 'hex').copy(ix, 0); })), isFormatError('order'), 'B:0 before A:0');
      assert.throws(() => decodeBad(withIndex((ix) => ix.writeBigInt64BE(2n, INDEX_ENTRY_BYTES + 24))), isFormatError('order'));
      assert.throws(() => decodeBad(withIndex((ix) => ix.writeBigInt64BE(0n, 32))), isFormatError('order'));
    });
    test('a batch length running past its block', () => {
      const block = good.subarray(0, enc.index[0]!.size);
      assert.throws(() => splitBatches(block.subarray(0, block.length - 1)), isFramingError('bounds'));
      assert.throws(() => splitBatches(Buffer.concat([block, Buffer.alloc(5)])), isFramingError('truncated'));
    });
    test('random corruption never crashes the decoder: it decodes or throws ObjectFormatError', () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const b = mutate((m) => { m[at] ^= x; });
        try {
          decodeBad(b);
          assert.ok(at < footer.indexPosition, 'only data bytes may change unnoticed by the index checks');
        } catch (e) {
          assert.ok(e instanceof ObjectFormatError, String(e));
        }
      }), { numRuns: 500 });
    });
  });

  test('readObjectIndex: one suffix GET for a small index, two GETs for an index larger than the tail', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ferry-format-'));
    try {
      const store = new FaultyObjectStore(new FsObjectStore({ root, fsync: false }), { seed: 1 });
      const small = encodeObject([{ topicId: TOPIC_A, partition: 0, batches: [makeBatch(0, 1, 200)] }]);
      await store.put('small', small.chunks);
      assert.deepEqual(await readObjectIndex(store, 'small'), { size: small.size, entries: small.index });
      assert.equal(store.calls.get, 1);
      const many = Array.from({ length: 2000 }, (_, i) => makeBatch(i, 1, 100));
      const big = encodeObject([{ topicId: TOPIC_B, partition: 2, batches: many }], { blockBytesTarget: 100 });
      assert.equal(big.index.length, 2000);
      await store.put('big', big.chunks);
      const got = await readObjectIndex(store, 'big', { size: big.size });
      assert.deepEqual(got.entries, big.index);
      assert.equal(store.calls.get, 3, 'tail, then the index');
      await assert.rejects(readObjectIndex(store, 'big', { size: big.size + 1 }), ObjectFormatError);
      store.failNext('get');
      await assert.rejects(readObjectIndex(store, 'small'), (e: unknown) => e instanceof ObjectStoreError && e.retriable);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('object keys spread over 256 prefixes; ids are unique, time-sortable and round-trip through keys', () => {
    const ids = Array.from({ length: 5000 }, () => newObjectId());
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids, 'ids made in order sort in order');
    const prefixes = new Set(ids.map((id) => objectKey('c1', id).split('/')[2]));
    assert.ok(prefixes.size > 200, `${prefixes.size} prefixes`);
    for (const id of ids.slice(0, 100)) {
      const key = objectKey('c1', id);
      assert.ok(key.startsWith(objectKeyPrefix('c1')));
      assert.match(key, /^c1\/o\/[0-9a-f]{2}\/[0-9a-f]{28}$/);
      assert.equal(objectIdOfKey(key), id);
    }
    assert.ok(Math.abs(objectIdTimeMs(ids[0]!) - Date.now()) < 60_000);
    assert.equal(newObjectId(Date.now() - 1_000_000) > ids[ids.length - 1]!, true, 'a clock step back never sorts before earlier ids');
    const right = objectKey('c1', ids[0]!).split('/')[2];
    assert.equal(objectIdOfKey(`c1/o/${right === '00' ? '01' : '00'}/${ids[0]}`), null, 'a wrong hash prefix is not an object key');
    assert.equal(objectIdOfKey('c1/o/ab/nothex'), null);
    assert.throws(() => objectKey('a/b', ids[0]!), ObjectFormatError);
    assert.throws(() => objectKey('c', 'short'), ObjectFormatError);
  });
});
