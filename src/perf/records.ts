/**
 * Record batches for the perf tools: build (optionally gzip/zstd-compressed) batches of fixed-size
 * values, and walk fetched batches (header fields; values of uncompressed batches for e2e).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import {
  BATCH_HEADER_BYTES, BATCH_LENGTH_OVERHEAD, BatchField, BatchView, COMPRESSION_MASK, Compression, buildRecordBatch, recomputeCrc, splitBatches,
} from '../protocol/record-batch.js';
import { UsageError } from '../admin/errors.js';

export type CompressionName = 'none' | 'gzip' | 'zstd';

type ZstdFns = { zstdCompressSync?: (b: Buffer) => Buffer; zstdDecompressSync?: (b: Buffer) => Buffer };
const zstd = zlib as unknown as ZstdFns;

export function checkCompression(name: string): CompressionName {
  if (name === 'none' || name === 'gzip') return name;
  if (name === 'zstd') {
    if (typeof zstd.zstdCompressSync !== 'function') throw new UsageError(`--compression zstd needs Node >= 22.15 (this is ${process.version}); use gzip or none`);
    return name;
  }
  throw new UsageError(`--compression expects none, gzip or zstd, got ${name}`);
}

/**
 * A batch of `count` records whose values are `value` (the first 8 bytes of each value may be
 * overwritten by `stamp`, e.g. a send time). Compression recompresses the records section and
 * fixes the length, attributes and CRC.
 */
export function buildPerfBatch(count: number, value: Buffer, compression: CompressionName, stamp?: (i: number, v: Buffer) => void): Buffer {
  const records = [];
  for (let i = 0; i < count; i++) {
    let v = value;
    if (stamp) { v = Buffer.from(value); stamp(i, v); }
    records.push({ value: v });
  }
  const plain = buildRecordBatch(records);
  if (compression === 'none') return plain;
  const body = plain.subarray(BATCH_HEADER_BYTES);
  const packed = compression === 'gzip' ? gzipSync(body, { level: 1 }) : zstd.zstdCompressSync!(body);
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + packed.length);
  plain.copy(out, 0, 0, BATCH_HEADER_BYTES);
  packed.copy(out, BATCH_HEADER_BYTES);
  out.writeInt32BE(out.length - BATCH_LENGTH_OVERHEAD, BatchField.BatchLength);
  const codec = compression === 'gzip' ? Compression.Gzip : Compression.Zstd;
  out.writeInt16BE((out.readInt16BE(BatchField.Attributes) & ~COMPRESSION_MASK) | codec, BatchField.Attributes);
  recomputeCrc(out);
  return out;
}

export interface FetchedBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  recordsCount: number;
  sizeBytes: number;
  compression: number;
  bytes: Buffer;
}

/** Complete batches in a Fetch response's records (a partial trailing batch is normal and skipped). */
export function* walkBatches(records: Buffer | null): Generator<FetchedBatch> {
  if (!records) return;
  for (const bytes of splitBatches(records, { partialTail: true })) {
    const v = new BatchView(bytes);
    yield { baseOffset: v.baseOffset, lastOffset: v.lastOffset, recordsCount: v.recordsCount, sizeBytes: bytes.length, compression: v.compression, bytes };
  }
}

function readVarint(b: Buffer, at: { pos: number }): number {
  let shift = 0;
  let result = 0;
  for (;;) {
    if (at.pos >= b.length || shift > 28) throw new RangeError('bad varint');
    const byte = b[at.pos++]!;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return (result >>> 1) ^ -(result & 1);
}

function readVarlong(b: Buffer, at: { pos: number }): void {
  for (let i = 0; i < 10; i++) if ((b[at.pos++]! & 0x80) === 0) return;
  throw new RangeError('bad varlong');
}

/** Values of a batch's records (none, gzip or zstd). Throws on a malformed batch. */
export function recordValues(batch: FetchedBatch): Buffer[] {
  let body = batch.bytes.subarray(BATCH_HEADER_BYTES);
  if (batch.compression === Compression.Gzip) body = gunzipSync(body);
  else if (batch.compression === Compression.Zstd && zstd.zstdDecompressSync) body = zstd.zstdDecompressSync(body);
  else if (batch.compression !== Compression.None) throw new RangeError(`compression ${batch.compression} not readable by the perf tool`);
  const out: Buffer[] = [];
  const at = { pos: 0 };
  for (let i = 0; i < batch.recordsCount; i++) {
    const len = readVarint(body, at);
    const end = at.pos + len;
    at.pos++; // attributes
    readVarlong(body, at); // timestamp delta
    readVarint(body, at); // offset delta
    const keyLen = readVarint(body, at);
    if (keyLen > 0) at.pos += keyLen;
    const valueLen = readVarint(body, at);
    out.push(valueLen < 0 ? Buffer.alloc(0) : body.subarray(at.pos, at.pos + valueLen));
    at.pos = end;
  }
  return out;
}
