// The size-prefixed request/response frame: int32 length, then that many bytes.
import { Writer } from './primitives.js';

export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024; // socket.request.max.bytes

export class FrameTooLargeError extends Error {
  readonly code = 'FRAME_TOO_LARGE';
  constructor(
    readonly sizeBytes: number,
    readonly maxFrameBytes: number,
  ) {
    super(sizeBytes < 0 ? `negative frame size ${sizeBytes}` : `frame of ${sizeBytes} bytes exceeds the limit of ${maxFrameBytes}`);
    this.name = 'FrameTooLargeError';
  }
}

/**
 * Splits a byte stream into frames (without their 4-byte prefix). A frame that arrives in one chunk
 * is returned as a view of that chunk; a frame split over chunks is assembled into one buffer
 * allocated once its size is known (and checked).
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  /** Bytes of a size prefix split across chunks. */
  private prefix = Buffer.alloc(4);
  private prefixHave = 0;
  /** The frame being assembled, and how much of it has arrived. */
  private partial: Buffer | null = null;
  private partialHave = 0;

  constructor(opts: { maxFrameBytes?: number } = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!(this.maxFrameBytes >= 0)) throw new RangeError('maxFrameBytes must be >= 0');
  }

  /** Bytes buffered for an incomplete frame (prefix included). */
  get bufferedBytes(): number {
    return this.prefixHave + this.partialHave;
  }

  /** Feeds a chunk; returns the frames it completes. Throws FrameTooLargeError on a bad size. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.partial !== null) {
        const take = Math.min(this.partial.length - this.partialHave, chunk.length - pos);
        chunk.copy(this.partial, this.partialHave, pos, pos + take);
        this.partialHave += take;
        pos += take;
        if (this.partialHave === this.partial.length) {
          frames.push(this.partial);
          this.partial = null;
          this.partialHave = 0;
        }
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
      if (size < 0 || size > this.maxFrameBytes) throw new FrameTooLargeError(size, this.maxFrameBytes);
      if (chunk.length - pos >= size) {
        frames.push(chunk.subarray(pos, pos + size));
        pos += size;
      } else {
        this.partial = Buffer.allocUnsafe(size);
        this.partialHave = 0;
      }
    }
    return frames;
  }
}

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
