/** Messages between the log cleaner and its worker thread (one pass at a time). */
import type { AbortedRange, CleanStats, PassParams } from './batch-cleaner.js';

export type CleanerRequest =
  /** Batches at or past indexEndOffset are not indexed (the dirty section ends there). */
  | { op: 'begin'; mapBytes: number; aborted: AbortedRange[]; batchBytesMax: number; indexEndOffset: number }
  /** Whole blocks of one object (concatenated batches, offset order); `source` names the object in errors. */
  | { op: 'index'; data: ArrayBuffer; source: string }
  | { op: 'startFilter'; params: PassParams }
  | { op: 'filter'; data: ArrayBuffer; source: string }
  | { op: 'end' };

export type CleanerReply =
  | { op: 'begin' }
  /** stoppedAt: base offset of the first batch not indexed: past the dirty section, or no room in the map (null: all indexed). */
  | { op: 'index'; stoppedAt: number | null; keys: number }
  | { op: 'startFilter' }
  /** The kept batches concatenated, `lengths` cutting them apart. */
  | { op: 'filter'; data: ArrayBuffer; lengths: number[] }
  | { op: 'end'; stats: CleanStats | null }
  | { op: 'error'; message: string; name: string };

/** `b`'s bytes as an ArrayBuffer to transfer: its own when it spans all of it (no copy), else a copy. */
export function transferable(b: Buffer): ArrayBuffer {
  const ab = b.buffer;
  if (ab instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === ab.byteLength) return ab;
  return packBuffers([b]);
}

/** Copies `buffers` into one ArrayBuffer of its own (transferable: nothing else shares it). */
export function packBuffers(buffers: readonly Buffer[]): ArrayBuffer {
  let n = 0;
  for (const b of buffers) n += b.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const b of buffers) { out.set(b, at); at += b.length; }
  return out.buffer;
}
