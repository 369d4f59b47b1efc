// Kafka wire primitives. The Reader is sticky: the first failure is remembered in `error`, and from
// then on every read returns a zero/empty value, so generated decoders stay straight-line and the
// caller checks `r.error` once at the end. Every length is checked against the bytes that remain
// before anything is allocated.

const EMPTY = Buffer.alloc(0);
export const ZERO_UUID = '00000000000000000000000000000000';
const HEX32 = /^[0-9a-f]{32}$/;

declare const RECORDS_FIELD: unique symbol;

/**
 * A `records` field as decoded: one buffer (a view of the frame). The brand exists only in types,
 * so that DeepPartial can let encoders take RecordsInput there.
 */
export type Records = Buffer & { readonly [RECORDS_FIELD]?: true };

/**
 * A `records` field as given to an encoder: one buffer, or record batches written one after
 * another (the length prefix is their sum). Either way the bytes go out by reference, not copied.
 */
export type RecordsInput = Buffer | readonly Buffer[];

/** Encoder input: every field optional (missing = the field's default), recursively. */
export type DeepPartial<T> = T extends Buffer
  ? typeof RECORDS_FIELD extends keyof T ? RecordsInput : T
  : T extends bigint
    ? T
    : T extends readonly (infer U)[]
      ? DeepPartial<U>[]
      : T extends object
        ? { [K in keyof T]?: DeepPartial<T[K]> }
        : T;

export class Reader {
  readonly buf: Buffer;
  offset: number;
  /** End of the readable window (exclusive). */
  readonly end: number;
  error: string | null = null;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.error === null ? this.end - this.offset : 0;
  }

  /** Records the first error only; later reads return zero values. */
  fail(message: string): void {
    if (this.error === null) this.error = message;
  }

  /** True if `n` more bytes can be read; otherwise sets the error. */
  private need(n: number, what: string): boolean {
    if (this.error !== null) return false;
    if (n > this.end - this.offset) {
      this.fail(`short read: ${what} needs ${n} bytes at offset ${this.offset}, ${this.end - this.offset} left`);
      return false;
    }
    return true;
  }

  int8(): number {
    if (!this.need(1, 'int8')) return 0;
    return this.buf.readInt8(this.offset++);
  }

  int16(): number {
    if (!this.need(2, 'int16')) return 0;
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  uint16(): number {
    if (!this.need(2, 'uint16')) return 0;
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    if (!this.need(4, 'int32')) return 0;
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  uint32(): number {
    if (!this.need(4, 'uint32')) return 0;
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  int64(): bigint {
    if (!this.need(8, 'int64')) return 0n;
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  float64(): number {
    if (!this.need(8, 'float64')) return 0;
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  /** Unsigned LEB128, at most 5 bytes (32 bits). */
  uvarint(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (!this.need(1, 'uvarint')) return 0;
      const b = this.buf[this.offset++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) break;
        return result;
      }
    }
    this.fail('uvarint longer than 32 bits');
    return 0;
  }

  /** Zig-zag signed varint (int32). */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Zig-zag signed varlong (int64). */
  varlong(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (!this.need(1, 'varlong')) return 0n;
      const b = this.buf[this.offset++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (result >= 1n << 64n) break;
        return (result >> 1n) ^ -(result & 1n);
      }
    }
    this.fail('varlong longer than 64 bits');
    return 0n;
  }

  uuid(): string {
    if (!this.need(16, 'uuid')) return ZERO_UUID;
    const v = this.buf.toString('hex', this.offset, this.offset + 16);
    this.offset += 16;
    return v;
  }

  /** `n` raw bytes as a view of the input (no copy). Empty on error. */
  raw(n: number): Buffer {
    if (n < 0) {
      this.fail(`negative length ${n}`);
      return EMPTY;
    }
    if (!this.need(n, 'bytes')) return EMPTY;
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** A reader over the next `n` bytes; this reader moves past them. */
  sub(n: number): Reader {
    if (n < 0) this.fail(`negative length ${n}`);
    if (!this.need(n, 'sub-reader')) {
      const r = new Reader(EMPTY);
      r.fail(this.error ?? 'short read');
      return r;
    }
    const r = new Reader(this.buf, this.offset, this.offset + n);
    this.offset += n;
    return r;
  }

  private utf8(n: number): string {
    if (!this.need(n, 'string')) return '';
    const v = this.buf.toString('utf8', this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** int16 length; -1 (null) is an error here. */
  string(): string {
    const n = this.int16();
    if (n < 0) {
      this.fail('null or negative length for non-nullable string');
      return '';
    }
    return this.utf8(n);
  }

  nullableString(): string | null {
    const n = this.int16();
    if (n === -1) return null;
    if (n < 0) {
      this.fail(`invalid string length ${n}`);
      return null;
    }
    return this.utf8(n);
  }

  compactString(): string {
    const n = this.uvarint();
    if (n === 0) {
      this.fail('null length for non-nullable compact string');
      return '';
    }
    return this.utf8(n - 1);
  }

  compactNullableString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.utf8(n - 1);
  }

  /** int32 length; returns a view of the input (no copy). */
  bytes(): Buffer {
    const n = this.int32();
    if (n < 0) {
      this.fail('null or negative length for non-nullable bytes');
      return EMPTY;
    }
    return this.raw(n);
  }

  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < 0) {
      this.fail(`invalid bytes length ${n}`);
      return null;
    }
    return this.raw(n);
  }

  compactBytes(): Buffer {
    const n = this.uvarint();
    if (n === 0) {
      this.fail('null length for non-nullable compact bytes');
      return EMPTY;
    }
    return this.raw(n - 1);
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.raw(n - 1);
  }

  /**
   * int32 array length: -1 for null, otherwise the count. A count larger than the bytes that
   * remain (every element takes at least one byte) sets the error and returns 0.
   */
  arrayLength(): number {
    const n = this.int32();
    return this.checkCount(n);
  }

  /** Compact (uvarint N+1) array length: -1 for null, otherwise the count. */
  compactArrayLength(): number {
    const n = this.uvarint() - 1;
    return this.checkCount(n);
  }

  private checkCount(n: number): number {
    if (this.error !== null) return 0;
    if (n < -1) {
      this.fail(`invalid array length ${n}`);
      return 0;
    }
    if (n > this.end - this.offset) {
      this.fail(`array length ${n} exceeds the ${this.end - this.offset} bytes left`);
      return 0;
    }
    return n;
  }

  /** Reads a tagged-field section and ignores every field. */
  skipTaggedFields(): void {
    const n = this.uvarint();
    for (let i = 0; i < n && this.error === null; i++) {
      this.uvarint();
      this.raw(this.uvarint());
    }
  }

  /** Reads a tagged-field section; `onTag` returns false for tags it does not know (skipped). */
  taggedFields(onTag: (tag: number, r: Reader) => void): void {
    const n = this.uvarint();
    if (n > this.remaining) {
      this.fail(`tagged field count ${n} exceeds the bytes left`);
      return;
    }
    for (let i = 0; i < n && this.error === null; i++) {
      const tag = this.uvarint();
      const sub = this.sub(this.uvarint());
      if (this.error !== null) return;
      onTag(tag, sub);
      if (sub.error !== null) this.fail(`tagged field ${tag}: ${sub.error}`);
    }
  }
}

const MIN_CHUNK = 256;
/** Appended buffers at least this large are kept by reference instead of copied. */
const ZERO_COPY_MIN = 16 * 1024;

/**
 * Growable encoder. Records fields and large `raw()` payloads are kept by reference, so a Fetch
 * response goes to the socket as a list of chunks (`toChunks()`) holding the log's own buffers.
 */
export class Writer {
  private buf: Buffer;
  private pos = 0;
  /** Finished chunks and the absolute offset each starts at. */
  private chunks: Buffer[] = [];
  private chunkStarts: number[] = [];
  private flushed = 0;

  constructor(initialBytes = 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(initialBytes, MIN_CHUNK));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.flushed + this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  uint16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  int64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }

  float64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  uvarint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uvarint out of range: ${v}`);
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  varint(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`varint out of range: ${v}`);
    return this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  varlong(v: bigint): this {
    let u = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    this.ensure(10);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
    return this;
  }

  uuid(v: string): this {
    if (!HEX32.test(v)) throw new RangeError(`uuid must be 32 lowercase hex characters: ${JSON.stringify(v)}`);
    this.ensure(16);
    this.buf.write(v, this.pos, 16, 'hex');
    this.pos += 16;
    return this;
  }

  /** Appends bytes; large ones are kept by reference (do not mutate them until sent). */
  raw(b: Buffer): this {
    if (b.length >= ZERO_COPY_MIN) return this.byReference(b);
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Appends `b` as a chunk of its own, whatever its size. */
  private byReference(b: Buffer): this {
    if (b.length === 0) return this;
    this.flushChunk();
    this.chunks.push(b);
    this.chunkStarts.push(this.flushed);
    this.flushed += b.length;
    return this;
  }

  /**
   * Record batches, each by reference however small (a socket chunk costs about what copying a
   * small batch does, and the log's buffers are immutable once committed). Neighbours that are
   * adjacent in memory (batches of one WAL entry or one object block) go out as one chunk.
   */
  private recordBatches(batches: readonly Buffer[]): void {
    let run: Buffer | null = null;
    for (const b of batches) {
      if (run !== null && b.buffer === run.buffer && b.byteOffset === run.byteOffset + run.length) {
        run = Buffer.from(run.buffer, run.byteOffset, run.length + b.length);
        continue;
      }
      if (run !== null) this.byReference(run);
      run = b;
    }
    if (run !== null) this.byReference(run);
  }

  private flushChunk(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.chunkStarts.push(this.flushed);
    this.flushed += this.pos;
    this.buf = this.buf.subarray(this.pos);
    if (this.buf.length < MIN_CHUNK) this.buf = Buffer.allocUnsafe(1024);
    this.pos = 0;
  }

  private utf8(s: string, n: number): void {
    this.ensure(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }

  string(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 0x7fff) throw new RangeError(`string of ${n} bytes is longer than int16`);
    this.int16(n);
    this.utf8(s, n);
    return this;
  }

  nullableString(s: string | null): this {
    if (s === null) return this.int16(-1);
    return this.string(s);
  }

  compactString(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.uvarint(n + 1);
    this.utf8(s, n);
    return this;
  }

  compactNullableString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    return this.compactString(s);
  }

  bytes(b: Buffer): this {
    this.int32(b.length);
    return this.raw(b);
  }

  nullableBytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    return this.bytes(b);
  }

  compactBytes(b: Buffer): this {
    this.uvarint(b.length + 1);
    return this.raw(b);
  }

  compactNullableBytes(b: Buffer | null): this {
    if (b === null) return this.uvarint(0);
    return this.compactBytes(b);
  }

  /** A records field (int32 length, -1 for null): one buffer or batches one after another. */
  nullableRecords(v: RecordsInput | null): this {
    if (v === null) return this.int32(-1);
    const batches = recordsList(v);
    this.int32(recordsLength(batches));
    this.recordBatches(batches);
    return this;
  }

  /** A compact records field (uvarint length + 1, 0 for null). */
  compactNullableRecords(v: RecordsInput | null): this {
    if (v === null) return this.uvarint(0);
    const batches = recordsList(v);
    this.uvarint(recordsLength(batches) + 1);
    this.recordBatches(batches);
    return this;
  }

  /** int32 array length, -1 for null. */
  arrayLength(n: number): this {
    return this.int32(n);
  }

  /** Compact array length (N+1, 0 for null); pass -1 for null. */
  compactArrayLength(n: number): this {
    return this.uvarint(n + 1);
  }

  /** An empty tagged-field section. */
  emptyTaggedFields(): this {
    return this.uvarint(0);
  }

  /** One tagged field: tag, size, then whatever `body` writes. */
  taggedField(tag: number, body: (w: Writer) => void): this {
    const sub = new Writer(64);
    body(sub);
    this.uvarint(tag);
    this.uvarint(sub.length);
    for (const c of sub.toChunks()) this.raw(c);
    return this;
  }

  /** Reserves 4 bytes for an int32 patched later with `patchInt32`; returns its position. */
  reserveInt32(): number {
    this.ensure(4);
    const at = this.length;
    this.buf.writeInt32BE(0, this.pos);
    this.pos += 4;
    return at;
  }

  patchInt32(at: number, v: number): this {
    if (at >= this.flushed) {
      this.buf.writeInt32BE(v, at - this.flushed);
      return this;
    }
    // Reserved bytes never straddle chunks (ensure() precedes the reservation).
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const start = this.chunkStarts[i]!;
      if (at >= start) {
        this.chunks[i]!.writeInt32BE(v, at - start);
        return this;
      }
    }
    throw new RangeError(`patch position ${at} out of range`);
  }

  /** The written bytes as a list of buffers (no copy of large payloads). */
  toChunks(): Buffer[] {
    const out = this.chunks.slice();
    if (this.pos > 0) out.push(this.buf.subarray(0, this.pos));
    return out;
  }

  /** The written bytes as one buffer (copies only if large payloads were appended by reference). */
  toBuffer(): Buffer {
    if (this.chunks.length === 0) return this.buf.subarray(0, this.pos);
    return Buffer.concat(this.toChunks(), this.length);
  }
}

function recordsList(v: RecordsInput): readonly Buffer[] {
  return Buffer.isBuffer(v) ? [v] : v;
}

function recordsLength(batches: readonly Buffer[]): number {
  let n = 0;
  for (const b of batches) n += b.length;
  if (n > 0x7fffffff) throw new RangeError(`records of ${n} bytes are longer than int32`);
  return n;
}
