// Block cache and ObjectReader: LRU bounded by bytes, single-flight GETs, coalesced ranged GETs,
// readahead that grows for sequential readers and resets on a jump, and that slow or failing S3
// never blocks cache hits.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockCache, ObjectReader, type PartitionBlockRef } from '../../src/objects/block-cache.js';
import { FsObjectStore } from '../../src/objects/fs-object-store.js';
import { FaultyObjectStore } from '../../src/objects/faulty-object-store.js';
import { encodeObject } from '../../src/objects/object-format.js';
import { splitBatches } from '../../src/protocol/record-batch.js';
import { ObjectStoreError, type ByteRange, type ObjectStore } from '../../src/objects/object-store.js';
import { makeBatch } from './batches.js';

const KiB = 1024;
const MiB = 1024 * KiB;
let root: string;
let fs: FsObjectStore;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-block-cache-'));
  fs = new FsObjectStore({ root, fsync: false });
});
after(async () => { await rm(root, { recursive: true, force: true }); });

/** Records every ranged GET (key, start, length). */
class RecordingStore extends FaultyObjectStore {
  readonly gets: { key: string; start: number; length: number }[] = [];
  override async get(key: string, range?: ByteRange): Promise<Buffer> {
    const buf = await super.get(key, range);
    this.gets.push({ key, start: range && 'start' in range ? range.start : -1, length: buf.length });
    return buf;
  }
}

/** One partition in one object: `count` blocks of `blockBytes` each (one batch per block). */
async function partitionObject(key: string, count: number, blockBytes: number): Promise<PartitionBlockRef[]> {
  const batches = Array.from({ length: count }, (_, i) => makeBatch(i * 10, 10, blockBytes));
  const enc = encodeObject([{ topicId: 'ab'.repeat(16), partition: 0, batches }], { blockBytesTarget: blockBytes });
  await fs.put(key, enc.chunks);
  assert.equal(enc.index.length, count);
  return enc.index.map((e) => ({ objectKey: key, position: e.position, size: e.size, baseOffset: e.baseOffset, endOffset: e.endOffset }));
}

describe('BlockCache', () => {
  test('LRU bounded by bytes: eviction drops the least recently used; oversize blocks are not kept', () => {
    const c = new BlockCache({ maxBytes: 300 });
    c.put('o', 0, Buffer.alloc(100));
    c.put('o', 100, Buffer.alloc(100));
    c.put('o', 200, Buffer.alloc(100));
    assert.equal(c.bytes, 300);
    assert.ok(c.get('o', 0), 'touch block 0: block 100 is now the oldest');
    c.put('p', 0, Buffer.alloc(50));
    assert.equal(c.has('o', 100), false);
    assert.ok(c.has('o', 0) && c.has('o', 200) && c.has('p', 0));
    assert.equal(c.bytes, 250);
    c.put('p', 0, Buffer.alloc(150)); // replace: 100 + 100 + 150 > 300 evicts o@0 (oldest)
    assert.ok(c.bytes <= 300);
    c.put('big', 0, Buffer.alloc(301));
    assert.equal(c.has('big', 0), false);
    assert.equal(c.stats.evictions, 2);
    c.dropObject('o');
    assert.equal(c.has('o', 200), false);
    assert.equal(c.bytes, 150);
  });

  test('the byte bound holds under random use', () => {
    const c = new BlockCache({ maxBytes: 10_000 });
    let seed = 7;
    const rnd = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    for (let i = 0; i < 5000; i++) {
      const key = `k${Math.floor(rnd() * 5)}`;
      const pos = Math.floor(rnd() * 50) * 100;
      if (rnd() < 0.6) c.put(key, pos, Buffer.alloc(1 + Math.floor(rnd() * 3000)));
      else if (rnd() < 0.95) c.get(key, pos);
      else c.dropObject(key);
      assert.ok(c.bytes <= 10_000 && c.bytes >= 0);
    }
  });
});

describe('ObjectReader', () => {
  test('reads blocks byte-exact; adjacent missing blocks are fetched with one ranged GET; hits cost nothing', async () => {
    const refs = await partitionObject('r1', 8, 1000);
    const store = new RecordingStore(fs);
    const reader = new ObjectReader(store, new BlockCache({ maxBytes: MiB }));
    const whole = await fs.get('r1');
    const blocks = await reader.readRefs(refs.slice(2, 6));
    blocks.forEach((b, i) => assert.ok(b.equals(whole.subarray(refs[2 + i]!.position, refs[2 + i]!.position + 1000))));
    assert.deepEqual(store.gets, [{ key: 'r1', start: refs[2]!.position, length: 4000 }]);
    await reader.readRefs(refs.slice(3, 5));
    assert.equal(store.gets.length, 1, 'all hits');
    await reader.readRefs(refs.slice(1, 7));
    // The two runs are fetched concurrently: which GET lands first is not fixed.
    assert.deepEqual(store.gets.slice(1).map((g) => g.start).sort((a, b) => a - b), [refs[1]!.position, refs[6]!.position], 'only the missing runs');
    assert.equal(reader.cache.stats.hits, 2 + 4);
    assert.equal(splitBatches(blocks[0]!).length, 1);
  });

  test('single-flight: 20 concurrent reads of the same blocks share one GET', async () => {
    const refs = await partitionObject('r2', 4, 2000);
    const store = new RecordingStore(fs, { faults: { get: { latencyMs: 30 } } });
    const reader = new ObjectReader(store, new BlockCache({ maxBytes: MiB }));
    const results = await Promise.all(Array.from({ length: 20 }, () => reader.readRefs(refs)));
    assert.equal(store.calls.get, 1);
    for (const r of results) assert.deepEqual(r, results[0]);
  });

  test('readPartition starts at the block holding the offset and stops near maxBytes (at least one block)', async () => {
    const refs = await partitionObject('r3', 10, 1000);
    const reader = new ObjectReader(new RecordingStore(fs), new BlockCache({ maxBytes: MiB }));
    const a = await reader.readPartition(refs, 35, 2500);
    assert.deepEqual(a.refs.map((r) => r.baseOffset), [30, 40]);
    const b = await reader.readPartition(refs, 99, 10);
    assert.deepEqual(b.refs.map((r) => r.baseOffset), [90]);
    assert.equal(b.blocks[0]!.length, 1000);
    assert.deepEqual((await reader.readPartition(refs, 100, 10)).refs, []);
  });

  test('readahead: a sequential reader prefetches the following blocks in one GET whose size doubles 512 KiB -> 32 MiB; a jump resets it', async () => {
    const blockBytes = 64 * KiB;
    const refs = await partitionObject('r4', 1600, blockBytes); // 100 MiB
    const store = new RecordingStore(fs);
    const reader = new ObjectReader(store, new BlockCache({ maxBytes: 512 * MiB }));
    let offset = 0;
    const prefetchSizes: number[] = [];
    for (let i = 0; i < 400; i++) {
      const before = store.gets.length;
      const { refs: got } = await reader.readPartition(refs, offset, 256 * KiB);
      offset = got[got.length - 1]!.endOffset;
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 1)); // let prefetches land
      for (const g of store.gets.slice(before)) if (g.length > 256 * KiB) prefetchSizes.push(g.length);
    }
    assert.deepEqual(prefetchSizes.slice(0, 7).map((n) => n / KiB), [512, 1024, 2048, 4096, 8192, 16384, 32768]);
    assert.ok(prefetchSizes.slice(7, -1).every((n) => n === 32 * MiB), `capped at 32 MiB (the last one ends at the partition end): ${prefetchSizes.map((n) => n / KiB)}`);
    assert.ok(reader.cache.stats.hits > 300, `sequential reads are mostly hits (${reader.cache.stats.hits})`);
    // Jump back to the middle (dropped from the cache first): a new sequence.
    reader.cache.dropObject('r4');
    const before = store.gets.length;
    await reader.readPartition(refs, 8000, 256 * KiB);
    assert.equal(reader.windowAt(refs[804]!), 512 * KiB, 'window reset');
    await reader.readPartition(refs, 8040, 256 * KiB);
    await new Promise((r) => setTimeout(r, 5));
    // The second read and the prefetch it starts run concurrently: their GETs may land in either order.
    assert.deepEqual(store.gets.slice(before).map((g) => g.length / KiB).sort((a, b) => a - b), [256, 256, 512], 'after the jump: two plain reads and a 512 KiB prefetch');
  });

  test('a random reader never prefetches', async () => {
    const refs = await partitionObject('r5', 200, 16 * KiB);
    const store = new RecordingStore(fs);
    const reader = new ObjectReader(store, new BlockCache({ maxBytes: 64 * MiB }));
    for (const off of [1500, 20, 900, 1990, 300, 320, 700]) await reader.readPartition(refs, off, 16 * KiB);
    assert.equal(reader.stats.prefetches, 0);
    assert.ok(store.gets.every((g) => g.length === 16 * KiB));
  });

  test('a slow GET does not block cache hits; a failed prefetch does not fail the reader', async () => {
    const refs = await partitionObject('r6', 20, 8 * KiB);
    const store = new RecordingStore(fs);
    const reader = new ObjectReader(store, new BlockCache({ maxBytes: 64 * MiB }));
    await reader.readRefs([refs[0]!]);
    store.pause('get');
    const slow = reader.readRefs([refs[10]!]);
    let slowDone = false;
    void slow.then(() => { slowDone = true; });
    const hit = await reader.readRefs([refs[0]!]);
    assert.equal(hit[0]!.length, 8 * KiB);
    assert.equal(slowDone, false, 'the slow read is still waiting while the hit was served');
    store.resume('get');
    await slow;

    // Prefetches fail; the reader's own GET of the block works.
    const r2 = new ObjectReader(store, new BlockCache({ maxBytes: 64 * MiB }));
    await r2.readRefs([refs[1]!]);
    await r2.readPartition(refs, 0, 8 * KiB);
    store.failNext('get', 1);
    await r2.readPartition(refs, 10, 8 * KiB); // sequential: starts a prefetch, which fails
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(r2.stats.prefetches, 1);
    const { blocks } = await r2.readPartition(refs, 20, 8 * KiB);
    assert.equal(blocks[0]!.length, 8 * KiB);
    store.failNext('get', 1, false);
    await assert.rejects(new ObjectReader(store, new BlockCache({ maxBytes: MiB })).readRefs([refs[19]!]), (e: unknown) => e instanceof ObjectStoreError && !e.retriable, 'a foreground failure is the caller\'s');
  });

  test('a short answer from the store is a retriable error, not a short block', async () => {
    const refs = await partitionObject('r7', 2, 1000);
    const shortStore: ObjectStore = { ...fs, description: 'short', get: async (k, r) => (await fs.get(k, r)).subarray(1), put: fs.put.bind(fs), head: fs.head.bind(fs), list: fs.list.bind(fs), delete: fs.delete.bind(fs), close: fs.close.bind(fs) };
    const reader = new ObjectReader(shortStore, new BlockCache({ maxBytes: MiB }));
    await assert.rejects(reader.readRefs(refs), (e: unknown) => e instanceof ObjectStoreError && e.retriable);
    assert.equal(reader.cache.size, 0);
  });
});
