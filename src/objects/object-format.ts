/**
 * The layout of one object in the object store (DESIGN §4): `[data blocks][index][footer]`.
 *
 *  - A data block is a run of raw record batches (bytes as given, never decoded) of ONE
 *    partition, cut at about `blockBytesTarget` (default 512 KiB); a batch larger than that is a
 *    block of its own. Blocks are contiguous from position 0, in index order.
 *  - The index is `entryCount` fixed-size entries (INDEX_ENTRY_BYTES = 64), sorted by
 *    (topicId, partition, baseOffset):
 *      0 topicId (16 bytes) | 16 partition i32 | 20 size u32 | 24 baseOffset i64 |
 *      32 endOffset i64 (exclusive) | 40 recordCount i64 | 48 maxTimestamp i64 | 56 position u64
 *  - The footer is FOOTER_BYTES = 40 bytes at the very end:
 *      0 indexPosition u64 | 8 indexLength u32 | 12 index CRC-32C u32 | 16 entryCount u32 |
 *      20 version u16 | 22 entry size u16 | 24 reserved u32 (0) | 28 CRC-32C of bytes 0..28 u32 |
 *      32 magic "FERRYOB1" (8 bytes)
 *    so one suffix GET of the tail (readObjectIndex asks for the last 64 KiB) finds the footer and
 *    usually the whole index; a larger index costs one more ranged GET.
 *
 * API:
 *   encodeObject(partitions, { blockBytesTarget? }) -> { chunks, size, index }
 *       `chunks` go straight to ObjectStore.put (the batch buffers are not copied); `index` is
 *       what the footer points at, with positions in the object.
 *   decodeFooter(tail, objectSize?) -> Footer          (tail = the last bytes of the object)
 *   decodeIndex(indexBytes, footer) -> IndexEntry[]    (checks CRC, bounds, order, contiguity)
 *   readObjectIndex(store, key, { size?, tailBytes? }) -> { size, entries }
 *   (a block is cut back into its batches by splitBatches in protocol/record-batch.ts)
 *   objectKey(cluster, objectId) -> "<cluster>/o/<2 hex>/<objectId>"; objectKeyPrefix(cluster);
 *   objectIdOfKey(key) -> objectId | null; newObjectId() -> 28 hex chars, time-sortable, unique.
 * Everything read is validated; failures are ObjectFormatError (code 'OBJECT_FORMAT', `reason`).
 */
import { randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import type { ObjectStore } from './object-store.js';
import { BATCH_HEADER_BYTES, BATCH_LENGTH_OVERHEAD, BatchField, baseOffsetOf, maxTimestampOf } from '../protocol/record-batch.js';

export const OBJECT_MAGIC = Buffer.from('FERRYOB1', 'latin1');
export const OBJECT_FORMAT_VERSION = 1;
export const FOOTER_BYTES = 40;
export const INDEX_ENTRY_BYTES = 64;
export const DEFAULT_BLOCK_BYTES_TARGET = 512 * 1024;
/** How much of the tail readObjectIndex fetches first. */
export const DEFAULT_INDEX_TAIL_BYTES = 64 * 1024;
/** Refuse indexes larger than this before fetching or allocating (4 M blocks = 2 TiB at 512 KiB). */
export const MAX_INDEX_BYTES = 256 * 1024 * 1024;
const MAX_U32 = 0xffff_ffff;

export type ObjectFormatErrorReason = 'input' | 'magic' | 'version' | 'crc' | 'bounds' | 'order' | 'truncated';

export class ObjectFormatError extends Error {
  override name = 'ObjectFormatError';
  readonly code = 'OBJECT_FORMAT';
  constructor(readonly reason: ObjectFormatErrorReason, message: string, readonly key?: string) {
    super(key === undefined ? message : `${key}: ${message}`);
  }
}

export interface BatchInput {
  baseOffset: number;
  /** Inclusive. */
  lastOffset: number;
  recordCount: number;
  /** The raw batch, header included (its batchLength must be bytes.length - 12). */
  bytes: Buffer;
  /** Defaults to the batch header's maxTimestamp. */
  maxTimestamp?: number;
}

export interface PartitionInput {
  /** 32 lower-case hex characters (a 16-byte topic id). */
  topicId: string;
  partition: number;
  /** In offset order, not overlapping. */
  batches: readonly BatchInput[];
}

export interface IndexEntry {
  topicId: string;
  partition: number;
  baseOffset: number;
  /** Exclusive: lastOffset of the block's last batch + 1. */
  endOffset: number;
  recordCount: number;
  /** Largest batch maxTimestamp in the block (-1 if none). */
  maxTimestamp: number;
  /** Byte position of the block in the object. */
  position: number;
  size: number;
}

export interface EncodedObject {
  chunks: Buffer[];
  size: number;
  index: IndexEntry[];
}

export interface EncodeOptions {
  blockBytesTarget?: number;
}

export interface Footer {
  indexPosition: number;
  indexLength: number;
  indexCrc: number;
  entryCount: number;
  version: number;
  /** indexPosition + indexLength + FOOTER_BYTES. */
  objectSize: number;
}

const TOPIC_ID_RE = /^[0-9a-f]{32}$/;

function fail(reason: ObjectFormatErrorReason, message: string, key?: string): never {
  throw new ObjectFormatError(reason, message, key);
}

function checkSafeOffset(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) fail('input', `${what} must be a non-negative safe integer, got ${v}`);
}

export function encodeObject(partitions: readonly PartitionInput[], opts: EncodeOptions = {}): EncodedObject {
  const target = opts.blockBytesTarget ?? DEFAULT_BLOCK_BYTES_TARGET;
  if (!Number.isSafeInteger(target) || target < 1) fail('input', `blockBytesTarget must be a positive integer, got ${target}`);
  const sorted = [...partitions].sort((a, b) => (a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : a.partition - b.partition));
  const chunks: Buffer[] = [];
  const index: IndexEntry[] = [];
  let position = 0;
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!;
    if (!TOPIC_ID_RE.test(p.topicId)) fail('input', `topicId must be 32 lower-case hex characters, got ${JSON.stringify(p.topicId)}`);
    if (!Number.isInteger(p.partition) || p.partition < 0 || p.partition > 0x7fff_ffff) fail('input', `bad partition ${p.partition}`);
    if (i > 0 && sorted[i - 1]!.topicId === p.topicId && sorted[i - 1]!.partition === p.partition) {
      fail('input', `partition ${p.topicId}:${p.partition} given twice`);
    }
    let block: IndexEntry | null = null;
    let prevLast = -1;
    for (const b of p.batches) {
      checkBatch(b, prevLast, p);
      prevLast = b.lastOffset;
      const maxTimestamp = b.maxTimestamp ?? maxTimestampOf(b.bytes);
      if (block !== null && block.size + b.bytes.length > target) {
        index.push(block);
        block = null;
      }
      if (block === null) {
        block = { topicId: p.topicId, partition: p.partition, baseOffset: b.baseOffset, endOffset: 0, recordCount: 0, maxTimestamp: -1, position, size: 0 };
      }
      block.endOffset = b.lastOffset + 1;
      block.recordCount += b.recordCount;
      if (maxTimestamp > block.maxTimestamp) block.maxTimestamp = maxTimestamp;
      block.size += b.bytes.length;
      if (block.size > MAX_U32) fail('input', `block of ${block.size} bytes exceeds the u32 size field`);
      position += b.bytes.length;
      chunks.push(b.bytes);
    }
    if (block !== null) index.push(block);
  }
  const indexBytes = encodeIndex(index);
  chunks.push(indexBytes, encodeFooter(position, indexBytes));
  return { chunks, size: position + indexBytes.length + FOOTER_BYTES, index };
}

function checkBatch(b: BatchInput, prevLast: number, p: PartitionInput): void {
  const where = `${p.topicId}:${p.partition} batch at ${b.baseOffset}`;
  checkSafeOffset(b.baseOffset, `${where}: baseOffset`);
  checkSafeOffset(b.lastOffset, `${where}: lastOffset`);
  if (b.lastOffset < b.baseOffset) fail('input', `${where}: lastOffset ${b.lastOffset} < baseOffset`);
  if (b.baseOffset <= prevLast) fail('input', `${where}: overlaps or precedes the previous batch (last offset ${prevLast})`);
  if (!Number.isSafeInteger(b.recordCount) || b.recordCount < 0) fail('input', `${where}: bad recordCount ${b.recordCount}`);
  if (b.bytes.length < BATCH_HEADER_BYTES || b.bytes.readInt32BE(BatchField.BatchLength) !== b.bytes.length - BATCH_LENGTH_OVERHEAD) {
    fail('input', `${where}: batchLength field does not match the ${b.bytes.length} bytes given`);
  }
  if (baseOffsetOf(b.bytes) !== b.baseOffset) fail('input', `${where}: the batch header's baseOffset is ${baseOffsetOf(b.bytes)}`);
}

function encodeIndex(index: readonly IndexEntry[]): Buffer {
  const buf = Buffer.alloc(index.length * INDEX_ENTRY_BYTES);
  if (buf.length > MAX_INDEX_BYTES) fail('input', `index of ${index.length} blocks exceeds ${MAX_INDEX_BYTES} bytes`);
  index.forEach((e, i) => {
    const at = i * INDEX_ENTRY_BYTES;
    buf.write(e.topicId, at, 16, 'hex');
    buf.writeInt32BE(e.partition, at + 16);
    buf.writeUInt32BE(e.size, at + 20);
    buf.writeBigInt64BE(BigInt(e.baseOffset), at + 24);
    buf.writeBigInt64BE(BigInt(e.endOffset), at + 32);
    buf.writeBigInt64BE(BigInt(e.recordCount), at + 40);
    buf.writeBigInt64BE(BigInt(e.maxTimestamp), at + 48);
    buf.writeBigUInt64BE(BigInt(e.position), at + 56);
  });
  return buf;
}

function encodeFooter(indexPosition: number, indexBytes: Buffer): Buffer {
  const f = Buffer.alloc(FOOTER_BYTES);
  f.writeBigUInt64BE(BigInt(indexPosition), 0);
  f.writeUInt32BE(indexBytes.length, 8);
  f.writeUInt32BE(crc32c(indexBytes), 12);
  f.writeUInt32BE(indexBytes.length / INDEX_ENTRY_BYTES, 16);
  f.writeUInt16BE(OBJECT_FORMAT_VERSION, 20);
  f.writeUInt16BE(INDEX_ENTRY_BYTES, 22);
  f.writeUInt32BE(0, 24);
  f.writeUInt32BE(crc32c(f.subarray(0, 28)), 28);
  OBJECT_MAGIC.copy(f, 32);
  return f;
}

/**
 * Reads the footer from the last bytes of an object. `objectSize`, when known, must agree with
 * the footer; when unknown the footer's own arithmetic gives it (and must cover the tail).
 */
export function decodeFooter(tail: Buffer, objectSize?: number, key?: string): Footer {
  if (tail.length < FOOTER_BYTES) fail('truncated', `tail of ${tail.length} bytes is shorter than the ${FOOTER_BYTES}-byte footer`, key);
  const f = tail.subarray(tail.length - FOOTER_BYTES);
  if (!f.subarray(32).equals(OBJECT_MAGIC)) fail('magic', 'bad magic: not a Ferry object', key);
  if (f.readUInt32BE(28) !== crc32c(f.subarray(0, 28))) fail('crc', 'footer CRC mismatch', key);
  const version = f.readUInt16BE(20);
  if (version !== OBJECT_FORMAT_VERSION) fail('version', `unsupported object format version ${version}`, key);
  if (f.readUInt16BE(22) !== INDEX_ENTRY_BYTES) fail('version', `unexpected index entry size ${f.readUInt16BE(22)}`, key);
  const indexPosition = Number(f.readBigUInt64BE(0));
  const indexLength = f.readUInt32BE(8);
  const entryCount = f.readUInt32BE(16);
  if (!Number.isSafeInteger(indexPosition)) fail('bounds', `index position ${f.readBigUInt64BE(0)} out of range`, key);
  if (indexLength !== entryCount * INDEX_ENTRY_BYTES) fail('bounds', `index length ${indexLength} does not hold ${entryCount} entries`, key);
  if (indexLength > MAX_INDEX_BYTES) fail('bounds', `index length ${indexLength} exceeds ${MAX_INDEX_BYTES}`, key);
  const derivedSize = indexPosition + indexLength + FOOTER_BYTES;
  if (objectSize !== undefined && derivedSize !== objectSize) {
    fail('bounds', `footer places the index at ${indexPosition}+${indexLength}, inconsistent with object size ${objectSize}`, key);
  }
  if (derivedSize < tail.length) fail('bounds', `footer implies an object of ${derivedSize} bytes, shorter than the ${tail.length}-byte tail`, key);
  return { indexPosition, indexLength, indexCrc: f.readUInt32BE(12), entryCount, version, objectSize: derivedSize };
}

/** Decodes and validates the index bytes the footer points at. */
export function decodeIndex(buf: Buffer, footer: Footer, key?: string): IndexEntry[] {
  if (buf.length !== footer.indexLength) fail('truncated', `index is ${buf.length} bytes, footer says ${footer.indexLength}`, key);
  if (crc32c(buf) !== footer.indexCrc) fail('crc', 'index CRC mismatch', key);
  const out: IndexEntry[] = [];
  let expectPosition = 0;
  for (let i = 0; i < footer.entryCount; i++) {
    const at = i * INDEX_ENTRY_BYTES;
    const e: IndexEntry = {
      topicId: buf.toString('hex', at, at + 16),
      partition: buf.readInt32BE(at + 16),
      size: buf.readUInt32BE(at + 20),
      baseOffset: readSafe(buf, at + 24, 'baseOffset', key),
      endOffset: readSafe(buf, at + 32, 'endOffset', key),
      recordCount: readSafe(buf, at + 40, 'recordCount', key),
      maxTimestamp: Number(buf.readBigInt64BE(at + 48)),
      position: Number(buf.readBigUInt64BE(at + 56)),
    };
    const where = `index entry ${i} (${e.topicId}:${e.partition}@${e.baseOffset})`;
    if (e.partition < 0) fail('bounds', `${where}: negative partition`, key);
    if (e.size === 0) fail('bounds', `${where}: empty block`, key);
    if (e.endOffset <= e.baseOffset) fail('order', `${where}: endOffset ${e.endOffset} <= baseOffset`, key);
    if (e.position !== expectPosition) fail('bounds', `${where}: block at ${e.position}, expected ${expectPosition}`, key);
    expectPosition += e.size;
    if (expectPosition > footer.indexPosition) fail('bounds', `${where}: block ends at ${expectPosition}, past the index at ${footer.indexPosition}`, key);
    const prev = out[out.length - 1];
    if (prev) {
      const c = prev.topicId < e.topicId ? -1 : prev.topicId > e.topicId ? 1 : prev.partition - e.partition;
      if (c > 0) fail('order', `${where}: not sorted by (topicId, partition)`, key);
      if (c === 0 && e.baseOffset < prev.endOffset) fail('order', `${where}: offsets overlap the previous block (ends at ${prev.endOffset})`, key);
    }
    out.push(e);
  }
  if (expectPosition !== footer.indexPosition) fail('bounds', `blocks end at ${expectPosition}, the index starts at ${footer.indexPosition}`, key);
  return out;
}

function readSafe(buf: Buffer, at: number, what: string, key?: string): number {
  const v = buf.readBigInt64BE(at);
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) fail('bounds', `${what} ${v} out of range`, key);
  return Number(v);
}

export interface ReadIndexOptions {
  /** The object's size if known (from metadata or a listing): avoids trusting the footer alone. */
  size?: number;
  /** Bytes of the tail fetched first. Default 64 KiB. */
  tailBytes?: number;
}

/** Fetches and validates an object's index: one suffix GET, plus one ranged GET for a large index. */
export async function readObjectIndex(store: ObjectStore, key: string, opts: ReadIndexOptions = {}): Promise<{ size: number; entries: IndexEntry[] }> {
  const tailBytes = Math.max(opts.tailBytes ?? DEFAULT_INDEX_TAIL_BYTES, FOOTER_BYTES);
  const tail = await store.get(key, { suffix: tailBytes });
  // A short answer means we hold the whole object, so its size is known.
  const size = opts.size ?? (tail.length < tailBytes ? tail.length : undefined);
  if (opts.size !== undefined && tail.length !== Math.min(tailBytes, opts.size)) {
    fail('truncated', `suffix GET of ${tailBytes} bytes returned ${tail.length} from an object of ${opts.size}`, key);
  }
  const footer = decodeFooter(tail, size, key);
  const tailStart = footer.objectSize - tail.length;
  let indexBytes: Buffer;
  if (footer.indexPosition >= tailStart) {
    indexBytes = tail.subarray(footer.indexPosition - tailStart, footer.indexPosition - tailStart + footer.indexLength);
  } else {
    indexBytes = await store.get(key, { start: footer.indexPosition, end: footer.indexPosition + footer.indexLength });
  }
  return { size: footer.objectSize, entries: decodeIndex(indexBytes, footer, key) };
}

// ---- keys and ids

const OBJECT_ID_RE = /^[0-9a-f]{28}$/;

function checkCluster(cluster: string): void {
  if (cluster.length === 0 || cluster.includes('/')) fail('input', `cluster name ${JSON.stringify(cluster)} cannot be part of an object key`);
}

/** `<cluster>/o/`: every object of the cluster lives under it (the sweeper lists it). */
export function objectKeyPrefix(cluster: string): string {
  checkCluster(cluster);
  return `${cluster}/o/`;
}

/**
 * `<cluster>/staging/`: zone-local produce's staging objects (batches a proxy hands a leader by
 * reference). Outside the objects prefix: object GC never sees them; they are deleted by the proxy
 * once answered, or after ferry.proxy.staging.retention.ms by any broker.
 */
export function stagingKeyPrefix(cluster: string): string {
  checkCluster(cluster);
  return `${cluster}/staging/`;
}

/** `<cluster>/o/<2-hex hash of the id>/<objectId>`: spreads keys over 256 prefixes (S3 partitions by prefix). */
export function objectKey(cluster: string, objectId: string): string {
  if (!OBJECT_ID_RE.test(objectId)) fail('input', `bad object id ${JSON.stringify(objectId)}`);
  const h = (crc32c(Buffer.from(objectId, 'latin1')) & 0xff).toString(16).padStart(2, '0');
  return `${objectKeyPrefix(cluster)}${h}/${objectId}`;
}

/** The object id of a key made by objectKey, or null for any other key. */
export function objectIdOfKey(key: string): string | null {
  const m = /\/o\/([0-9a-f]{2})\/([0-9a-f]{28})$/.exec(key);
  if (!m) return null;
  const cluster = key.slice(0, m.index);
  if (cluster.length === 0 || cluster.includes('/')) return null;
  return objectKey(cluster, m[2]!) === key ? m[2]! : null;
}

let lastIdMs = 0;
let idCounter = 0;

/**
 * 28 hex characters: milliseconds (12) | a counter within the millisecond (4) | random (12).
 * Ids sort by creation time (within a process strictly; across processes to the millisecond)
 * and are unique (48 random bits break ties between processes).
 */
export function newObjectId(nowMs = Date.now()): string {
  let ms = Math.max(Math.floor(nowMs), lastIdMs);
  if (ms === lastIdMs) {
    idCounter++;
    if (idCounter > 0xffff) { ms++; idCounter = 0; }
  } else {
    idCounter = 0;
  }
  lastIdMs = ms;
  return ms.toString(16).padStart(12, '0') + idCounter.toString(16).padStart(4, '0') + randomBytes(6).toString('hex');
}

/** The creation time encoded in an object id. */
export function objectIdTimeMs(objectId: string): number {
  if (!OBJECT_ID_RE.test(objectId)) fail('input', `bad object id ${JSON.stringify(objectId)}`);
  return parseInt(objectId.slice(0, 12), 16);
}
