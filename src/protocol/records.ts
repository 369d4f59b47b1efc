// Records inside a magic-2 batch (Kafka's DefaultRecord), decoded only by the log cleaner and by
// produce's keyless-record check for compacted topics. The hot path never calls these.
//
// Record layout: length varint (of what follows) | attributes i8 | timestampDelta varlong |
// offsetDelta varint | keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value |
// headerCount varint | headers: (keyLength varint >= 0 | key | valueLength varint (-1 = null) | value)*.
//
// One RecordWalker steps through a batch's records, checking every varint and length against the
// record's own length and the record's length against the bytes left; readRecords turns each step into
// a RecordView (views of the batch or of its decompressed records, no copies), keylessRecords only
// counts. No BigInt per record: timestamps are plain numbers (Kafka's stay below 2^53).
import { ErrorCode } from './errors.js';
import { BATCH_HEADER_BYTES, BATCH_LENGTH_OVERHEAD, BatchField, COMPRESSION_MASK, recomputeCrc } from './record-batch.js';
import { compress, decompress } from './compression.js';

export interface RecordView {
  offsetDelta: number;
  /** Absolute ms: baseTimestamp + timestampDelta (CreateTime), or the batch's maxTimestamp for LogAppendTime batches. */
  timestamp: number;
  key: Buffer | null;
  /** A tombstone: the value is null. */
  valueIsNull: boolean;
  /** The value (null for a tombstone), a view. */
  readonly value: Buffer | null;
  /** The encoded record exactly as in the batch, its leading length varint included (copied verbatim by rebuildBatch). */
  bytes: Buffer;
}

/** A batch whose records do not decode: Kafka's InvalidRecordException (CORRUPT_MESSAGE). */
export class RecordsFormatError extends Error {
  override readonly name = 'RecordsFormatError';
  readonly code = 'RECORDS_FORMAT';
  readonly errorCode = ErrorCode.CORRUPT_MESSAGE;
}

export interface ReadRecordsOptions {
  /** Cap on the decompressed records section (zip-bomb guard). */
  maxBytes?: number;
}

/** Default cap on a batch's decompressed records. */
export const RECORDS_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

const TIMESTAMP_TYPE_BIT = 0x08;
const TWO_32 = 2 ** 32;

/**
 * All records of a batch (decompressed when the batch is compressed; uncompressed batches are sliced,
 * not copied). Throws RecordsFormatError for malformed records (a record running past the end, a
 * negative length other than -1 for null, a record count that does not match recordsCount, an offset
 * delta outside 0..lastOffsetDelta) and CompressionError for records that do not decompress (both
 * carry errorCode CORRUPT_MESSAGE). zstd needs loadCompressionCodecs() first.
 */
export function readRecords(batch: Buffer, opts: ReadRecordsOptions = {}): RecordView[] {
  const w = new RecordWalker(batch, opts.maxBytes ?? RECORDS_BYTES_MAX_DEFAULT);
  const out: RecordView[] = [];
  const data = w.data;
  const logAppendTime = (batch.readInt16BE(BatchField.Attributes) & TIMESTAMP_TYPE_BIT) !== 0;
  const maxTimestamp = readInt64Number(batch, BatchField.MaxTimestamp);
  const baseTimestamp = readInt64Number(batch, BatchField.BaseTimestamp);
  while (w.next()) {
    out.push(new RecordSlice(
      w.offsetDelta,
      logAppendTime ? maxTimestamp : baseTimestamp + w.timestampDelta,
      w.keyLength < 0 ? null : data.subarray(w.keyStart, w.keyStart + w.keyLength),
      w.valueLength < 0,
      data, w.recordStart, w.recordEnd, w.valueStart, w.valueLength,
    ));
  }
  return out;
}

/** A RecordView whose `bytes` view is made on first use: the cleaner's key-map pass never needs it. */
class RecordSlice implements RecordView {
  private view: Buffer | null = null;
  constructor(
    readonly offsetDelta: number,
    readonly timestamp: number,
    readonly key: Buffer | null,
    readonly valueIsNull: boolean,
    private readonly data: Buffer,
    private readonly start: number,
    private readonly end: number,
    private readonly valueStart: number,
    private readonly valueLength: number,
  ) {}

  get bytes(): Buffer {
    return (this.view ??= this.data.subarray(this.start, this.end));
  }

  get value(): Buffer | null {
    return this.valueLength < 0 ? null : this.data.subarray(this.valueStart, this.valueStart + this.valueLength);
  }
}

/** Index (0-based, within the batch) of every record with a null key: produce refuses these for compacted topics. */
export function keylessRecords(batch: Buffer, opts: ReadRecordsOptions = {}): number[] {
  const w = new RecordWalker(batch, opts.maxBytes ?? RECORDS_BYTES_MAX_DEFAULT);
  const out: number[] = [];
  for (let i = 0; w.next(); i++) if (w.keyLength < 0) out.push(i);
  return out;
}

/**
 * The batch with only `kept` (a non-empty subset of readRecords(original), in order): the same
 * baseOffset, partitionLeaderEpoch, attributes, lastOffsetDelta (as Kafka's cleaner keeps it, so offsets
 * and producer sequences stay), baseTimestamp, producerId/epoch and baseSequence; recordsCount =
 * kept.length; maxTimestamp = the max of kept timestamps for CreateTime batches (the original's for
 * LogAppendTime); records recompressed with the original codec; batchLength and CRC-32C recomputed.
 * The kept records' bytes are copied verbatim: their deltas stay valid because the bases do not change.
 */
export function rebuildBatch(original: Buffer, kept: readonly RecordView[]): Buffer {
  checkHeader(original);
  if (kept.length === 0) throw new RangeError('rebuildBatch needs at least one record to keep (drop the batch instead)');
  const lastOffsetDelta = original.readInt32BE(BatchField.LastOffsetDelta);
  let recordsBytes = 0;
  let maxTimestamp = -Infinity;
  let previousDelta = -1;
  for (const r of kept) {
    if (r.offsetDelta <= previousDelta || r.offsetDelta > lastOffsetDelta) {
      throw new RangeError(`kept records must be records of the batch in order: offset delta ${r.offsetDelta} after ${previousDelta} (last ${lastOffsetDelta})`);
    }
    previousDelta = r.offsetDelta;
    recordsBytes += r.bytes.length;
    if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
  }
  const attributes = original.readInt16BE(BatchField.Attributes);
  const codec = attributes & COMPRESSION_MASK;
  let out: Buffer;
  if (codec === 0) {
    out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + recordsBytes);
    copyRecords(kept, out, BATCH_HEADER_BYTES);
  } else {
    const plain = Buffer.allocUnsafe(recordsBytes);
    copyRecords(kept, plain, 0);
    const packed = compress(codec, plain);
    out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + packed.length);
    packed.copy(out, BATCH_HEADER_BYTES);
  }
  original.copy(out, 0, 0, BATCH_HEADER_BYTES);
  out.writeInt32BE(out.length - BATCH_LENGTH_OVERHEAD, BatchField.BatchLength);
  out.writeInt32BE(kept.length, BatchField.RecordsCount);
  if ((attributes & TIMESTAMP_TYPE_BIT) === 0) writeInt64Number(out, BatchField.MaxTimestamp, maxTimestamp);
  recomputeCrc(out);
  return out;
}

function copyRecords(kept: readonly RecordView[], into: Buffer, at: number): void {
  for (const r of kept) {
    r.bytes.copy(into, at);
    at += r.bytes.length;
  }
}

function checkHeader(batch: Buffer): void {
  if (batch.length < BATCH_HEADER_BYTES) throw new RecordsFormatError(`a record batch needs ${BATCH_HEADER_BYTES} header bytes, got ${batch.length}`);
  const magic = batch.readInt8(BatchField.Magic);
  if (magic !== 2) throw new RecordsFormatError(`magic ${magic}: only record batch v2 is supported`);
}

/** A signed 64-bit big-endian integer as a number (exact below 2^53). */
function readInt64Number(b: Buffer, at: number): number {
  return b.readInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4);
}

function writeInt64Number(b: Buffer, at: number, value: number): void {
  const high = Math.floor(value / TWO_32);
  b.writeInt32BE(high, at);
  b.writeUInt32BE(value - high * TWO_32, at + 4);
}

/**
 * Steps through the records of one batch. After next() returns true the fields describe the record
 * just read: positions are in `data` (the batch itself, or its decompressed records).
 */
class RecordWalker {
  readonly data: Buffer;
  private at: number;
  private readonly end: number;
  private readonly count: number;
  private readonly lastOffsetDelta: number;
  private index = 0;

  recordStart = 0;
  recordEnd = 0;
  timestampDelta = 0;
  offsetDelta = 0;
  keyStart = 0;
  /** Where the value's bytes start. */
  valueStart = 0;
  /** -1 for a null key. */
  keyLength = 0;
  /** -1 for a null value. */
  valueLength = 0;

  constructor(batch: Buffer, maxBytes: number) {
    checkHeader(batch);
    const batchLength = batch.readInt32BE(BatchField.BatchLength);
    const size = batchLength + BATCH_LENGTH_OVERHEAD;
    if (size < BATCH_HEADER_BYTES || size > batch.length) {
      throw new RecordsFormatError(`batchLength ${batchLength} does not fit the ${batch.length} bytes of the batch`);
    }
    this.count = batch.readInt32BE(BatchField.RecordsCount);
    if (this.count < 0) throw new RecordsFormatError(`recordsCount ${this.count} is negative`);
    this.lastOffsetDelta = batch.readInt32BE(BatchField.LastOffsetDelta);
    const codec = batch.readInt16BE(BatchField.Attributes) & COMPRESSION_MASK;
    const section = batch.subarray(BATCH_HEADER_BYTES, size);
    this.data = codec === 0 ? section : decompress(codec, section, maxBytes);
    this.at = 0;
    this.end = this.data.length;
  }

  next(): boolean {
    if (this.index === this.count) {
      if (this.at !== this.end) this.fail(`${this.end - this.at} bytes follow the last of the batch's ${this.count} records`);
      return false;
    }
    if (this.at >= this.end) this.fail(`the batch holds ${this.index} records, its recordsCount says ${this.count}`);
    this.recordStart = this.at;
    const length = this.varint(this.end);
    if (length < 0 || length > this.end - this.at) this.fail(`length ${length} does not fit the ${this.end - this.at} bytes left`);
    const recordEnd = this.at + length;
    this.recordEnd = recordEnd;
    if (this.at >= recordEnd) this.fail('record ends before its attributes');
    this.at++; // attributes: unused in magic 2
    this.timestampDelta = this.varlong(recordEnd);
    const offsetDelta = this.varint(recordEnd);
    if (offsetDelta < 0 || offsetDelta > this.lastOffsetDelta) this.fail(`offset delta ${offsetDelta} is outside the batch's 0..${this.lastOffsetDelta}`);
    this.offsetDelta = offsetDelta;
    this.keyLength = this.bytesField(recordEnd, 'key');
    this.keyStart = this.at - Math.max(0, this.keyLength);
    this.valueLength = this.bytesField(recordEnd, 'value');
    this.valueStart = this.at - Math.max(0, this.valueLength);
    const headers = this.varint(recordEnd);
    if (headers < 0) this.fail(`header count ${headers} is negative`);
    for (let h = 0; h < headers; h++) {
      if (this.bytesField(recordEnd, 'header key') < 0) this.fail('a header key is null');
      this.bytesField(recordEnd, 'header value');
    }
    if (this.at !== recordEnd) this.fail(`its fields end ${recordEnd - this.at} bytes before its length says`);
    this.index++;
    return true;
  }

  /** A length-prefixed field (-1 = null); skips its bytes and returns the length. */
  private bytesField(recordEnd: number, what: string): number {
    const length = this.varint(recordEnd);
    if (length < -1) this.fail(`${what} length ${length}`);
    if (length > recordEnd - this.at) this.fail(`${what} of ${length} bytes runs past the record's end`);
    if (length > 0) this.at += length;
    return length;
  }

  /** Zig-zag varint (int32), at most 5 bytes, read below `limit`. */
  private varint(limit: number): number {
    const data = this.data;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.at >= limit) this.fail('a varint runs past the end');
      const b = data[this.at++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return (result >>> 1) ^ -(result & 1);
    }
    return this.fail('a varint is longer than 5 bytes');
  }

  /** Zig-zag varlong as a number, at most 10 bytes, read below `limit`; beyond ±2^52 is refused. */
  private varlong(limit: number): number {
    const data = this.data;
    if (this.at >= limit) this.fail('a varlong runs past the end');
    const first = data[this.at++]!;
    if (first < 0x80) return (first >>> 1) ^ -(first & 1); // one byte: the common timestamp delta of 0..63
    let result = first & 0x7f;
    let scale = 128;
    for (let i = 1; i < 10; i++) {
      if (this.at >= limit) this.fail('a varlong runs past the end');
      const b = data[this.at++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) this.fail('a timestamp delta beyond ±2^52');
        return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      }
      scale *= 128;
    }
    return this.fail('a varlong is longer than 10 bytes');
  }

  private fail(message: string): never {
    throw new RecordsFormatError(`record ${this.index}: ${message}`);
  }
}

