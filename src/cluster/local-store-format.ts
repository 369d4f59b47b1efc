// On-disk formats of the local metadata store (no I/O here).
//
// journal file:  header | record*
//   header (20 B): magic "FERRYMJ1" | u64 baseRevision | u32 crc32c(previous 16 bytes)
//   record:        u32 bodyLength | u32 crc32c(body) | body
//   body:          u8 kind (1 = change) | u64 revision | u32 opCount | op*
//   op:            u8 type (1 = put, 2 = delete) | u32 keyLength | key (UTF-8)
//                  put only: u32 valueLength | value | u16 leaseIdLength | leaseId
// A record holds every key change of one revision, already resolved (deletePrefix expanded),
// so replay needs no compare evaluation. A torn tail fails the length or CRC check; replay
// stops there.
//
// snapshot file: magic "FERRYMS1" | u64 revision | u32 count | entry* | u32 crc32c(everything before)
//   entry: u32 keyLength | key | u32 valueLength | value | u64 createRevision | u64 modRevision
//          | u32 version | u16 leaseIdLength | leaseId
//
// API: encodeJournalHeader, decodeJournalHeader, encodeChangeRecord, decodeJournalRecords,
//      encodeSnapshot, decodeSnapshot, JOURNAL_HEADER_BYTES, RECORD_BODY_BYTES_MAX, types KeyChange

import { crc32c } from '@node-rs/crc32';
import type { KeyValue } from './metadata-store.js';

export const JOURNAL_MAGIC = Buffer.from('FERRYMJ1', 'latin1');
export const SNAPSHOT_MAGIC = Buffer.from('FERRYMS1', 'latin1');
export const JOURNAL_HEADER_BYTES = 20;
const RECORD_PREFIX_BYTES = 8;
/** Upper bound on one record body; a length above it is a torn or corrupt tail, never allocated. */
export const RECORD_BODY_BYTES_MAX = 256 * 1024 * 1024;
const KIND_CHANGE = 1;
const OP_PUT = 1;
const OP_DELETE = 2;

export type KeyChange =
  | { type: 'put'; key: string; value: Buffer; leaseId?: string }
  | { type: 'delete'; key: string };

export interface ChangeRecord { revision: number; changes: KeyChange[] }

export function encodeJournalHeader(baseRevision: number): Buffer {
  const b = Buffer.alloc(JOURNAL_HEADER_BYTES);
  JOURNAL_MAGIC.copy(b, 0);
  b.writeBigUInt64LE(BigInt(baseRevision), 8);
  b.writeUInt32LE(crc32c(b.subarray(0, 16)), 16);
  return b;
}

/** Returns the base revision, or a string saying what is wrong. */
export function decodeJournalHeader(b: Buffer): number | string {
  if (b.length < JOURNAL_HEADER_BYTES) return `header is ${b.length} bytes, expected ${JOURNAL_HEADER_BYTES}`;
  if (!b.subarray(0, 8).equals(JOURNAL_MAGIC)) return 'bad magic in header';
  if (b.readUInt32LE(16) !== crc32c(b.subarray(0, 16))) return 'header CRC mismatch';
  return toSafeNumber(b.readBigUInt64LE(8));
}

function toSafeNumber(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`revision ${v} exceeds 2^53`);
  return Number(v);
}

export function encodeChangeRecord(revision: number, changes: readonly KeyChange[]): Buffer {
  let size = 1 + 8 + 4;
  const keys: Buffer[] = [];
  const leases: (Buffer | null)[] = [];
  for (const c of changes) {
    const k = Buffer.from(c.key, 'utf8');
    keys.push(k);
    size += 1 + 4 + k.length;
    if (c.type === 'put') {
      const l = c.leaseId === undefined ? null : Buffer.from(c.leaseId, 'utf8');
      if (l !== null && l.length > 0xffff) throw new RangeError('lease id too long');
      leases.push(l);
      size += 4 + c.value.length + 2 + (l?.length ?? 0);
    } else {
      leases.push(null);
    }
  }
  if (size > RECORD_BODY_BYTES_MAX) throw new RangeError(`journal record of ${size} bytes exceeds ${RECORD_BODY_BYTES_MAX}`);
  const out = Buffer.allocUnsafe(RECORD_PREFIX_BYTES + size);
  let p = RECORD_PREFIX_BYTES;
  out.writeUInt8(KIND_CHANGE, p); p += 1;
  out.writeBigUInt64LE(BigInt(revision), p); p += 8;
  out.writeUInt32LE(changes.length, p); p += 4;
  changes.forEach((c, i) => {
    const k = keys[i]!;
    out.writeUInt8(c.type === 'put' ? OP_PUT : OP_DELETE, p); p += 1;
    out.writeUInt32LE(k.length, p); p += 4;
    k.copy(out, p); p += k.length;
    if (c.type === 'put') {
      out.writeUInt32LE(c.value.length, p); p += 4;
      c.value.copy(out, p); p += c.value.length;
      const l = leases[i];
      out.writeUInt16LE(l?.length ?? 0, p); p += 2;
      if (l) { l.copy(out, p); p += l.length; }
    }
  });
  if (p !== out.length) throw new Error(`journal record encoder wrote ${p} of ${out.length} bytes`);
  out.writeUInt32LE(size, 0);
  out.writeUInt32LE(crc32c(out.subarray(RECORD_PREFIX_BYTES)), 4);
  return out;
}

/** Bounds-checked cursor over a body; any overrun throws (caught as corruption by the caller). */
class Cursor {
  p: number;
  constructor(readonly b: Buffer, start = 0) { this.p = start; }
  need(n: number): void { if (n < 0 || this.p + n > this.b.length) throw new RangeError(`needs ${n} bytes at ${this.p}, has ${this.b.length - this.p}`); }
  u8(): number { this.need(1); return this.b.readUInt8(this.p++); }
  u16(): number { this.need(2); const v = this.b.readUInt16LE(this.p); this.p += 2; return v; }
  u32(): number { this.need(4); const v = this.b.readUInt32LE(this.p); this.p += 4; return v; }
  u64(): number { this.need(8); const v = this.b.readBigUInt64LE(this.p); this.p += 8; return toSafeNumber(v); }
  bytes(n: number): Buffer { this.need(n); const v = this.b.subarray(this.p, this.p + n); this.p += n; return v; }
  str(n: number): string { return this.bytes(n).toString('utf8'); }
}

function decodeBody(body: Buffer): ChangeRecord {
  const c = new Cursor(body);
  const kind = c.u8();
  if (kind !== KIND_CHANGE) throw new RangeError(`unknown record kind ${kind}`);
  const revision = c.u64();
  const count = c.u32();
  // Each op takes at least 5 bytes: reject impossible counts before looping.
  if (count * 5 > body.length) throw new RangeError(`op count ${count} does not fit in ${body.length} bytes`);
  const changes: KeyChange[] = [];
  for (let i = 0; i < count; i++) {
    const type = c.u8();
    const key = c.str(c.u32());
    if (type === OP_PUT) {
      // Copy: the record buffer is the whole journal file; values must not pin it.
      const value = Buffer.from(c.bytes(c.u32()));
      const leaseLength = c.u16();
      const change: KeyChange = { type: 'put', key, value };
      if (leaseLength > 0) change.leaseId = c.str(leaseLength);
      changes.push(change);
    } else if (type === OP_DELETE) {
      changes.push({ type: 'delete', key });
    } else {
      throw new RangeError(`unknown op type ${type}`);
    }
  }
  if (c.p !== body.length) throw new RangeError(`${body.length - c.p} trailing bytes in record`);
  return { revision, changes };
}

export interface DecodedJournal {
  records: ChangeRecord[];
  /** Byte offset just past the last valid record: everything after it is a torn tail. */
  validEnd: number;
  /** Why decoding stopped before the end of the buffer, if it did. */
  tailProblem?: string;
}

/** Decodes records starting at `start` until the end or the first invalid record. */
export function decodeJournalRecords(file: Buffer, start = JOURNAL_HEADER_BYTES): DecodedJournal {
  const records: ChangeRecord[] = [];
  let p = start;
  while (p < file.length) {
    if (file.length - p < RECORD_PREFIX_BYTES) return { records, validEnd: p, tailProblem: `partial record prefix at ${p}` };
    const length = file.readUInt32LE(p);
    if (length === 0 || length > RECORD_BODY_BYTES_MAX) return { records, validEnd: p, tailProblem: `bad record length ${length} at ${p}` };
    if (p + RECORD_PREFIX_BYTES + length > file.length) return { records, validEnd: p, tailProblem: `record at ${p} runs past the end` };
    const body = file.subarray(p + RECORD_PREFIX_BYTES, p + RECORD_PREFIX_BYTES + length);
    if (crc32c(body) !== file.readUInt32LE(p + 4)) return { records, validEnd: p, tailProblem: `CRC mismatch in record at ${p}` };
    let record: ChangeRecord;
    try {
      record = decodeBody(body);
    } catch (err) {
      // A body whose CRC matches but does not parse was written by a different format: not a torn write.
      throw new Error(`record at ${p} passes its CRC but does not parse: ${(err as Error).message}`);
    }
    records.push(record);
    p += RECORD_PREFIX_BYTES + length;
  }
  return { records, validEnd: p };
}

export function encodeSnapshot(revision: number, kvs: Iterable<KeyValue>): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(20);
  SNAPSHOT_MAGIC.copy(head, 0);
  head.writeBigUInt64LE(BigInt(revision), 8);
  parts.push(head);
  let count = 0;
  for (const kv of kvs) {
    const k = Buffer.from(kv.key, 'utf8');
    const l = kv.leaseId === undefined ? Buffer.alloc(0) : Buffer.from(kv.leaseId, 'utf8');
    const e = Buffer.allocUnsafe(4 + k.length + 4 + kv.value.length + 8 + 8 + 4 + 2 + l.length);
    let p = 0;
    e.writeUInt32LE(k.length, p); p += 4; k.copy(e, p); p += k.length;
    e.writeUInt32LE(kv.value.length, p); p += 4; kv.value.copy(e, p); p += kv.value.length;
    e.writeBigUInt64LE(BigInt(kv.createRevision), p); p += 8;
    e.writeBigUInt64LE(BigInt(kv.modRevision), p); p += 8;
    e.writeUInt32LE(kv.version, p); p += 4;
    e.writeUInt16LE(l.length, p); p += 2; l.copy(e, p);
    parts.push(e);
    count++;
  }
  head.writeUInt32LE(count, 16);
  const tail = Buffer.alloc(4);
  const all = Buffer.concat([...parts, tail]);
  all.writeUInt32LE(crc32c(all.subarray(0, all.length - 4)), all.length - 4);
  return all;
}

/** Returns the snapshot, or a string saying what is wrong (a snapshot is never torn: it is renamed into place). */
export function decodeSnapshot(b: Buffer): { revision: number; kvs: KeyValue[] } | string {
  if (b.length < 24) return `snapshot is only ${b.length} bytes`;
  if (!b.subarray(0, 8).equals(SNAPSHOT_MAGIC)) return 'bad snapshot magic';
  if (b.readUInt32LE(b.length - 4) !== crc32c(b.subarray(0, b.length - 4))) return 'snapshot CRC mismatch';
  try {
    const c = new Cursor(b.subarray(0, b.length - 4), 8);
    const revision = c.u64();
    const count = c.u32();
    if (count * 30 > b.length) return `entry count ${count} does not fit in ${b.length} bytes`;
    const kvs: KeyValue[] = [];
    for (let i = 0; i < count; i++) {
      const key = c.str(c.u32());
      const value = Buffer.from(c.bytes(c.u32()));
      const createRevision = c.u64();
      const modRevision = c.u64();
      const version = c.u32();
      const leaseLength = c.u16();
      const kv: KeyValue = { key, value, createRevision, modRevision, version };
      if (leaseLength > 0) kv.leaseId = c.str(leaseLength);
      kvs.push(kv);
    }
    if (c.p !== c.b.length) return `${c.b.length - c.p} trailing bytes in snapshot`;
    return { revision, kvs };
  } catch (err) {
    return (err as Error).message;
  }
}
