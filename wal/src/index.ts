// @ferry/wal: a durable, group-committed ring log on a file or raw block device, with recovery,
// trim and fencing. See ../README.md for the format, the guarantees and the recovery table.
export { openWal, type Wal, type WalRecord } from './wal.js';
export { type WalOptions, type WalMetrics, type WalLimits, DEFAULT_CAPACITY_BYTES } from './options.js';
export {
  WalError, WalFullError, WalFencedError, WalCorruptError, WalFormatError, WalLockedError, WalFatalError,
  WalConfigError, WalIoError, WalClosedError, WalStateError, WalOffsetError, WalRecordTooLargeError,
  type WalErrorCode, type WalFullReason,
} from './errors.js';
export {
  NodeIo, blockDeviceSizeBytes, probeSizeBytes, type WalIo, type WalFile, type WalLock, type WalPathKind,
} from './io.js';
export { MemoryIo, MemoryDisk, seededRandom, SECTOR_BYTES, type MemoryDiskFaults } from './memory-io.js';
export {
  BLOCK_BYTES, SLOT_BYTES, HEADER_AREA_BYTES, RECORD_HEADER_BYTES, TYPE_INTERNAL_MIN, RECORD_BODY_BYTES_LIMIT,
  recordSpanBytes,
} from './format.js';
