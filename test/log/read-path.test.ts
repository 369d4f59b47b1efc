/**
 * ReadPath (src/log/read-path.ts) on its own: which reads go to the log cache and which to object
 * blocks, how a read out of blocks honours the offset, the log start, maxBytes and KIP-74's first
 * batch, and ListOffsets by max timestamp and by timestamp over blocks and cache. The object
 * store is a recording BlockReader over real record batches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadPath, type BlockReader } from '../../src/log/read-path.js';
import { PartitionLog, type CachedBatch, type ObjectBlockRef } from '../../src/log/partition-log.js';
import { buildRecordBatch, baseOffsetOf } from '../../src/protocol/record-batch.js';

const TOPIC = 'ef'.repeat(16);

function batchAt(baseOffset: number, count: number, ts: number, valueBytes = 40): Buffer {
  return buildRecordBatch(Array.from({ length: count }, (_, i) => ({ value: Buffer.alloc(valueBytes, i), timestamp: BigInt(ts + i * 10) })), { baseOffset: BigInt(baseOffset) });
}

/** Blocks as the object store holds them (concatenated batches), and every call made. */
class RecordingReader implements BlockReader {
  readonly bytes = new Map<string, Buffer>();
  readonly calls: string[] = [];
  emptyPartitionReads = false;
  private key(b: ObjectBlockRef) { return `${b.objectId}@${b.position}`; }
  put(ref: ObjectBlockRef, block: Buffer) { this.bytes.set(this.key(ref), block); }
  async readBlocks(blocks: readonly ObjectBlockRef[]): Promise<Buffer[]> {
    this.calls.push(`blocks ${blocks.map((b) => b.objectId).join(',')}`);
    return blocks.map((b) => this.bytes.get(this.key(b))!);
  }
  async readPartition(blocks: readonly ObjectBlockRef[], offset: number, maxBytes: number): Promise<Buffer[]> {
    this.calls.push(`partition from ${offset} max ${maxBytes}`);
    if (this.emptyPartitionReads) return [];
    const out: Buffer[] = [];
    let bytes = 0;
    for (const b of blocks) {
      if (b.endOffset <= offset) continue;
      if (out.length && bytes >= maxBytes) break;
      const block = this.bytes.get(this.key(b))!;
      out.push(block);
      bytes += block.length;
    }
    return out;
  }
}

/**
 * Offsets 0..19 in batches of 2 (timestamps 1000 + 100 * offset): 0..7 in object "a" (two blocks),
 * 8..13 in object "b", all of them evicted from the cache; 14..19 cached only (not uploaded).
 */
function fixture() {
  const log = new PartitionLog(TOPIC, 0, 0);
  const all: CachedBatch[] = [];
  for (let base = 0; base < 20; base += 2) {
    const ts = 1_000 + 100 * base;
    const bytes = batchAt(log.reserve(2), 2, ts);
    const b: CachedBatch = { baseOffset: base, lastOffset: base + 1, maxTimestamp: ts + 10, bytes, walOffset: BigInt(base) };
    log.commit(b, 0);
    all.push(b);
  }
  const reader = new RecordingReader();
  const refs: ObjectBlockRef[] = [];
  const addBlock = (objectId: string, position: number, from: number, to: number) => {
    const batches = all.filter((b) => b.baseOffset >= from && b.lastOffset < to);
    const block = Buffer.concat(batches.map((b) => b.bytes));
    const ref: ObjectBlockRef = {
      objectId, objectKey: `objects/${objectId}`, objectSize: 1 << 16, baseOffset: from, endOffset: to,
      maxTimestamp: Math.max(...batches.map((b) => b.maxTimestamp)), position, size: block.length,
    };
    reader.put(ref, block);
    refs.push(ref);
  };
  addBlock('a', 0, 0, 4);
  addBlock('a', 1_000, 4, 8);
  addBlock('b', 0, 8, 14);
  log.addObjectBlocks(refs);
  log.evictUploaded(1 << 30);
  assert.equal(log.cacheStartOffset, 14);
  return { log, reader, reads: new ReadPath(reader), batchBytes: all[0].bytes.length };
}

const bases = (r: { batches: Buffer[] }) => r.batches.map(baseOffsetOf);

test('a read the cache can answer never touches the object store', async () => {
  const { log, reader, reads } = fixture();
  assert.equal(reads.needsObjects(log, 14), false);
  assert.equal(reads.needsObjects(log, 13), true);
  assert.deepEqual(bases(await reads.read(log, 15, 1 << 20, true)), [14, 16, 18]);
  assert.deepEqual(bases(await reads.read(log, 20, 1 << 20, true)), [], 'at the high watermark');
  assert.deepEqual(reader.calls, []);
});

test('below the cache, batches come from object blocks: from the one holding the offset, within maxBytes', async () => {
  const { log, reader, reads, batchBytes } = fixture();
  const r = await reads.read(log, 5, 1 << 20, true);
  assert.deepEqual(bases(r), [4, 6, 8, 10, 12], 'the batch holding 5 first; the earlier batches of its block are skipped');
  assert.equal(r.bytes, 5 * batchBytes);
  assert.deepEqual(reader.calls, ['partition from 5 max 1048576']);
  // The answer stops at the objects' end; the client's next fetch (from 14) is served by the cache.
  const limited = await reads.read(log, 0, 3 * batchBytes + 1, false);
  assert.deepEqual(bases(limited), [0, 2, 4]);
  assert.equal(limited.bytes, 3 * batchBytes);
  // Batches are slices of the block the reader returned, not copies.
  const block = await reader.readBlocks([log.objectBlocks()[0]]);
  const first = (await reads.read(log, 0, 1, true)).batches[0];
  assert.equal(first.buffer, block[0].buffer);
});

test('KIP-74 from objects: the first batch comes whole above maxBytes only with minOneBatch', async () => {
  const { log, reads, batchBytes } = fixture();
  const one = await reads.read(log, 2, 10, true);
  assert.deepEqual(bases(one), [2]);
  assert.equal(one.bytes, batchBytes);
  assert.deepEqual(await reads.read(log, 2, 10, false), { batches: [], bytes: 0 });
});

test('a read below the log start begins at the log start', async () => {
  const { log, reader, reads } = fixture();
  log.advanceLogStart(9);
  const r = await reads.read(log, 0, 1 << 20, true);
  assert.deepEqual(bases(r), [8, 10, 12], 'the batch holding the log start (8..9) is the first');
  assert.deepEqual(reader.calls, ['partition from 9 max 1048576']);
});

test('without a block reader, or when it has nothing, the cache answers', async () => {
  const { log, reader } = fixture();
  const cacheOnly = new ReadPath(null);
  assert.equal(cacheOnly.needsObjects(log, 0), false);
  assert.deepEqual(bases(await cacheOnly.read(log, 0, 1 << 20, true)), [14, 16, 18]);
  reader.emptyPartitionReads = true;
  assert.deepEqual(bases(await new ReadPath(reader).read(log, 0, 1 << 20, true)), [14, 16, 18]);
});

test('data uploaded but still cached is read from the cache', async () => {
  const log = new PartitionLog(TOPIC, 0, 0);
  const bytes = batchAt(log.reserve(2), 2, 5_000);
  log.commit({ baseOffset: 0, lastOffset: 1, maxTimestamp: 5_010, bytes, walOffset: 0n }, 0);
  log.addObjectBlocks([{ objectId: 'o', objectKey: 'o', objectSize: 100, baseOffset: 0, endOffset: 2, maxTimestamp: 5_010, position: 0, size: bytes.length }]);
  const reader = new RecordingReader();
  const reads = new ReadPath(reader);
  assert.equal(reads.needsObjects(log, 0), false);
  assert.deepEqual(bases(await reads.read(log, 0, 1 << 20, true)), [0]);
  assert.deepEqual(reader.calls, []);
});

test('MAX_TIMESTAMP: from the cache when it holds the newest, else from the one block that does', async () => {
  const { log, reader, reads } = fixture();
  assert.deepEqual(await reads.maxTimestamp(log), { offset: 19, timestamp: 2_810 }, 'the cache is newest here');
  assert.deepEqual(reader.calls, [], 'no block read when the cache already wins');

  // Out-of-order timestamps: the newest record sits in object "a"'s second block.
  const skewed = new PartitionLog(TOPIC, 1, 0);
  const r2 = new RecordingReader();
  const old = batchAt(0, 2, 90_000);
  const mid = batchAt(2, 2, 50_000);
  const late = batchAt(4, 2, 10_000);
  const blockOf = (id: string, base: number, b: Buffer, maxTs: number): ObjectBlockRef => ({ objectId: id, objectKey: id, objectSize: 1 << 10, baseOffset: base, endOffset: base + 2, maxTimestamp: maxTs, position: 0, size: b.length });
  const refs = [blockOf('x', 0, old, 90_010), blockOf('y', 2, mid, 50_010)];
  r2.put(refs[0], old);
  r2.put(refs[1], mid);
  skewed.addObjectBlocks(refs);
  skewed.commit({ baseOffset: 4, lastOffset: 5, maxTimestamp: 10_010, bytes: late, walOffset: 0n }, 0);
  const path = new ReadPath(r2);
  assert.deepEqual(await path.maxTimestamp(skewed), { offset: 1, timestamp: 90_010 });
  assert.deepEqual(r2.calls, ['blocks x'], 'only the block with the largest maxTimestamp is read');
  // Below the log start it no longer counts.
  skewed.advanceLogStart(2);
  assert.deepEqual(await path.maxTimestamp(skewed), { offset: 3, timestamp: 50_010 });
  assert.deepEqual(await new ReadPath(null).maxTimestamp(skewed), { offset: 5, timestamp: 10_010 }, 'no reader: what the cache has seen');
});

test('offset for a timestamp: the first record at or after it, in blocks in order, then the cache', async () => {
  const { log, reader, reads } = fixture();
  const fromCache = () => ({ offset: 14, timestamp: 2_400 });
  // Offset 5 has timestamp 1000 + 100*4 + 10 = 1410; 1405 lands on it.
  assert.deepEqual(await reads.offsetForTimestamp(log, 1_405, fromCache), { offset: 5, timestamp: 1_410 });
  assert.deepEqual(reader.calls, ['blocks a'], 'the first block (max 1210) is skipped without reading it');
  reader.calls.length = 0;
  assert.deepEqual(await reads.offsetForTimestamp(log, 0, fromCache), { offset: 0, timestamp: 1_000 });
  reader.calls.length = 0;
  assert.deepEqual(await reads.offsetForTimestamp(log, 2_400, fromCache), { offset: 14, timestamp: 2_400 }, 'past every block: the cache lookup');
  assert.deepEqual(reader.calls, [], 'blocks older than the timestamp are not read');
  // Records below the log start are never the answer.
  log.advanceLogStart(5);
  assert.deepEqual(await reads.offsetForTimestamp(log, 0, fromCache), { offset: 5, timestamp: 1_410 });
});
