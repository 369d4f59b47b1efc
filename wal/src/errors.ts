// Typed errors of the WAL. Every message names the WAL path and the problem, so a log line alone
// tells an operator which volume is affected and what to do.

export type WalErrorCode =
  | 'WAL_FULL'
  | 'WAL_FENCED'
  | 'WAL_CORRUPT'
  | 'WAL_FORMAT'
  | 'WAL_LOCKED'
  | 'WAL_FATAL'
  | 'WAL_CONFIG'
  | 'WAL_IO'
  | 'WAL_CLOSED'
  | 'WAL_STATE'
  | 'WAL_OFFSET'
  | 'WAL_RECORD_TOO_LARGE';

export class WalError extends Error {
  readonly code: WalErrorCode;
  readonly path: string;
  /** True when the same call may succeed later without any other action (backpressure). */
  readonly retriable: boolean = false;

  constructor(code: WalErrorCode, path: string, message: string, options?: { cause?: unknown }) {
    super(`WAL ${path}: ${message}`, options);
    this.name = new.target.name;
    this.code = code;
    this.path = path;
  }
}

export type WalFullReason = 'ring' | 'in-flight-bytes' | 'queue-depth';

/** The ring (or an in-memory limit) had no room in time. Retriable: trim or wait, then append again. */
export class WalFullError extends WalError {
  override readonly retriable = true;
  readonly reason: WalFullReason;
  constructor(path: string, reason: WalFullReason, message: string) {
    super('WAL_FULL', path, message);
    this.reason = reason;
  }
}

/** A newer owner (higher epoch, or another node at the same epoch) holds the WAL. */
export class WalFencedError extends WalError {
  constructor(path: string, message: string) {
    super('WAL_FENCED', path, message);
  }
}

/** Bytes on disk that claim to be ours fail validation where they must not (e.g. both header slots). */
export class WalCorruptError extends WalError {
  constructor(path: string, message: string) {
    super('WAL_CORRUPT', path, message);
  }
}

/** The path holds something that is not a Ferry WAL (or an unsupported version of one). */
export class WalFormatError extends WalError {
  constructor(path: string, message: string) {
    super('WAL_FORMAT', path, message);
  }
}

/** Another process on this host holds the WAL's lock. */
export class WalLockedError extends WalError {
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('WAL_LOCKED', path, message, options);
  }
}

/**
 * A write or fdatasync failed. Not retried (the page cache may have dropped the dirty pages, so a
 * retry could report success for lost data): the Wal refuses all further work and the process must
 * treat it as a crash and recover from disk.
 */
export class WalFatalError extends WalError {
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('WAL_FATAL', path, message, options);
  }
}

/** Options that cannot work (capacity too small for one record, limits out of range, ...). */
export class WalConfigError extends WalError {
  constructor(path: string, message: string) {
    super('WAL_CONFIG', path, message);
  }
}

/** The path cannot be opened, created or locked (permissions, missing directory, not a file). */
export class WalIoError extends WalError {
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('WAL_IO', path, message, options);
  }
}

export class WalClosedError extends WalError {
  constructor(path: string) {
    super('WAL_CLOSED', path, 'the WAL is closed');
  }
}

/** A call out of order, e.g. append() before recover(). */
export class WalStateError extends WalError {
  constructor(path: string, message: string) {
    super('WAL_STATE', path, message);
  }
}

/** An offset that is not a record boundary of the live log (trimmed, past the end, or mid-record). */
export class WalOffsetError extends WalError {
  constructor(path: string, message: string) {
    super('WAL_OFFSET', path, message);
  }
}

export class WalRecordTooLargeError extends WalError {
  constructor(path: string, message: string) {
    super('WAL_RECORD_TOO_LARGE', path, message);
  }
}

/** Turns a Node errno error into a short "EACCES (permission denied)"-style phrase. */
export function describeErrno(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${code} (${err.message})` : err.message;
  }
  return String(err);
}
