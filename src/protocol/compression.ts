// The record-batch codecs (attributes & 7): 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd, in the framings
// Kafka's clients write and read. Only the log cleaner and produce's keyless-record check decompress;
// the produce/fetch path keeps batches as they came.
//
// - gzip: node:zlib (several members allowed, as Java's GZIPInputStream reads them).
// - snappy: Java writes snappy-java's framing (magic 0x82 'SNAPPY' 0x00, version and compatible
//   version as int32 BE, then chunks of [int32 BE length][raw snappy block], 32 KiB of input each);
//   librdkafka writes one raw snappy block. Both read both; we write the framing, as Java does.
// - lz4: the LZ4 frame format as Java's Lz4BlockOutputStream writes it (FLG 0x60: version 1,
//   independent blocks, no checksums, no content size; BD 0x40: 64 KiB blocks; the correct header
//   checksum, KIP-57). The reader also takes what librdkafka and the lz4 tool write: block and content
//   checksums (verified), content size, linked blocks, concatenated and skippable frames.
// - zstd: libzstd compiled to wasm (@bokuweb/zstd-wasm), loaded once by loadCompressionCodecs().
//   Frames without a content size (Java's streaming writer) are decoded into a buffer that grows.
//
// Every decoder is bounded by maxBytes: a declared size above it fails before anything is allocated,
// and an undeclared one stops as soon as the output would pass it (zip bombs).
// The snappy and lz4 block decoders are our own: the npm ones do not check bounds or declared sizes.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ErrorCode } from './errors.js';

export type CompressionErrorReason = 'corrupt' | 'too-large' | 'unknown-codec';

/**
 * Compressed records that cannot be decoded. Kafka answers CORRUPT_MESSAGE for a compressed stream that
 * ends early (InvalidRecordException) and UNKNOWN_SERVER_ERROR for other decompression failures; we
 * answer CORRUPT_MESSAGE for all of them (the client's data is at fault, not the broker).
 */
export class CompressionError extends Error {
  override readonly name = 'CompressionError';
  readonly code = 'COMPRESSION';
  readonly errorCode = ErrorCode.CORRUPT_MESSAGE;
  constructor(readonly reason: CompressionErrorReason, readonly codec: number, message: string) {
    super(message);
  }
}

const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

function corrupt(codec: number, message: string): CompressionError {
  return new CompressionError('corrupt', codec, `${CODEC_NAMES[codec]}: ${message}`);
}

function tooLarge(codec: number, bytes: number | string, maxBytes: number): CompressionError {
  return new CompressionError('too-large', codec, `${CODEC_NAMES[codec]}: the decompressed records (${bytes} bytes) exceed the limit of ${maxBytes} bytes`);
}

/**
 * codec = attributes & 7. Throws CompressionError when the data is corrupt, the codec unknown, or the
 * output would exceed maxBytes. Codec 0 returns `data` itself. zstd needs loadCompressionCodecs() first.
 */
export function decompress(codec: number, data: Buffer, maxBytes: number): Buffer {
  try {
    switch (codec) {
      case 0:
        if (data.length > maxBytes) throw tooLarge(codec, data.length, maxBytes);
        return data;
      case 1: return gzipDecompress(data, maxBytes);
      case 2: return snappyDecompress(data, maxBytes);
      case 3: return lz4Decompress(data, maxBytes);
      case 4: return zstdDecompress(data, maxBytes);
      default: throw new CompressionError('unknown-codec', codec, `unknown compression codec ${codec}`);
    }
  } catch (err) {
    if (err instanceof CompressionError || err instanceof ZstdNotLoadedError) throw err;
    // A decoder that tripped over the bytes in some other way (a RangeError from a read past the end).
    throw corrupt(codec, (err as Error).message);
  }
}

/** Compresses as Kafka's Java producer does. Codec 0 returns `data` itself. */
export function compress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case 0: return data;
    case 1: return gzipSync(data);
    case 2: return snappyCompress(data);
    case 3: return lz4Compress(data);
    case 4: return zstdCompress(data);
    default: throw new CompressionError('unknown-codec', codec, `unknown compression codec ${codec}`);
  }
}

// ---- gzip ----------------------------------------------------------------------------------------

function gzipDecompress(data: Buffer, maxBytes: number): Buffer {
  let out: Buffer;
  try {
    // maxOutputLength stops inflating as soon as the output passes it.
    out = gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(1, `more than ${maxBytes}`, maxBytes);
    throw corrupt(1, (err as Error).message);
  }
  if (out.length > maxBytes) throw tooLarge(1, out.length, maxBytes);
  return out;
}

// ---- shared by the snappy and lz4 block decoders ---------------------------------------------------

/** Below this, a byte loop beats Buffer#copy / copyWithin (a call into the runtime per copy). */
const SHORT_COPY_BYTES = 128;

function copyBytes(src: Buffer, from: number, dst: Buffer, at: number, length: number): void {
  if (length < SHORT_COPY_BYTES) for (const end = from + length; from < end;) dst[at++] = src[from++]!;
  else src.copy(dst, at, from, from + length);
}

/** Copies `length` bytes from `distance` back in `dst` to `at` (the regions may overlap: a repeat). */
function copyMatch(dst: Buffer, at: number, distance: number, length: number): void {
  let from = at - distance;
  if (length < SHORT_COPY_BYTES) {
    for (const end = at + length; at < end;) dst[at++] = dst[from++]!;
  } else if (distance >= length) {
    dst.copyWithin(at, from, from + length);
  } else {
    // [from, at) repeats with period `distance`: copy it in chunks that double, each a whole number of periods.
    for (let left = length; left > 0;) {
      const n = Math.min(left, at - from);
      dst.copyWithin(at, from, from + n);
      at += n;
      left -= n;
    }
  }
}

// ---- snappy --------------------------------------------------------------------------------------

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]); // 0x82 "SNAPPY" 0
const XERIAL_HEADER_BYTES = 16;
/** snappy-java's SnappyOutputStream default, which Kafka's producer uses. */
const XERIAL_BLOCK_BYTES = 32 * 1024;
const XERIAL_HEADER = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]); // version 1, compatible 1

interface SnappyJs {
  compress(data: Buffer): Buffer;
}
const require = createRequire(import.meta.url);
let snappyJs: SnappyJs | null = null;

function isXerial(data: Buffer, at: number): boolean {
  return data.length - at >= XERIAL_MAGIC.length && data.compare(XERIAL_MAGIC, 0, XERIAL_MAGIC.length, at, at + XERIAL_MAGIC.length) === 0;
}

/** The uncompressed length a raw snappy block starts with (uvarint, 32 bits); sets varintEnd. */
let varintEnd = 0;
function snappyLength(data: Buffer, at: number, end: number): number {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (at >= end) throw corrupt(2, 'block ends inside its length');
    const b = data[at++]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) {
      if (result > 0xffffffff) break;
      varintEnd = at;
      return result;
    }
  }
  throw corrupt(2, 'block length longer than 32 bits');
}

function snappyDecompress(data: Buffer, maxBytes: number): Buffer {
  if (isXerial(data, 0)) return xerialDecompress(data, maxBytes);
  const length = snappyLength(data, 0, data.length);
  if (length > maxBytes) throw tooLarge(2, length, maxBytes);
  const out = Buffer.allocUnsafe(length);
  snappyDecodeBlock(data, varintEnd, data.length, out, 0, length);
  return out;
}

/** snappy-java framing: every chunk's declared size is summed and checked before the output is allocated. */
function xerialDecompress(data: Buffer, maxBytes: number): Buffer {
  if (data.length < XERIAL_HEADER_BYTES) throw corrupt(2, 'snappy-java header is truncated');
  let total = 0;
  for (let at = XERIAL_HEADER_BYTES; at < data.length;) {
    if (isXerial(data, at)) { at += XERIAL_HEADER_BYTES; continue; } // concatenated streams
    const chunkEnd = xerialChunkEnd(data, at);
    total += snappyLength(data, at + 4, chunkEnd);
    if (total > maxBytes) throw tooLarge(2, `at least ${total}`, maxBytes);
    at = chunkEnd;
  }
  const out = Buffer.allocUnsafe(total);
  let written = 0;
  for (let at = XERIAL_HEADER_BYTES; at < data.length;) {
    if (isXerial(data, at)) { at += XERIAL_HEADER_BYTES; continue; }
    const chunkEnd = xerialChunkEnd(data, at);
    const length = snappyLength(data, at + 4, chunkEnd);
    snappyDecodeBlock(data, varintEnd, chunkEnd, out, written, length);
    written += length;
    at = chunkEnd;
  }
  return out;
}

function xerialChunkEnd(data: Buffer, at: number): number {
  if (data.length - at < 4) throw corrupt(2, `snappy-java chunk header at ${at} is truncated`);
  const length = data.readInt32BE(at);
  if (length <= 0 || length > data.length - at - 4) throw corrupt(2, `snappy-java chunk at ${at}: length ${length} does not fit the ${data.length - at - 4} bytes left`);
  return at + 4 + length;
}

/** Decodes one raw snappy block (its elements from `at` to `end`) into exactly `length` bytes at dst[out]. */
function snappyDecodeBlock(src: Buffer, at: number, end: number, dst: Buffer, out: number, length: number): void {
  const outStart = out;
  const outEnd = out + length;
  while (at < end) {
    const tag = src[at++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        const n = len - 60; // 1-4 little-endian length bytes follow
        if (end - at < n) throw corrupt(2, 'literal length runs past the end');
        len = 1;
        for (let i = 0; i < n; i++) len += src[at + i]! * 2 ** (8 * i);
        at += n;
      }
      if (len > end - at) throw corrupt(2, 'literal runs past the end of the block');
      if (len > outEnd - out) throw corrupt(2, `block decodes to more than its declared ${length} bytes`);
      copyBytes(src, at, dst, out, len);
      at += len;
      out += len;
      continue;
    }
    let len: number;
    let distance: number;
    if (kind === 1) {
      if (at >= end) throw corrupt(2, 'copy runs past the end of the block');
      len = ((tag >>> 2) & 7) + 4;
      distance = ((tag >>> 5) << 8) | src[at++]!;
    } else if (kind === 2) {
      if (end - at < 2) throw corrupt(2, 'copy runs past the end of the block');
      len = (tag >>> 2) + 1;
      distance = src[at]! | (src[at + 1]! << 8);
      at += 2;
    } else {
      if (end - at < 4) throw corrupt(2, 'copy runs past the end of the block');
      len = (tag >>> 2) + 1;
      distance = src.readUInt32LE(at);
      at += 4;
    }
    if (distance === 0 || distance > out - outStart) throw corrupt(2, `copy from ${distance} bytes back, ${out - outStart} decoded`);
    if (len > outEnd - out) throw corrupt(2, `block decodes to more than its declared ${length} bytes`);
    copyMatch(dst, out, distance, len);
    out += len;
  }
  if (out !== outEnd) throw corrupt(2, `block decodes to ${out - outStart} bytes, its header says ${length}`);
}

function snappyCompress(data: Buffer): Buffer {
  snappyJs ??= require('snappyjs') as SnappyJs;
  const parts: Buffer[] = [XERIAL_HEADER];
  // At least one chunk, so librdkafka (which takes a framed input only when it is over 20 bytes) reads it.
  let at = 0;
  do {
    const block = snappyJs.compress(data.subarray(at, at + XERIAL_BLOCK_BYTES));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
    at += XERIAL_BLOCK_BYTES;
  } while (at < data.length);
  return Buffer.concat(parts);
}

// ---- lz4 -----------------------------------------------------------------------------------------

const LZ4_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MASK = 0xfffffff0;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_UNCOMPRESSED_BIT = 0x80000000;
const LZ4_FLG_VERSION_MASK = 0xc0;
const LZ4_FLG_VERSION_1 = 0x40;
const LZ4_FLG_INDEPENDENT = 0x20;
const LZ4_FLG_BLOCK_CHECKSUM = 0x10;
const LZ4_FLG_CONTENT_SIZE = 0x08;
const LZ4_FLG_CONTENT_CHECKSUM = 0x04;
const LZ4_FLG_RESERVED = 0x02;
const LZ4_FLG_DICT_ID = 0x01;
const LZ4_BLOCK_64KB = 4;
/** The FLG and BD bytes Java writes: version 1, independent blocks, 64 KiB. */
const LZ4_WRITE_FLG = LZ4_FLG_VERSION_1 | LZ4_FLG_INDEPENDENT;
const LZ4_WRITE_BD = LZ4_BLOCK_64KB << 4;
const LZ4_WRITE_BLOCK_BYTES = 64 * 1024;
const LZ4_MIN_MATCH = 4;
/** The block format's end rules: a match starts 12 or more bytes before the end, the last 5 bytes are literals. */
const LZ4_MFLIMIT = 12;
const LZ4_LAST_LITERALS = 5;
const LZ4_MAX_DISTANCE = 65535;

/** A decode target that grows (by doubling) up to a cap. */
class GrowableOutput {
  buf: Buffer;
  length = 0;
  constructor(initialBytes: number, readonly maxBytes: number) {
    this.buf = Buffer.allocUnsafe(Math.min(initialBytes, maxBytes));
  }
  /** Makes room for `bytes` more (callers check maxBytes first). */
  reserve(bytes: number): void {
    const need = this.length + bytes;
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.min(this.maxBytes, Math.max(need, this.buf.length * 2)));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}

function lz4Decompress(data: Buffer, maxBytes: number): Buffer {
  if (data.length < 4) throw corrupt(3, `${data.length} bytes hold no frame`);
  const out = new GrowableOutput(Math.max(64 * 1024, data.length * 4), maxBytes);
  let at = 0;
  let frames = 0;
  while (at < data.length) {
    if (data.length - at < 4) throw corrupt(3, `${data.length - at} stray bytes after the frame`);
    const magic = data.readUInt32LE(at);
    if (((magic & LZ4_SKIPPABLE_MASK) >>> 0) === LZ4_SKIPPABLE_MAGIC) {
      if (data.length - at < 8) throw corrupt(3, 'skippable frame header is truncated');
      const size = data.readUInt32LE(at + 4);
      if (size > data.length - at - 8) throw corrupt(3, 'skippable frame runs past the end');
      at += 8 + size;
      continue;
    }
    if (magic !== LZ4_MAGIC) throw corrupt(3, `bad frame magic 0x${magic.toString(16)} at ${at}`);
    at = lz4DecodeFrame(data, at + 4, out);
    frames++;
  }
  if (frames === 0) throw corrupt(3, 'no frame');
  return out.buf.subarray(0, out.length);
}

/** Decodes one frame whose descriptor starts at `at`; returns where the frame ends. */
function lz4DecodeFrame(data: Buffer, at: number, out: GrowableOutput): number {
  const descriptorStart = at;
  if (data.length - at < 3) throw corrupt(3, 'frame descriptor is truncated');
  const flg = data[at++]!;
  const bd = data[at++]!;
  if ((flg & LZ4_FLG_VERSION_MASK) !== LZ4_FLG_VERSION_1) throw corrupt(3, `frame version ${(flg & LZ4_FLG_VERSION_MASK) >>> 6}`);
  if ((flg & LZ4_FLG_RESERVED) !== 0 || (bd & 0x8f) !== 0) throw corrupt(3, 'reserved descriptor bits are set');
  if ((flg & LZ4_FLG_DICT_ID) !== 0) throw corrupt(3, 'frames with a dictionary are not supported');
  const blockSizeId = (bd >>> 4) & 7;
  if (blockSizeId < 4) throw corrupt(3, `block size id ${blockSizeId}`);
  const blockMaxBytes = 1 << (2 * blockSizeId + 8);
  const frameStart = out.length;
  let contentSize = -1;
  if ((flg & LZ4_FLG_CONTENT_SIZE) !== 0) {
    if (data.length - at < 9) throw corrupt(3, 'frame descriptor is truncated');
    contentSize = data.readUInt32LE(at) + data.readUInt32LE(at + 4) * 2 ** 32;
    at += 8;
    if (contentSize > out.maxBytes - frameStart) throw tooLarge(3, frameStart + contentSize, out.maxBytes);
    out.reserve(contentSize);
  }
  // Magic-2 batches always carry the correct header checksum (KIP-57): the second byte of xxh32(descriptor).
  const hc = (xxh32(data, descriptorStart, at, 0) >>> 8) & 0xff;
  if (data[at++] !== hc) throw corrupt(3, 'frame descriptor checksum mismatch');
  const independent = (flg & LZ4_FLG_INDEPENDENT) !== 0;
  const blockChecksum = (flg & LZ4_FLG_BLOCK_CHECKSUM) !== 0;
  for (;;) {
    if (data.length - at < 4) throw corrupt(3, 'frame ends without its end mark');
    const word = data.readUInt32LE(at);
    at += 4;
    if (word === 0) break;
    const size = (word & ~LZ4_UNCOMPRESSED_BIT) >>> 0;
    if (size > blockMaxBytes) throw corrupt(3, `block of ${size} bytes exceeds the frame's ${blockMaxBytes}`);
    if (size > data.length - at - (blockChecksum ? 4 : 0)) throw corrupt(3, 'block runs past the end');
    if (blockChecksum && xxh32(data, at, at + size, 0) !== data.readUInt32LE(at + size)) throw corrupt(3, 'block checksum mismatch');
    const room = out.maxBytes - out.length;
    if ((word & LZ4_UNCOMPRESSED_BIT) !== 0) {
      if (size > room) throw tooLarge(3, `at least ${out.length + size}`, out.maxBytes);
      out.reserve(size);
      data.copy(out.buf, out.length, at, at + size);
      out.length += size;
    } else {
      const limit = Math.min(blockMaxBytes, room);
      out.reserve(limit);
      const end = lz4DecodeBlock(data, at, at + size, out.buf, out.length, out.length + limit, independent ? out.length : frameStart);
      if (end < 0) throw limit < blockMaxBytes ? tooLarge(3, `more than ${out.maxBytes}`, out.maxBytes) : corrupt(3, `block decodes to more than ${blockMaxBytes} bytes`);
      out.length = end;
    }
    at += size + (blockChecksum ? 4 : 0);
  }
  if (contentSize >= 0 && out.length - frameStart !== contentSize) throw corrupt(3, `frame decodes to ${out.length - frameStart} bytes, its header says ${contentSize}`);
  if ((flg & LZ4_FLG_CONTENT_CHECKSUM) !== 0) {
    if (data.length - at < 4) throw corrupt(3, 'content checksum is truncated');
    if (xxh32(out.buf, frameStart, out.length, 0) !== data.readUInt32LE(at)) throw corrupt(3, 'content checksum mismatch');
    at += 4;
  }
  return at;
}

/**
 * Decodes one lz4 block (src[at, end)) into dst from `out`, writing below `outEnd` and copying from no
 * earlier than `windowStart`. Returns the end of the output, or -1 if it would pass outEnd.
 */
function lz4DecodeBlock(src: Buffer, at: number, end: number, dst: Buffer, out: number, outEnd: number, windowStart: number): number {
  for (;;) {
    if (at >= end) throw corrupt(3, 'block ends before its last literals');
    const token = src[at++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (at >= end) throw corrupt(3, 'literal length runs past the end of the block');
        b = src[at++]!;
        literals += b;
      } while (b === 255);
    }
    if (literals > end - at) throw corrupt(3, 'literals run past the end of the block');
    if (literals > outEnd - out) return -1;
    copyBytes(src, at, dst, out, literals);
    at += literals;
    out += literals;
    if (at === end) return out; // the last sequence has literals only
    if (end - at < 2) throw corrupt(3, 'match offset runs past the end of the block');
    const distance = src[at]! | (src[at + 1]! << 8);
    at += 2;
    if (distance === 0 || distance > out - windowStart) throw corrupt(3, `match from ${distance} bytes back, ${out - windowStart} available`);
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (at >= end) throw corrupt(3, 'match length runs past the end of the block');
        b = src[at++]!;
        length += b;
      } while (b === 255);
    }
    length += LZ4_MIN_MATCH;
    if (length > outEnd - out) return -1;
    copyMatch(dst, out, distance, length);
    out += length;
  }
}

function lz4Compress(data: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / LZ4_WRITE_BLOCK_BYTES));
  // A block that does not get smaller is stored as it is, so no block takes more than its size + 4.
  const out = Buffer.allocUnsafe(7 + data.length + blocks * 4 + 4);
  out.writeUInt32LE(LZ4_MAGIC, 0);
  out[4] = LZ4_WRITE_FLG;
  out[5] = LZ4_WRITE_BD;
  out[6] = (xxh32(out, 4, 6, 0) >>> 8) & 0xff;
  let at = 7;
  for (let start = 0; start < data.length; start += LZ4_WRITE_BLOCK_BYTES) {
    const end = Math.min(data.length, start + LZ4_WRITE_BLOCK_BYTES);
    const written = lz4EncodeBlock(data, start, end, out, at + 4, at + 4 + (end - start));
    if (written < 0) {
      // Incompressible: stored as it is, as Java does when compressing does not make it smaller.
      out.writeUInt32LE((LZ4_UNCOMPRESSED_BIT | (end - start)) >>> 0, at);
      data.copy(out, at + 4, start, end);
      at += 4 + (end - start);
    } else {
      out.writeUInt32LE(written - (at + 4), at);
      at = written;
    }
  }
  out.writeUInt32LE(0, at); // end mark
  return out.subarray(0, at + 4);
}

const LZ4_HASH_LOG = 16;
const lz4Table = new Int32Array(1 << LZ4_HASH_LOG);
/**
 * Positions in lz4Table are stored as lz4TableBase + (position - blockStart): entries below the current
 * base belong to earlier blocks, so the table needs clearing only when the base nears 2^31.
 */
let lz4TableBase = 1;

function lz4Hash(src: Buffer, at: number): number {
  return Math.imul(src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16) | (src[at + 3]! << 24), 2654435761) >>> (32 - LZ4_HASH_LOG);
}

/**
 * Greedy lz4 block compression of src[start, end) into dst from `out`, writing below `outLimit`.
 * Returns the end of the output, or -1 if the block does not get smaller.
 */
function lz4EncodeBlock(src: Buffer, start: number, end: number, dst: Buffer, out: number, outLimit: number): number {
  if (lz4TableBase > 0x3fffffff) { lz4Table.fill(0); lz4TableBase = 1; }
  const base = lz4TableBase - start;
  lz4TableBase += end - start + 1;
  let anchor = start;
  if (end - start > LZ4_MFLIMIT) {
    const matchStartMax = end - LZ4_MFLIMIT;
    const matchEndMax = end - LZ4_LAST_LITERALS;
    let at = start;
    let misses = 0;
    while (at <= matchStartMax) {
      const h = lz4Hash(src, at);
      const ref = lz4Table[h]! - base;
      lz4Table[h] = at + base;
      if (ref >= start && at - ref <= LZ4_MAX_DISTANCE &&
          src[ref] === src[at] && src[ref + 1] === src[at + 1] && src[ref + 2] === src[at + 2] && src[ref + 3] === src[at + 3]) {
        let matchStart = at;
        let from = ref;
        while (matchStart > anchor && from > start && src[matchStart - 1] === src[from - 1]) { matchStart--; from--; }
        let matchEnd = at + LZ4_MIN_MATCH;
        for (let r = ref + LZ4_MIN_MATCH; matchEnd < matchEndMax && src[matchEnd] === src[r]; r++) matchEnd++;
        out = lz4EmitSequence(src, anchor, matchStart, dst, out, outLimit, matchStart - from, matchEnd - matchStart);
        if (out < 0) return -1;
        at = anchor = matchEnd;
        misses = 0;
        if (at - 2 <= matchStartMax) lz4Table[lz4Hash(src, at - 2)] = at - 2 + base;
      } else {
        at += 1 + (misses++ >>> 6); // skip ahead faster through data that does not compress
      }
    }
  }
  return lz4EmitSequence(src, anchor, end, dst, out, outLimit, 0, 0);
}

/** Writes literals src[from, to) and then a match (none when matchLength is 0); -1 if it passes outLimit. */
function lz4EmitSequence(src: Buffer, from: number, to: number, dst: Buffer, out: number, outLimit: number, distance: number, matchLength: number): number {
  const literals = to - from;
  const extra = matchLength > 0 ? 2 + Math.floor((matchLength - LZ4_MIN_MATCH) / 255) + 1 : 0;
  if (out + 1 + Math.floor(literals / 255) + 1 + literals + extra > outLimit) return -1;
  const tokenAt = out++;
  let token: number;
  if (literals >= 15) {
    token = 15 << 4;
    let n = literals - 15;
    for (; n >= 255; n -= 255) dst[out++] = 255;
    dst[out++] = n;
  } else {
    token = literals << 4;
  }
  copyBytes(src, from, dst, out, literals);
  out += literals;
  if (matchLength > 0) {
    dst[out++] = distance & 0xff;
    dst[out++] = distance >>> 8;
    const m = matchLength - LZ4_MIN_MATCH;
    if (m >= 15) {
      token |= 15;
      let n = m - 15;
      for (; n >= 255; n -= 255) dst[out++] = 255;
      dst[out++] = n;
    } else {
      token |= m;
    }
  }
  dst[tokenAt] = token;
  return out;
}

const XXH_P1 = 0x9e3779b1;
const XXH_P2 = 0x85ebca77;
const XXH_P3 = 0xc2b2ae3d;
const XXH_P4 = 0x27d4eb2f;
const XXH_P5 = 0x165667b1;

function readU32LE(b: Buffer, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

function xxhRound(acc: number, input: number): number {
  acc = (acc + Math.imul(input, XXH_P2)) | 0;
  acc = (acc << 13) | (acc >>> 19);
  return Math.imul(acc, XXH_P1);
}

/** xxHash32 of b[start, end): lz4's header, block and content checksums. */
export function xxh32(b: Buffer, start: number, end: number, seed: number): number {
  let at = start;
  let h: number;
  if (end - start >= 16) {
    let v1 = (seed + XXH_P1 + XXH_P2) | 0;
    let v2 = (seed + XXH_P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - XXH_P1) | 0;
    for (const limit = end - 16; at <= limit; at += 16) {
      v1 = xxhRound(v1, readU32LE(b, at));
      v2 = xxhRound(v2, readU32LE(b, at + 4));
      v3 = xxhRound(v3, readU32LE(b, at + 8));
      v4 = xxhRound(v4, readU32LE(b, at + 12));
    }
    h = (((v1 << 1) | (v1 >>> 31)) + ((v2 << 7) | (v2 >>> 25)) + ((v3 << 12) | (v3 >>> 20)) + ((v4 << 18) | (v4 >>> 14))) | 0;
  } else {
    h = (seed + XXH_P5) | 0;
  }
  h = (h + (end - start)) | 0;
  for (; at + 4 <= end; at += 4) {
    h = (h + Math.imul(readU32LE(b, at), XXH_P3)) | 0;
    h = Math.imul((h << 17) | (h >>> 15), XXH_P4);
  }
  for (; at < end; at++) {
    h = (h + Math.imul(b[at]!, XXH_P5)) | 0;
    h = Math.imul((h << 11) | (h >>> 21), XXH_P1);
  }
  h ^= h >>> 15;
  h = Math.imul(h, XXH_P2);
  h ^= h >>> 13;
  h = Math.imul(h, XXH_P3);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---- zstd ----------------------------------------------------------------------------------------

/** The parts of the emscripten module of @bokuweb/zstd-wasm used here (libzstd's simple API). */
interface ZstdModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  /** Low 32 bits of the declared size, signed: -1 unknown, -2 not a frame. */
  _ZSTD_getFrameContentSize(src: number, srcBytes: number): number;
  /** Bytes written, or an error: a negative number, -code. */
  _ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcBytes: number): number;
  _ZSTD_isError(result: number): number;
}
interface ZstdLib {
  init(): Promise<void>;
  compress(data: Uint8Array, level?: number): Uint8Array;
}
/** Kafka's default zstd level. */
const ZSTD_LEVEL = 3;
const ZSTD_ERROR_DST_SIZE_TOO_SMALL = 70;

class ZstdNotLoadedError extends Error {
  override readonly name = 'ZstdNotLoadedError';
  constructor() { super('zstd is not loaded: await loadCompressionCodecs() first'); }
}

let zstd: { lib: ZstdLib; module: ZstdModule } | null = null;
let zstdLoading: Promise<void> | null = null;

/** Loads the zstd wasm once (idempotent, safe to call concurrently). Must be awaited before zstd is used. */
export function loadCompressionCodecs(): Promise<void> {
  zstdLoading ??= (async () => {
    const entry = require.resolve('@bokuweb/zstd-wasm');
    const lib = require(entry) as ZstdLib;
    await lib.init();
    // The package exports only its entry point; the raw module (same CommonJS instance) sits beside it.
    const { Module } = require(join(dirname(entry), 'module.js')) as { Module: ZstdModule };
    zstd = { lib, module: Module };
  })().catch((err: unknown) => {
    zstdLoading = null; // let a later call try again
    throw err;
  });
  return zstdLoading;
}

function loadedZstd(): { lib: ZstdLib; module: ZstdModule } {
  if (zstd === null) throw new ZstdNotLoadedError();
  return zstd;
}

function zstdDecompress(data: Buffer, maxBytes: number): Buffer {
  const m = loadedZstd().module;
  if (data.length === 0) throw corrupt(4, 'no frame');
  const src = m._malloc(data.length);
  try {
    m.HEAPU8.set(data, src);
    const declared = m._ZSTD_getFrameContentSize(src, data.length);
    if (declared === -2) throw corrupt(4, 'not a zstd frame');
    // The declared size is only a hint (it is truncated to 32 bits, and more frames may follow): start
    // there, or at a guess when it is unknown, and grow until the output fits or passes maxBytes.
    let capacity: number;
    if (declared >= 0) {
      if (declared > maxBytes) throw tooLarge(4, declared, maxBytes);
      capacity = declared;
    } else if (declared === -1) {
      capacity = Math.min(maxBytes, Math.max(64 * 1024, data.length * 8));
    } else {
      throw tooLarge(4, `at least ${2 ** 31}`, maxBytes); // a declared size of 2^31 or more
    }
    for (;;) {
      const dst = m._malloc(Math.max(1, capacity));
      try {
        const result = m._ZSTD_decompress(dst, capacity, src, data.length);
        if (!m._ZSTD_isError(result)) return Buffer.from(m.HEAPU8.subarray(dst, dst + result));
        if (-result !== ZSTD_ERROR_DST_SIZE_TOO_SMALL) throw corrupt(4, `libzstd error ${-result}`);
        if (capacity >= maxBytes) throw tooLarge(4, `more than ${maxBytes}`, maxBytes);
        capacity = Math.min(maxBytes, Math.max(capacity * 4, 64 * 1024));
      } finally {
        m._free(dst);
      }
    }
  } finally {
    m._free(src);
  }
}

function zstdCompress(data: Buffer): Buffer {
  const out = loadedZstd().lib.compress(data, ZSTD_LEVEL);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
