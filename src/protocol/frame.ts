// The size-prefixed request/response frame: int32 length, then that many bytes.
import { Writer } from './primitives.js';

export const FRAME_BYTES_MAX_DEFAULT = 100 * 1024 * 1024; // socket.request.max.bytes

export class FrameTooLargeError extends Error {
  readonly code = 'FRAME_TOO_LARGE';
  constructor(
    readonly sizeBytes: number,
    readonly frameBytesMax: number,
  ) {
    super(sizeBytes < 0 ? `negative frame size ${sizeBytes}` : `frame of ${sizeBytes} bytes exceeds the limit of ${frameBytesMax}`);
    this.name = 'FrameTooLargeError';
  }
}

/**
 * Splits a byte stream into frames (without their 4-byte prefix). A frame that arrives in one chunk
 * is returned as a view of that chunk. A frame split over chunks is collected piece by piece and
 * assembled once its last byte arrives: memory grows with the bytes received, never with the size
 * the peer declared (a peer that declares 100 MB and sends 100 bytes holds about 100 bytes).
 */
export class FrameDecoder {
  readonly frameBytesMax: number;
  /** Bytes of a size prefix split across chunks. */
  private prefix = Buffer.alloc(4);
  private prefixHave = 0;
  /** Declared size of the frame being collected, or -1 when none is. */
  private partialSize = -1;
  private partialHave = 0;
  /** Received pieces of the frame being collected: large ones as views, small ones copied into `staging`. */
  private parts: Buffer[] = [];
  private staging: Buffer | null = null;
  private stagingUsed = 0;

  constructor(opts: { frameBytesMax?: number } = {}) {
    this.frameBytesMax = opts.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
    if (!(this.frameBytesMax >= 0)) throw new RangeError('frameBytesMax must be >= 0');
  }

  /** Bytes buffered for an incomplete frame (prefix included). */
  get bufferedBytes(): number {
    return this.prefixHave + this.partialHave;
  }

  /**
   * Size of the incomplete frame, prefix included, as its prefix declares it (what it will hold once
   * complete); 4 while only part of a prefix has arrived; 0 between frames.
   */
  get incompleteFrameBytes(): number {
    if (this.partialSize >= 0) return 4 + this.partialSize;
    return this.prefixHave > 0 ? 4 : 0;
  }

  /** Drops any incomplete frame (the connection is closing). */
  reset(): void {
    this.prefixHave = 0;
    this.partialSize = -1;
    this.partialHave = 0;
    this.parts = [];
    this.staging = null;
    this.stagingUsed = 0;
  }

  /** Feeds a chunk; returns the frames it completes. Throws FrameTooLargeError on a bad size. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.partialSize >= 0) {
        const take = Math.min(this.partialSize - this.partialHave, chunk.length - pos);
        this.collect(chunk.subarray(pos, pos + take));
        pos += take;
        if (this.partialHave === this.partialSize) frames.push(this.assemble());
        continue;
      }
      let size: number;
      if (this.prefixHave === 0 && chunk.length - pos >= 4) {
        size = chunk.readInt32BE(pos);
        pos += 4;
      } else {
        const take = Math.min(4 - this.prefixHave, chunk.length - pos);
        chunk.copy(this.prefix, this.prefixHave, pos, pos + take);
        this.prefixHave += take;
        pos += take;
        if (this.prefixHave < 4) break;
        size = this.prefix.readInt32BE(0);
        this.prefixHave = 0;
      }
      if (size < 0 || size > this.frameBytesMax) throw new FrameTooLargeError(size, this.frameBytesMax);
      if (chunk.length - pos >= size) {
        frames.push(chunk.subarray(pos, pos + size));
        pos += size;
      } else {
        this.partialSize = size;
        this.partialHave = 0;
      }
    }
    return frames;
  }

  /**
   * Keeps a piece of the frame being collected. Pieces of LARGE_PIECE bytes or more are kept as
   * views (a socket chunk's memory is its own allocation); smaller ones are copied into a staging
   * buffer that grows with what has arrived, so a trickle of tiny chunks costs neither one object
   * per chunk nor an allocation of the declared size.
   */
  private collect(piece: Buffer): void {
    this.partialHave += piece.length;
    if (piece.length >= LARGE_PIECE) {
      this.flushStaging();
      this.parts.push(piece);
      return;
    }
    let at = 0;
    while (at < piece.length) {
      if (this.staging === null || this.stagingUsed === this.staging.length) {
        this.flushStaging();
        const received = this.partialHave - piece.length + at;
        this.staging = Buffer.allocUnsafe(Math.min(this.partialSize - received, Math.max(piece.length - at, Math.min(received, MAX_STAGING))));
        this.stagingUsed = 0;
      }
      const n = Math.min(piece.length - at, this.staging.length - this.stagingUsed);
      piece.copy(this.staging, this.stagingUsed, at, at + n);
      this.stagingUsed += n;
      at += n;
    }
  }

  private flushStaging(): void {
    if (this.staging !== null && this.stagingUsed > 0) this.parts.push(this.staging.subarray(0, this.stagingUsed));
    this.staging = null;
    this.stagingUsed = 0;
  }

  private assemble(): Buffer {
    this.flushStaging();
    const frame = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partialSize);
    this.parts = [];
    this.partialSize = -1;
    this.partialHave = 0;
    return frame;
  }
}

/** A piece at least this large is kept by reference rather than copied. */
const LARGE_PIECE = 16 * 1024;
/** Largest staging buffer for small pieces. */
const MAX_STAGING = 64 * 1024;

/** A frame: 4-byte big-endian size, then the payload. */
export function encodeFrame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

/**
 * Builds a frame in a Writer: `body` writes the payload after a reserved size prefix, which is then
 * patched. Returns the writer (use toChunks() to send large payloads without copying).
 */
export function frameWriter(body: (w: Writer) => void, initialBytes = 1024): Writer {
  const w = new Writer(initialBytes);
  const at = w.reserveInt32();
  body(w);
  w.patchInt32(at, w.length - at - 4);
  return w;
}
