// Options, their defaults, and the limits derived from them. Everything is checked up front so a
// bad configuration fails at open() with a message naming the path, never later mid-write.
import { WalConfigError, type WalFullReason } from './errors.js';
import {
  BLOCK_BYTES, HEADER_AREA_BYTES, NODE_ID_BYTES_MAX, RECORD_BODY_BYTES_LIMIT, recordSpanBytes, alignUp,
} from './format.js';
import type { WalIo } from './io.js';

export interface WalMetrics {
  /** One call per durable group commit. */
  onAppend?(records: number, bytes: number): void;
  /** Latency of each fdatasync of the ring, in seconds. */
  onFsync?(seconds: number): void;
  /** Each header slot write (trim, fence, takeover), in seconds including its fdatasync. */
  onHeaderWrite?(seconds: number): void;
  onTrim?(trimOffset: bigint, freedBytes: number, usedBytes: number): void;
  /** An append could not be taken (ring full after the timeout, or an in-memory limit). */
  onFull?(reason: WalFullReason): void;
  /** The ring became full (an append timed out waiting for space), or a trim made room again. */
  onFullChange?(full: boolean): void;
  /** The writer is waiting for ring space (uploads lag). */
  onBackpressure?(waitingAppends: number): void;
  onRecover?(records: number, bytes: number, seconds: number): void;
}

export interface WalOptions {
  /** Owner node id stored in the header (<= 255 UTF-8 bytes, not empty). */
  nodeId: string;
  /** Owner epoch (0..2^32-1). open() with a lower epoch than the header's fails with WalFencedError. */
  epoch: number;
  /** Total size incl. the two header slots, for a new file. Default 2 GiB. An existing file or device keeps its size. */
  capacityBytes?: number;
  /** Largest record body. Default 1 MiB. */
  recordBytesMax?: number;
  /** Largest group write of several records. Default 4 MiB (less on a small ring); a larger record is a group alone. */
  groupBytesMax?: number;
  /** Body bytes accepted but not yet durable. Default 64 MiB. */
  inFlightBytesMax?: number;
  /** Appends accepted but not yet durable. Default 16384. */
  queueDepthMax?: number;
  /** How long an append waits for ring space before WalFullError (retriable). Default 5000. */
  appendTimeoutMs?: number;
  metrics?: WalMetrics;
  /** File/device layer. Default: the real one (NodeIo). */
  io?: WalIo;
  /**
   * Path to flock. Default: `<path>.lock` beside a WAL file; the device node itself for a block
   * device. Pointing two openers at different lock paths simulates two hosts.
   */
  lockPath?: string;
}

export const DEFAULT_CAPACITY_BYTES = 2 * 1024 * 1024 * 1024;
const DEFAULT_RECORD_BYTES_MAX = 1024 * 1024;
const DEFAULT_GROUP_BYTES_MAX = 4 * 1024 * 1024;
const DEFAULT_IN_FLIGHT_BYTES_MAX = 64 * 1024 * 1024;
const DEFAULT_QUEUE_DEPTH_MAX = 16384;
const DEFAULT_APPEND_TIMEOUT_MS = 5000;
/** Room a skip record may need (it can straddle one block boundary). */
export const SKIP_RESERVE_BYTES = 2 * BLOCK_BYTES;

export interface WalLimits {
  recordBytesMax: number;
  groupBytesMax: number;
  inFlightBytesMax: number;
  queueDepthMax: number;
  appendTimeoutMs: number;
}

function checkInteger(path: string, name: string, v: number, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new WalConfigError(path, `${name} must be an integer in [${min}, ${max}], got ${v}`);
  }
  return v;
}

export function checkIdentity(path: string, nodeId: unknown, epoch: unknown): void {
  if (typeof nodeId !== 'string' || nodeId.length === 0) {
    throw new WalConfigError(path, 'nodeId must be a non-empty string');
  }
  const bytes = Buffer.byteLength(nodeId, 'utf8');
  if (bytes > NODE_ID_BYTES_MAX) {
    throw new WalConfigError(path, `nodeId is ${bytes} UTF-8 bytes; the header holds at most ${NODE_ID_BYTES_MAX}`);
  }
  checkInteger(path, 'epoch', epoch as number, 0, 0xffffffff);
}

/** Capacity for a new WAL, rounded down to whole 4 KiB blocks. */
export function capacityForNew(path: string, options: WalOptions): number {
  const cap = checkInteger(path, 'capacityBytes', options.capacityBytes ?? DEFAULT_CAPACITY_BYTES,
    0, Number.MAX_SAFE_INTEGER);
  return Math.floor(cap / BLOCK_BYTES) * BLOCK_BYTES;
}

/** Resolves the limits for a ring of ringBytes; throws when one record cannot fit. */
export function resolveLimits(path: string, options: WalOptions, capacityBytes: number): WalLimits {
  const ringBytes = capacityBytes - HEADER_AREA_BYTES;
  const recordBytesMax = checkInteger(path, 'recordBytesMax', options.recordBytesMax ?? DEFAULT_RECORD_BYTES_MAX,
    1, RECORD_BODY_BYTES_LIMIT);
  const oneRecordGroup = alignUp(recordSpanBytes(recordBytesMax), BLOCK_BYTES);
  const ringGroupMax = Math.floor((ringBytes - SKIP_RESERVE_BYTES) / BLOCK_BYTES) * BLOCK_BYTES;
  if (oneRecordGroup > ringGroupMax) {
    throw new WalConfigError(path, `capacity ${capacityBytes} bytes is too small for one record of recordBytesMax `
      + `${recordBytesMax} bytes: the ring (capacity minus ${HEADER_AREA_BYTES} header bytes) must hold `
      + `${oneRecordGroup + SKIP_RESERVE_BYTES} bytes at least; raise capacityBytes or lower recordBytesMax`);
  }
  // A record larger than a group is written as a group of its own (with a buffer of its own), so
  // a large recordBytesMax costs no memory until such a record comes.
  const groupBytesMax = checkInteger(path, 'groupBytesMax',
    options.groupBytesMax ?? Math.min(DEFAULT_GROUP_BYTES_MAX, ringGroupMax),
    BLOCK_BYTES, ringGroupMax);
  return {
    recordBytesMax,
    groupBytesMax: Math.floor(groupBytesMax / BLOCK_BYTES) * BLOCK_BYTES,
    inFlightBytesMax: checkInteger(path, 'inFlightBytesMax', options.inFlightBytesMax ?? DEFAULT_IN_FLIGHT_BYTES_MAX,
      recordBytesMax, Number.MAX_SAFE_INTEGER),
    queueDepthMax: checkInteger(path, 'queueDepthMax', options.queueDepthMax ?? DEFAULT_QUEUE_DEPTH_MAX,
      1, 1 << 24),
    appendTimeoutMs: checkInteger(path, 'appendTimeoutMs', options.appendTimeoutMs ?? DEFAULT_APPEND_TIMEOUT_MS,
      0, 24 * 3600 * 1000),
  };
}
