// On-disk format constants and the two codecs: header slots and record headers. Pure functions on
// buffers; no I/O. All integers are little-endian.
//
// Layout:  [slot 0: 4 KiB][slot 1: 4 KiB][ring: capacity - 8 KiB, a multiple of 4 KiB]
// A logical offset x lives at physical position HEADER_AREA_BYTES + (x mod ringBytes).
import { crc32c } from '@node-rs/crc32';

export const BLOCK_BYTES = 4096;
export const SLOT_BYTES = 4096;
export const SLOT_COUNT = 2;
export const HEADER_AREA_BYTES = SLOT_BYTES * SLOT_COUNT;
export const FORMAT_VERSION = 1;
export const SLOT_MAGIC = Buffer.from('FERRYWAL', 'latin1');
export const NODE_ID_BYTES_MAX = 255;
/** Absolute cap on one record body, whatever the options say: bounds every allocation in a scan. */
export const RECORD_BODY_BYTES_LIMIT = 256 * 1024 * 1024;

// Slot fields.
const SLOT_OFF_MAGIC = 0;
const SLOT_OFF_VERSION = 8;
const SLOT_OFF_SLOT_BYTES = 12;
const SLOT_OFF_GENERATION = 16;
const SLOT_OFF_CAPACITY = 24;
const SLOT_OFF_RING = 32;
const SLOT_OFF_TRIM = 40;
const SLOT_OFF_EPOCH = 48;
const SLOT_OFF_NODE_ID_LEN = 52;
const SLOT_OFF_NODE_ID = 56;
const SLOT_OFF_FORMAT_ID = SLOT_OFF_NODE_ID + 256;
const SLOT_OFF_CRC = SLOT_BYTES - 4;

export interface HeaderState {
  generation: bigint;
  capacityBytes: number;
  ringBytes: number;
  trimOffset: bigint;
  epoch: number;
  nodeId: string;
  /**
   * Random per format. Seeds every record header CRC, so records left on a reused device by an
   * earlier WAL (whose header was zeroed) never validate in this one.
   */
  formatId: number;
}

export function encodeSlot(h: HeaderState): Buffer {
  const nodeId = Buffer.from(h.nodeId, 'utf8');
  assert(nodeId.length <= NODE_ID_BYTES_MAX, 'node id too long');
  assert(h.ringBytes + HEADER_AREA_BYTES === h.capacityBytes, 'ring and capacity disagree');
  assert(h.ringBytes % BLOCK_BYTES === 0 && h.ringBytes > 0, 'ring not block aligned');
  assert(Number.isInteger(h.epoch) && h.epoch >= 0 && h.epoch <= 0xffffffff, 'epoch out of range');
  const b = Buffer.alloc(SLOT_BYTES);
  SLOT_MAGIC.copy(b, SLOT_OFF_MAGIC);
  b.writeUInt32LE(FORMAT_VERSION, SLOT_OFF_VERSION);
  b.writeUInt32LE(SLOT_BYTES, SLOT_OFF_SLOT_BYTES);
  b.writeBigUInt64LE(h.generation, SLOT_OFF_GENERATION);
  b.writeBigUInt64LE(BigInt(h.capacityBytes), SLOT_OFF_CAPACITY);
  b.writeBigUInt64LE(BigInt(h.ringBytes), SLOT_OFF_RING);
  b.writeBigUInt64LE(h.trimOffset, SLOT_OFF_TRIM);
  b.writeUInt32LE(h.epoch, SLOT_OFF_EPOCH);
  b.writeUInt16LE(nodeId.length, SLOT_OFF_NODE_ID_LEN);
  nodeId.copy(b, SLOT_OFF_NODE_ID);
  b.writeUInt32LE(h.formatId, SLOT_OFF_FORMAT_ID);
  b.writeUInt32LE(crc32c(b.subarray(0, SLOT_OFF_CRC)), SLOT_OFF_CRC);
  return b;
}

export type SlotDecode =
  | { kind: 'valid'; header: HeaderState }
  | { kind: 'zero' }
  | { kind: 'foreign' }
  | { kind: 'corrupt'; reason: string };

/** Classifies one 4 KiB slot. 'zero' = never written; 'foreign' = not our magic; 'corrupt' = ours but broken. */
export function decodeSlot(b: Buffer): SlotDecode {
  assert(b.length === SLOT_BYTES, 'slot buffer size');
  if (isAllZero(b)) return { kind: 'zero' };
  if (!b.subarray(SLOT_OFF_MAGIC, SLOT_OFF_MAGIC + 8).equals(SLOT_MAGIC)) return { kind: 'foreign' };
  if (crc32c(b.subarray(0, SLOT_OFF_CRC)) !== b.readUInt32LE(SLOT_OFF_CRC)) {
    return { kind: 'corrupt', reason: 'checksum mismatch' };
  }
  const version = b.readUInt32LE(SLOT_OFF_VERSION);
  if (version !== FORMAT_VERSION) return { kind: 'corrupt', reason: `unsupported format version ${version}` };
  if (b.readUInt32LE(SLOT_OFF_SLOT_BYTES) !== SLOT_BYTES) return { kind: 'corrupt', reason: 'slot size mismatch' };
  const capacity = b.readBigUInt64LE(SLOT_OFF_CAPACITY);
  const ring = b.readBigUInt64LE(SLOT_OFF_RING);
  if (capacity > BigInt(Number.MAX_SAFE_INTEGER) || ring + BigInt(HEADER_AREA_BYTES) !== capacity
    || ring === 0n || ring % BigInt(BLOCK_BYTES) !== 0n) {
    return { kind: 'corrupt', reason: `bad capacity ${capacity} / ring ${ring}` };
  }
  const nodeIdLength = b.readUInt16LE(SLOT_OFF_NODE_ID_LEN);
  if (nodeIdLength > NODE_ID_BYTES_MAX) return { kind: 'corrupt', reason: `node id length ${nodeIdLength}` };
  return {
    kind: 'valid',
    header: {
      generation: b.readBigUInt64LE(SLOT_OFF_GENERATION),
      capacityBytes: Number(capacity),
      ringBytes: Number(ring),
      trimOffset: b.readBigUInt64LE(SLOT_OFF_TRIM),
      epoch: b.readUInt32LE(SLOT_OFF_EPOCH),
      nodeId: b.toString('utf8', SLOT_OFF_NODE_ID, SLOT_OFF_NODE_ID + nodeIdLength),
      formatId: b.readUInt32LE(SLOT_OFF_FORMAT_ID),
    },
  };
}

// Record header: magic u32 | bodyLength u32 | offset u64 | epoch u32 | type u16 | flags u16 |
// bodyCrc u32 | headerCrc u32 (CRC-32C of bytes 0..28). Records start on 8-byte boundaries.
export const RECORD_MAGIC = 0x31525746; // "FWR1"
export const RECORD_HEADER_BYTES = 32;
export const RECORD_ALIGN_BYTES = 8;
/** Set on the last record of a group: the next record starts at the next 4 KiB boundary. */
export const FLAG_GROUP_END = 1;
/** Types at or above this are internal to the WAL and never returned to callers. */
export const TYPE_INTERNAL_MIN = 0xff00;
/** After a recovery the log continues one lap ahead; this record (body: target offset u64) says where. */
export const TYPE_SKIP = 0xff01;
export const SKIP_BODY_BYTES = 8;

export interface RecordHeader {
  bodyLength: number;
  offset: bigint;
  epoch: number;
  type: number;
  flags: number;
  bodyCrc: number;
}

export function recordSpanBytes(bodyLength: number): number {
  return alignUp(RECORD_HEADER_BYTES + bodyLength, RECORD_ALIGN_BYTES);
}

export function writeRecordHeader(target: Buffer, at: number, h: RecordHeader, formatId: number): void {
  target.writeUInt32LE(RECORD_MAGIC, at);
  target.writeUInt32LE(h.bodyLength, at + 4);
  target.writeBigUInt64LE(h.offset, at + 8);
  target.writeUInt32LE(h.epoch, at + 16);
  target.writeUInt16LE(h.type, at + 20);
  target.writeUInt16LE(h.flags, at + 22);
  target.writeUInt32LE(h.bodyCrc, at + 24);
  target.writeUInt32LE(crc32c(target.subarray(at, at + 28), formatId), at + 28);
}

export type HeaderCheck = { ok: true; header: RecordHeader } | { ok: false; reason: string };

/**
 * Validates a record header found where `expectedOffset` should start. The logical offset check is
 * what rejects bytes left from an earlier lap of the ring.
 */
export function checkRecordHeader(
  b: Buffer, at: number, expectedOffset: bigint, bodyBytesMax: number, formatId: number,
): HeaderCheck {
  if (b.length - at < RECORD_HEADER_BYTES) return { ok: false, reason: 'short header' };
  if (b.readUInt32LE(at) !== RECORD_MAGIC) return { ok: false, reason: 'bad magic' };
  if (crc32c(b.subarray(at, at + 28), formatId) !== b.readUInt32LE(at + 28)) return { ok: false, reason: 'header checksum mismatch' };
  const offset = b.readBigUInt64LE(at + 8);
  if (offset !== expectedOffset) return { ok: false, reason: `offset ${offset} where ${expectedOffset} was expected` };
  const bodyLength = b.readUInt32LE(at + 4);
  if (bodyLength > bodyBytesMax) return { ok: false, reason: `body length ${bodyLength} over ${bodyBytesMax}` };
  return {
    ok: true,
    header: {
      bodyLength,
      offset,
      epoch: b.readUInt32LE(at + 16),
      type: b.readUInt16LE(at + 20),
      flags: b.readUInt16LE(at + 22),
      bodyCrc: b.readUInt32LE(at + 24),
    },
  };
}

export function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

export function alignUpBig(n: bigint, to: number): bigint {
  const t = BigInt(to);
  return ((n + t - 1n) / t) * t;
}

export function isAllZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Invariant check that stays on in production (TigerBeetle style). */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(`WAL assertion failed: ${message}`);
}
