// Logical-offset access to the ring, and the record scanner shared by recover() and read().
import { crc32c } from '@node-rs/crc32';
import {
  BLOCK_BYTES, FLAG_GROUP_END, HEADER_AREA_BYTES, RECORD_HEADER_BYTES, SKIP_BODY_BYTES, TYPE_SKIP,
  alignUpBig, assert, checkRecordHeader, recordSpanBytes,
} from './format.js';
import type { WalFile } from './io.js';

export interface RingGeometry {
  ringBytes: number;
  formatId: number;
  /** Cap on a record body while scanning (format limit, not the caller's current option). */
  bodyBytesMax: number;
}

export function physicalPosition(offset: bigint, ringBytes: number): number {
  return HEADER_AREA_BYTES + Number(offset % BigInt(ringBytes));
}

/** Reads logical [offset, offset + length) into a new buffer (two preads when it wraps). */
export async function readRing(file: WalFile, ringBytes: number, offset: bigint, length: number): Promise<Buffer> {
  assert(length >= 0 && length <= ringBytes, `ring read of ${length} bytes`);
  const buf = Buffer.allocUnsafe(length);
  const pos = Number(offset % BigInt(ringBytes));
  const first = Math.min(length, ringBytes - pos);
  const got1 = await file.read(buf.subarray(0, first), HEADER_AREA_BYTES + pos);
  let got2 = 0;
  if (first < length) got2 = await file.read(buf.subarray(first), HEADER_AREA_BYTES);
  if (got1 + got2 !== length) throw new Error(`short read at logical offset ${offset}: ${got1 + got2} of ${length} bytes`);
  return buf;
}

/** Writes buf at logical offset (two writes when it wraps). The caller fdatasyncs. */
export async function writeRing(file: WalFile, ringBytes: number, offset: bigint, buf: Buffer): Promise<void> {
  assert(buf.length <= ringBytes, `ring write of ${buf.length} bytes`);
  const pos = Number(offset % BigInt(ringBytes));
  const first = Math.min(buf.length, ringBytes - pos);
  await file.write(buf.subarray(0, first), HEADER_AREA_BYTES + pos);
  if (first < buf.length) await file.write(buf.subarray(first), HEADER_AREA_BYTES);
}

export type ScanItem =
  | { kind: 'record'; offset: bigint; epoch: number; type: number; body: Buffer; spanBytes: number }
  | { kind: 'skip'; offset: bigint; target: bigint; physicalBytes: number };

export interface ScanStop {
  /** Logical offset where the next record was expected. */
  offset: bigint;
  reason: string;
  /** Ring bytes the scanned log occupies (records, padding, skip blocks). */
  physicalBytes: number;
}

const WINDOW_BYTES = 1024 * 1024;

/**
 * Walks the chain of records from `start`. Recovery table (what the bytes say -> action):
 *   header magic wrong / header CRC wrong          -> end of log (never written, torn, or another lap)
 *   header valid but logical offset differs        -> end of log (bytes from an earlier lap)
 *   body length over the cap or past the ring      -> end of log
 *   body CRC wrong                                 -> end of log (torn body)
 *   valid record                                   -> keep; GROUP_END flag: next at the 4 KiB boundary
 *   valid skip record                              -> follow to its target (the lap-ahead restart)
 * It stops at `endOffset` (exclusive) when given, or after `physicalBytesMax` ring bytes.
 */
export class RingScanner {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0n;
  offset: bigint;
  physicalBytes = 0;
  stop: ScanStop | null = null;

  constructor(
    private readonly file: WalFile,
    private readonly geo: RingGeometry,
    start: bigint,
    private readonly physicalBytesMax: number,
    private readonly endOffset?: bigint,
    private readonly windowBytes: number = WINDOW_BYTES,
  ) {
    this.offset = start;
  }

  private async bytes(offset: bigint, length: number): Promise<Buffer> {
    const rel = offset - this.windowStart;
    if (rel >= 0n && rel + BigInt(length) <= BigInt(this.window.length)) {
      const r = Number(rel);
      return this.window.subarray(r, r + length);
    }
    const want = Math.min(this.geo.ringBytes, Math.max(length, this.windowBytes));
    this.window = await readRing(this.file, this.geo.ringBytes, offset, want);
    this.windowStart = offset;
    return this.window.subarray(0, length);
  }

  private halt(reason: string): null {
    this.stop = { offset: this.offset, reason, physicalBytes: this.physicalBytes };
    return null;
  }

  /** The next item, or null at the end of the log (then `stop` says where and why). */
  async next(): Promise<ScanItem | null> {
    if (this.stop) return null;
    const x = this.offset;
    if (this.endOffset !== undefined && x >= this.endOffset) return this.halt('end offset');
    if (this.physicalBytes + RECORD_HEADER_BYTES > this.physicalBytesMax) return this.halt('ring exhausted');
    const hb = await this.bytes(x, RECORD_HEADER_BYTES);
    const check = checkRecordHeader(hb, 0, x, this.geo.bodyBytesMax, this.geo.formatId);
    if (!check.ok) return this.halt(check.reason);
    const h = check.header;
    const span = recordSpanBytes(h.bodyLength);
    if (this.physicalBytes + span > this.physicalBytesMax) return this.halt('record runs past the ring');
    const rec = await this.bytes(x, span);
    const body = rec.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + h.bodyLength);
    if (crc32c(body) !== h.bodyCrc) return this.halt('body checksum mismatch');
    if (h.type === TYPE_SKIP) {
      if (h.bodyLength !== SKIP_BODY_BYTES) return this.halt('skip record with a bad body');
      const blockEnd = alignUpBig(x + BigInt(span), BLOCK_BYTES);
      const target = body.readBigUInt64LE(0);
      const ring = BigInt(this.geo.ringBytes);
      if (target <= blockEnd || (target - blockEnd) % ring !== 0n) return this.halt(`skip target ${target} is not a lap ahead`);
      const physicalBytes = Number(blockEnd - x);
      this.physicalBytes += physicalBytes;
      this.offset = target;
      return { kind: 'skip', offset: x, target, physicalBytes };
    }
    let next = x + BigInt(span);
    let used = span;
    if (h.flags & FLAG_GROUP_END) {
      const aligned = alignUpBig(next, BLOCK_BYTES);
      used += Number(aligned - next);
      next = aligned;
    }
    this.physicalBytes += used;
    this.offset = next;
    return { kind: 'record', offset: x, epoch: h.epoch, type: h.type, body, spanBytes: used };
  }
}
