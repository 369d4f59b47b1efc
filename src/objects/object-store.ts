/**
 * ObjectStore: where Ferry keeps everything older than a few seconds (DESIGN §4). One narrow
 * interface, several backends: `s3` (AWS SDK v3; any S3-compatible server), `fs` (the embedded
 * default: files under <data.dir>/objects), and later `azure-blob`.
 *
 * Semantics every backend keeps (S3's):
 *  - put is atomic: a reader sees the whole object or nothing; `ifNoneMatch` makes it
 *    create-only (exactly one of racing writers wins, the others get ObjectExistsError);
 *  - get with a range returns exactly the bytes asked for ([start, end) or the last `suffix`
 *    bytes); a range past the end is clamped as S3 does; a missing key is ObjectNotFoundError;
 *  - list is by prefix, in key order, paginated internally;
 *  - delete of a missing key succeeds.
 * Failures a retry may fix are ObjectStoreError with `retriable = true`.
 */

export type ByteRange = { start: number; end: number } | { suffix: number };

export interface ObjectInfo {
  key: string;
  size: number;
  lastModifiedMs: number;
}

export interface PutOptions {
  /** Create only: fail with ObjectExistsError if the key exists. */
  ifNoneMatch?: boolean;
}

export interface ObjectStore {
  /** A short description for logs, e.g. "s3://bucket/prefix" (never credentials). */
  readonly description: string;
  put(key: string, body: Buffer | readonly Buffer[], options?: PutOptions): Promise<void>;
  get(key: string, range?: ByteRange): Promise<Buffer>;
  head(key: string): Promise<ObjectInfo | null>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export class ObjectStoreError extends Error {
  override name = 'ObjectStoreError';
  constructor(message: string, readonly retriable: boolean, readonly key?: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class ObjectNotFoundError extends ObjectStoreError {
  override name = 'ObjectNotFoundError';
  constructor(key: string) { super(`object ${key} not found`, false, key); }
}

export class ObjectExistsError extends ObjectStoreError {
  override name = 'ObjectExistsError';
  constructor(key: string) { super(`object ${key} already exists`, false, key); }
}
