// Model-based property test of the cleaner's pass logic (offset map + BatchCleaner + cleaned
// ranges) against a plain "last value per key" map: random histories of keyed records,
// tombstones, keyless records, committed and aborted transactions, cleaned in passes with offset
// maps small enough to force several passes, with time moving past delete.retention.ms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { buildControlBatch, buildRecordBatch, baseOffsetOf, lastOffsetOf, verifyCrc, BatchView } from '../../src/protocol/record-batch.js';
import { readRecords } from '../../src/protocol/records.js';
import { compress, loadCompressionCodecs } from '../../src/protocol/compression.js';
import { AbortedIndex, BatchCleaner, indexBatch, nextCleanedRanges, type AbortedRange, type CleanedRange } from '../../src/cleaner/batch-cleaner.js';
import { OffsetMap, OFFSET_MAP_SLOT_BYTES } from '../../src/cleaner/offset-map.js';

type Op =
  | { t: 'put'; key: number | null; value: number | null }
  | { t: 'txn'; producer: number; puts: { key: number; value: number }[]; commit: boolean }
  | { t: 'clean'; mapKeys: number; advanceMs: number };

const RETENTION_MS = 1000;
const BATCH_BYTES_MAX = 1 << 20;

interface Model { latest: Map<number, { offset: number; value: number | null }> }

/** A consumer reading the log from the start: key -> value, tombstones delete. */
function table(batches: readonly Buffer[], aborted: AbortedIndex): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of batches) {
    const v = new BatchView(b);
    if (v.isControl) continue;
    if (v.isTransactional && aborted.isAborted(v.producerId, baseOffsetOf(b))) continue;
    for (const r of readRecords(b)) {
      if (r.key === null) continue;
      const k = r.key.toString();
      if (r.valueIsNull) out.delete(k); else out.set(k, recordValue(b, r.offsetDelta));
    }
  }
  return out;
}

function recordValue(batch: Buffer, offsetDelta: number): string {
  const r = readRecords(batch).find((x) => x.offsetDelta === offsetDelta)!;
  // The value is the tail of the record: parse it the simple way, via the key/value layout of buildRecordBatch.
  return valueOf(r.bytes);
}

/** The value bytes of an encoded record (varint length-prefixed fields, as DefaultRecord). */
function valueOf(rec: Buffer): string {
  let at = 0;
  const varint = (): number => {
    let shift = 0, n = 0;
    for (;;) { const byte = rec[at++]; n |= (byte & 0x7f) << shift; if ((byte & 0x80) === 0) break; shift += 7; }
    return (n >>> 1) ^ -(n & 1);
  };
  varint(); // length
  at++; // attributes
  varint(); varint(); // timestamp delta, offset delta
  const kl = varint(); if (kl > 0) at += kl;
  const vl = varint();
  return vl < 0 ? '<null>' : rec.subarray(at, at + vl).toString();
}

test('cleaning passes keep exactly the latest value of every key, like a last-value map', async () => {
  await loadCompressionCodecs();
  const key = fc.option(fc.integer({ min: 0, max: 19 }), { freq: 12 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ t: fc.constant('put' as const), key, value: fc.option(fc.integer({ min: 0, max: 999 }), { freq: 5 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('txn' as const), producer: fc.integer({ min: 1, max: 3 }), puts: fc.array(fc.record({ key: fc.integer({ min: 0, max: 11 }), value: fc.integer({ min: 0, max: 999 }) }), { minLength: 1, maxLength: 3 }), commit: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('clean' as const), mapKeys: fc.integer({ min: 2, max: 30 }), advanceMs: fc.integer({ min: 0, max: 800 }) }) },
  );
  const codec = fc.constantFrom(0, 1, 2, 3, 4);
  const totals = { passes: 0, superseded: 0, tombstones: 0, aborted: 0, multiPass: 0 };
  await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), codec, async (ops, compression) => {
    let log: Buffer[] = [];
    let next = 0;
    let now = 1_000_000;
    let firstDirty = 0;
    let ranges: CleanedRange[] = [];
    const aborted: AbortedRange[] = [];
    const model: Model = { latest: new Map() };
    const append = (b: Buffer) => { log.push(b); next = lastOffsetOf(b) + 1; };
    for (const o of ops) {
      if (o.t === 'put') {
        const b = batch([{ key: o.key, value: o.value }], next, now, compression);
        append(b);
        if (o.key !== null) model.latest.set(o.key, { offset: next - 1, value: o.value });
      } else if (o.t === 'txn') {
        const pid = BigInt(o.producer);
        const first = next;
        append(batch(o.puts.map((p) => ({ key: p.key, value: p.value })), next, now, compression, pid));
        const marker = buildControlBatch(o.commit ? 1 : 0, 0, { producerId: pid, producerEpoch: 0, timestamp: BigInt(now) });
        marker.writeBigInt64BE(BigInt(next), 0);
        append(marker);
        if (o.commit) o.puts.forEach((p, i) => model.latest.set(p.key, { offset: first + i, value: p.value }));
        else aborted.push({ producerId: pid.toString(), firstOffset: first, lastOffset: next - 1 });
      } else {
        now += o.advanceMs;
        const abortedIdx = new AbortedIndex(aborted);
        const before = table(log, abortedIdx);
        const map = new OffsetMap(Math.ceil(o.mapKeys / 0.9 + 2) * OFFSET_MAP_SLOT_BYTES);
        let mapEnd = next;
        for (const b of log) {
          if (baseOffsetOf(b) < firstDirty) continue;
          if (!indexBatch(map, b, abortedIdx, BATCH_BYTES_MAX)) { mapEnd = baseOffsetOf(b); break; }
        }
        if (mapEnd <= firstDirty) continue; // the map holds not even one batch: the cleaner refuses
        const cleaner = new BatchCleaner(map, { logStartOffset: 0, firstDirtyOffset: firstDirty, mapEndOffset: mapEnd, nowMs: now, deleteRetentionMs: RETENTION_MS, cleanedRanges: ranges, aborted, batchBytesMax: BATCH_BYTES_MAX });
        const out: Buffer[] = [];
        for (const b of log) { const k = cleaner.clean(b); if (k) out.push(k); }
        totals.passes++;
        totals.superseded += cleaner.stats.superseded;
        totals.tombstones += cleaner.stats.tombstonesRemoved;
        totals.aborted += cleaner.stats.abortedRemoved;
        if (mapEnd < next) totals.multiPass++;
        ranges = nextCleanedRanges(ranges, firstDirty, mapEnd, now, RETENTION_MS);
        firstDirty = mapEnd;
        // Offsets only disappear, never move; every batch is valid.
        let last = -1;
        for (const b of out) {
          assert.ok(verifyCrc(b), 'rebuilt batch CRC');
          assert.ok(baseOffsetOf(b) > last, 'offsets grow');
          last = lastOffsetOf(b);
        }
        // A consumer rebuilding its table from offset 0 gets the same table as before cleaning.
        assert.deepEqual(table(out, abortedIdx), before);
        // Below mapEnd each key appears at most once, and it is that key's latest record overall or below mapEnd.
        const seen = new Set<string>();
        for (const b of out) {
          if (baseOffsetOf(b) >= mapEnd) break;
          const v = new BatchView(b);
          if (v.isControl) continue;
          assert.ok(!(v.isTransactional && abortedIdx.isAborted(v.producerId, baseOffsetOf(b))), 'aborted data removed');
          for (const r of readRecords(b)) {
            assert.notEqual(r.key, null, 'keyless records removed');
            const k = r.key!.toString();
            assert.ok(!seen.has(k), `key ${k} twice below the cleaned point`);
            seen.add(k);
          }
        }
        log = out;
      }
    }
    // The latest record of every key is still there (unless it is a tombstone past its horizon).
    const present = new Map<number, number>();
    const abortedIdx = new AbortedIndex(aborted);
    for (const b of log) {
      const v = new BatchView(b);
      if (v.isControl || (v.isTransactional && abortedIdx.isAborted(v.producerId, baseOffsetOf(b)))) continue;
      for (const r of readRecords(b)) if (r.key !== null) present.set(Number(r.key.toString()), baseOffsetOf(b) + r.offsetDelta);
    }
    for (const [k, { offset, value }] of model.latest) {
      if (value === null) continue;
      assert.equal(present.get(k), offset, `key ${k}: its latest record (offset ${offset}) is kept`);
    }
  }), {
    numRuns: 300,
    // Always among the runs, whatever the seed: a history that reaches every path (superseded
    // records, an aborted transaction, a tombstone removed after its horizon, passes cut short).
    examples: [[[
      { t: 'put' as const, key: 0, value: 1 }, { t: 'put' as const, key: 0, value: null }, { t: 'put' as const, key: null, value: 7 },
      { t: 'txn' as const, producer: 1, puts: [{ key: 2, value: 5 }], commit: false },
      { t: 'clean' as const, mapKeys: 30, advanceMs: 0 },
      { t: 'put' as const, key: 5, value: 2 },
      { t: 'clean' as const, mapKeys: 30, advanceMs: 2000 },
      ...Array.from({ length: 20 }, (_, i) => ({ t: 'put' as const, key: i, value: i })),
      { t: 'clean' as const, mapKeys: 2, advanceMs: 0 },
    ], 0]],
  });
  // The generator reaches every path: removals of each kind, and passes the map cut short.
  for (const [what, n] of Object.entries(totals)) assert.ok(n > 0, `no run exercised ${what}`);
});

function batch(recs: { key: number | null; value: number | null }[], base: number, now: number, compression: number, producerId?: bigint): Buffer {
  const plain = buildRecordBatch(recs.map((r) => ({ key: r.key === null ? null : Buffer.from(String(r.key)), value: r.value === null ? null : Buffer.from(String(r.value)) })), {
    baseOffset: BigInt(base), baseTimestamp: BigInt(now), ...(producerId !== undefined ? { producerId, producerEpoch: 0, baseSequence: 0, isTransactional: true } : {}),
  });
  return compression === 0 ? plain : recompress(plain, compression);
}

/** The same batch with its records compressed (attributes codec bits set, CRC recomputed). */
function recompress(plain: Buffer, codec: number): Buffer {
  const header = Buffer.from(plain.subarray(0, 61));
  const body = compress(codec, plain.subarray(61));
  const out = Buffer.concat([header, body]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE((out.readInt16BE(21) & ~7) | codec, 21);
  out.writeUInt32BE(crc32cOf(out.subarray(21)), 17);
  return out;
}

function crc32cOf(b: Buffer): number { return crc32c(b) >>> 0; }
