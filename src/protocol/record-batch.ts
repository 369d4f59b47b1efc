// Record batches (magic 2) in a records byte slice: the one place that knows the header layout. Header
// field offsets and readers, the walker that cuts concatenated batches apart, validation, and the
// in-place edits the produce path makes (offsets, leader epoch, LogAppendTime). Records inside a
// batch are never decoded here, except by buildRecordBatch, which encodes a plain batch for tests
// and tools.
//
// Header layout (61 bytes): baseOffset i64 @0 | batchLength i32 @8 | partitionLeaderEpoch i32 @12 |
// magic i8 @16 | crc u32 @17 | attributes i16 @21 | lastOffsetDelta i32 @23 | baseTimestamp i64 @27 |
// maxTimestamp i64 @35 | producerId i64 @43 | producerEpoch i16 @51 | baseSequence i32 @53 |
// recordsCount i32 @57. The CRC-32C covers bytes 21..end, so baseOffset and partitionLeaderEpoch can
// be rewritten without touching it.
import { crc32c } from '@node-rs/crc32';
import { ErrorCode } from './errors.js';
import { Reader, Writer } from './primitives.js';

/** The header; the records follow it. */
export const BATCH_HEADER_BYTES = 61;
/** batchLength counts the bytes after itself: the whole batch is batchLength + 12 bytes. */
export const BATCH_LENGTH_OVERHEAD = 12;
const CRC_START = 21;
/** The smallest batchLength a batch can have: a header and no records. */
const BATCH_LENGTH_MIN = BATCH_HEADER_BYTES - BATCH_LENGTH_OVERHEAD;

/** Where each header field starts. */
export const BatchField = {
  BaseOffset: 0,
  BatchLength: 8,
  PartitionLeaderEpoch: 12,
  Magic: 16,
  Crc: 17,
  Attributes: 21,
  LastOffsetDelta: 23,
  BaseTimestamp: 27,
  MaxTimestamp: 35,
  ProducerId: 43,
  ProducerEpoch: 51,
  BaseSequence: 53,
  RecordsCount: 57,
} as const;
const At = BatchField;

export const Compression = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;
/** Attribute bits 0-2. */
export const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_BIT = 0x08;
const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;

/** Header fields of one batch, read live from `bytes` (so in-place setters show through). */
export class BatchView {
  constructor(readonly bytes: Buffer) {}

  get baseOffset(): bigint {
    return this.bytes.readBigInt64BE(At.BaseOffset);
  }
  get batchLength(): number {
    return this.bytes.readInt32BE(At.BatchLength);
  }
  get partitionLeaderEpoch(): number {
    return this.bytes.readInt32BE(At.PartitionLeaderEpoch);
  }
  get magic(): number {
    return this.bytes.readInt8(At.Magic);
  }
  get crc(): number {
    return this.bytes.readUInt32BE(At.Crc);
  }
  get attributes(): number {
    return this.bytes.readInt16BE(At.Attributes);
  }
  /** 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  get compression(): number {
    return this.attributes & COMPRESSION_MASK;
  }
  /** 0 CreateTime, 1 LogAppendTime. */
  get timestampType(): number {
    return (this.attributes & TIMESTAMP_TYPE_BIT) === 0 ? 0 : 1;
  }
  get isTransactional(): boolean {
    return (this.attributes & TRANSACTIONAL_BIT) !== 0;
  }
  get isControl(): boolean {
    return (this.attributes & CONTROL_BIT) !== 0;
  }
  get lastOffsetDelta(): number {
    return this.bytes.readInt32BE(At.LastOffsetDelta);
  }
  get baseTimestamp(): bigint {
    return this.bytes.readBigInt64BE(At.BaseTimestamp);
  }
  get maxTimestamp(): bigint {
    return this.bytes.readBigInt64BE(At.MaxTimestamp);
  }
  get producerId(): bigint {
    return this.bytes.readBigInt64BE(At.ProducerId);
  }
  get producerEpoch(): number {
    return this.bytes.readInt16BE(At.ProducerEpoch);
  }
  get baseSequence(): number {
    return this.bytes.readInt32BE(At.BaseSequence);
  }
  get recordsCount(): number {
    return this.bytes.readInt32BE(At.RecordsCount);
  }
  /** Offset of the last record: baseOffset + lastOffsetDelta. */
  get lastOffset(): bigint {
    return this.baseOffset + BigInt(this.lastOffsetDelta);
  }
}

// Header fields as plain numbers, for the log, which keeps offsets and timestamps below 2^53.

export function baseOffsetOf(batch: Buffer): number {
  return Number(batch.readBigInt64BE(At.BaseOffset));
}

/** baseOffset + lastOffsetDelta. */
export function lastOffsetOf(batch: Buffer): number {
  return Number(batch.readBigInt64BE(At.BaseOffset)) + batch.readInt32BE(At.LastOffsetDelta);
}

export function maxTimestampOf(batch: Buffer): number {
  return Number(batch.readBigInt64BE(At.MaxTimestamp));
}

export type BatchFramingReason = 'truncated' | 'bounds';

/** Concatenated batches that do not cut apart: a length that is too small or runs past the end. */
export class BatchFramingError extends Error {
  override readonly name = 'BatchFramingError';
  readonly code = 'BATCH_FRAMING';
  constructor(readonly reason: BatchFramingReason, message: string) {
    super(message);
  }
}

export interface SplitOptions {
  /**
   * Stop at an incomplete last batch instead of throwing: a Fetch response may end with one
   * (partition max bytes cut it). A length below a header's still throws.
   */
  partialTail?: boolean;
}

/**
 * Cuts concatenated batches apart by batchLength, as views of `bytes` (no copies). Every length is
 * checked before it is used: at least a header, and within `bytes`. Only the framing is checked;
 * parseBatches validates the contents.
 */
export function splitBatches(bytes: Buffer, opts: SplitOptions = {}): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const left = bytes.length - pos;
    if (left < BATCH_LENGTH_OVERHEAD) {
      if (opts.partialTail) break;
      throw new BatchFramingError('truncated', `${left} bytes at ${pos} end inside a batch header (of ${bytes.length} bytes)`);
    }
    const batchLength = bytes.readInt32BE(pos + At.BatchLength);
    if (batchLength < BATCH_LENGTH_MIN) throw new BatchFramingError('bounds', `batch at ${pos}: batchLength ${batchLength} is shorter than a header`);
    const size = batchLength + BATCH_LENGTH_OVERHEAD;
    if (size > left) {
      if (opts.partialTail) break;
      throw new BatchFramingError('bounds', `batch at ${pos}: batchLength ${batchLength} runs past the end (${left - BATCH_LENGTH_OVERHEAD} bytes follow it)`);
    }
    out.push(bytes.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

export interface BatchError {
  /** Kafka error code to answer for the partition. */
  errorCode: number;
  message: string;
  /** Index of the offending batch in the slice. */
  batchIndex: number;
}

export interface ParseBatchesOptions {
  /** Largest accepted batch, whole batch including its header (max.message.bytes). */
  batchBytesMax: number;
}

/**
 * Splits a records slice into batches and validates each (DESIGN §2). Any failure rejects the whole
 * slice: nothing of it may be written. Returned views share memory with `records`.
 */
export function parseBatches(records: Buffer, opts: ParseBatchesOptions): BatchView[] | BatchError {
  const out: BatchView[] = [];
  let pos = 0;
  while (pos < records.length) {
    const index = out.length;
    const fail = (errorCode: number, message: string): BatchError => ({ errorCode, message: `batch ${index}: ${message}`, batchIndex: index });
    const left = records.length - pos;
    if (left < At.Magic + 1) return fail(ErrorCode.CORRUPT_MESSAGE, `truncated header (${left} bytes)`);
    const magic = records.readInt8(pos + At.Magic);
    if (magic < 2) return fail(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `magic ${magic} (only record batch v2 is supported)`);
    if (magic !== 2) return fail(ErrorCode.CORRUPT_MESSAGE, `unknown magic ${magic}`);
    const batchLength = records.readInt32BE(pos + At.BatchLength);
    if (batchLength < BATCH_LENGTH_MIN) return fail(ErrorCode.CORRUPT_MESSAGE, `batchLength ${batchLength} is shorter than a header`);
    const size = batchLength + BATCH_LENGTH_OVERHEAD;
    if (size > left) return fail(ErrorCode.CORRUPT_MESSAGE, `batchLength ${batchLength} exceeds the ${left - BATCH_LENGTH_OVERHEAD} bytes present`);
    if (size > opts.batchBytesMax) return fail(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${size} bytes exceeds the limit of ${opts.batchBytesMax}`);
    const view = new BatchView(records.subarray(pos, pos + size));
    const crc = crc32c(view.bytes.subarray(CRC_START));
    if (crc !== view.crc) return fail(ErrorCode.CORRUPT_MESSAGE, `CRC mismatch (stored ${view.crc}, computed ${crc})`);
    if (view.compression > Compression.Zstd) return fail(ErrorCode.CORRUPT_MESSAGE, `unknown compression ${view.compression}`);
    const count = view.recordsCount;
    if (count <= 0 || count !== view.lastOffsetDelta + 1) {
      return fail(ErrorCode.INVALID_RECORD, `recordsCount ${count} does not match lastOffsetDelta ${view.lastOffsetDelta} + 1`);
    }
    out.push(view);
    pos += size;
  }
  return out;
}

function assertBatch(batch: Buffer): void {
  if (batch.length < BATCH_HEADER_BYTES) throw new RangeError(`not a record batch: ${batch.length} bytes`);
}

/** Rewrites baseOffset (not covered by the CRC). */
export function setBaseOffset(batch: Buffer, offset: bigint): void {
  assertBatch(batch);
  batch.writeBigInt64BE(offset, At.BaseOffset);
}

/** Rewrites partitionLeaderEpoch (not covered by the CRC). */
export function setPartitionLeaderEpoch(batch: Buffer, epoch: number): void {
  assertBatch(batch);
  batch.writeInt32BE(epoch, At.PartitionLeaderEpoch);
}

/** LogAppendTime: marks the timestamp type, sets maxTimestamp and recomputes the CRC. */
export function setMaxTimestampAndCrc(batch: Buffer, timestamp: bigint): void {
  assertBatch(batch);
  batch.writeInt16BE(batch.readInt16BE(At.Attributes) | TIMESTAMP_TYPE_BIT, At.Attributes);
  batch.writeBigInt64BE(timestamp, At.MaxTimestamp);
  recomputeCrc(batch);
}

export function recomputeCrc(batch: Buffer): void {
  assertBatch(batch);
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_START)), At.Crc);
}

/** True if the stored CRC matches the bytes. */
export function verifyCrc(batch: Buffer): boolean {
  assertBatch(batch);
  return batch.readUInt32BE(At.Crc) === crc32c(batch.subarray(CRC_START));
}

export interface RecordHeaderInput {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeaderInput[];
  /** Milliseconds since the epoch; defaults to the batch's baseTimestamp. */
  timestamp?: bigint;
}

export interface BuildBatchOptions {
  baseOffset?: bigint;
  partitionLeaderEpoch?: number;
  /** Used when records carry no timestamp; defaults to now. */
  baseTimestamp?: bigint;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
  /** A control batch (transaction markers); the broker writes these, clients never may. */
  isControl?: boolean;
  logAppendTime?: boolean;
}

/** Encodes an uncompressed magic-2 batch (for tests, the admin CLI and the perf tool). */
export function buildRecordBatch(records: RecordInput[], opts: BuildBatchOptions = {}): Buffer {
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const fallbackTs = opts.baseTimestamp ?? BigInt(Date.now());
  const timestamps = records.map((r) => r.timestamp ?? fallbackTs);
  const baseTimestamp = timestamps[0]!;
  let maxTimestamp = baseTimestamp;
  for (const t of timestamps) if (t > maxTimestamp) maxTimestamp = t;

  const w = new Writer(BATCH_HEADER_BYTES + records.length * 32);
  w.int64(opts.baseOffset ?? 0n);
  const lengthAt = w.reserveInt32();
  w.int32(opts.partitionLeaderEpoch ?? -1);
  w.int8(2);
  w.uint32(0); // crc, set below
  let attributes = Compression.None;
  if (opts.logAppendTime) attributes |= TIMESTAMP_TYPE_BIT;
  if (opts.isTransactional) attributes |= TRANSACTIONAL_BIT;
  if (opts.isControl) attributes |= CONTROL_BIT;
  w.int16(attributes);
  w.int32(records.length - 1);
  w.int64(baseTimestamp);
  w.int64(maxTimestamp);
  w.int64(opts.producerId ?? -1n);
  w.int16(opts.producerEpoch ?? -1);
  w.int32(opts.baseSequence ?? -1);
  w.int32(records.length);
  records.forEach((rec, i) => {
    const body = new Writer(64);
    body.int8(0); // record attributes
    body.varlong(timestamps[i]! - baseTimestamp);
    body.varint(i);
    writeVarBytes(body, rec.key ?? null);
    writeVarBytes(body, rec.value);
    const headers = rec.headers ?? [];
    body.varint(headers.length);
    for (const h of headers) {
      writeVarBytes(body, Buffer.from(h.key, 'utf8'));
      writeVarBytes(body, h.value);
    }
    const b = body.toBuffer();
    w.varint(b.length);
    w.raw(b);
  });
  w.patchInt32(lengthAt, w.length - BATCH_LENGTH_OVERHEAD);
  const batch = Buffer.from(w.toBuffer()); // own memory: toBuffer may return the writer's scratch buffer
  recomputeCrc(batch);
  return batch;
}

function writeVarBytes(w: Writer, b: Buffer | null): void {
  if (b === null) {
    w.varint(-1);
    return;
  }
  w.varint(b.length);
  w.raw(b);
}

/**
 * A transaction marker (Kafka's EndTransactionMarker): a transactional control batch of one
 * record whose key is (version 0, type) and value (version 0, coordinator epoch).
 * `type`: 0 abort, 1 commit.
 */
export function buildControlBatch(type: number, coordinatorEpoch: number,
  opts: { producerId: bigint; producerEpoch: number; timestamp: bigint }): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return buildRecordBatch([{ key, value, timestamp: opts.timestamp }], {
    producerId: opts.producerId, producerEpoch: opts.producerEpoch, baseSequence: -1,
    isTransactional: true, isControl: true, baseTimestamp: opts.timestamp,
  });
}

/** The control type (0 abort, 1 commit, ...) of an uncompressed control batch, or null if unreadable. */
export function controlTypeOf(batch: Buffer): number | null {
  if (batch.length < BATCH_HEADER_BYTES || (batch.readInt16BE(At.Attributes) & CONTROL_BIT) === 0) return null;
  if ((batch.readInt16BE(At.Attributes) & COMPRESSION_MASK) !== Compression.None) return null;
  const r = new Reader(batch, BATCH_HEADER_BYTES);
  r.varint(); // record length
  r.int8(); // attributes
  r.varlong(); // timestamp delta
  r.varint(); // offset delta
  const keyLength = r.varint();
  if (r.error !== null || keyLength < 4 || r.remaining < keyLength) return null;
  return batch.readInt16BE(r.offset + 2);
}
