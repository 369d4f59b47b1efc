// MetadataStore: the narrow key-value interface Ferry keeps its cluster metadata in (DESIGN §5).
// Two backends implement it: the embedded local one (local-metadata-store.ts) and etcd
// (etcd-metadata-store.ts).
// Everything here stays inside etcd's semantics so code written against the local backend keeps
// working on etcd:
//   - keys are strings compared as UTF-8 bytes (lexicographic), values are Buffers <= 1.5 MiB;
//   - one global revision; every mutating call that changes something bumps it by exactly one,
//     and every key it writes gets that revision as modRevision (createRevision on creation,
//     version counts puts since creation, reset by delete);
//   - txn(compares, success, failure): all compares are evaluated atomically against the same
//     state; then either the success or the failure ops apply, atomically; a compare on the
//     value of a missing key is false, other targets of a missing key compare as 0;
//   - watch(prefix, fromRevision): every change with revision >= fromRevision, in revision order
//     (fromRevision 0 = from the next revision on); a delete event carries the deleted key with
//     modRevision = the delete's revision, version 0 and an empty value;
//   - leases: a key put with a leaseId is deleted when that lease expires or is revoked.
// Every call resolves only when its effect is durable; reads never see writes that are not.
//
// Public API (stable):
//   interface MetadataStore, KeyValue, Compare, Op, TxnResult, WatchEvent, Lease, LeaseOptions
//   ETCD_LIMITS                       request limits of a default etcd server, enforced by both backends
//   compareKeys(a, b)                 UTF-8 byte order of two keys
//   errors: MetadataStoreError (base, has `code`), MetadataLimitError, MetadataCompactedError,
//           MetadataLeaseNotFoundError, MetadataStoreClosedError, MetadataStoreFailedError,
//           MetadataStoreLockedError, MetadataCorruptError, MetadataUnavailableError (retriable;
//           isRetriableMetadataError(err))
//   helpers: encodeJson(value) / decodeJson(buf, what) for the compact JSON values of the typed layers

export interface KeyValue {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  /** The lease the key is bound to, if any. */
  leaseId?: string;
}

export type Compare = {
  key: string;
  target: 'modRevision' | 'createRevision' | 'version' | 'value';
  op: '==' | '!=' | '<' | '>';
  value: number | Buffer;
};

export type Op =
  | { type: 'put'; key: string; value: Buffer; leaseId?: string }
  | { type: 'delete'; key: string }
  | { type: 'deletePrefix'; prefix: string };

export interface TxnResult {
  succeeded: boolean;
  /** The store's revision after the transaction (unchanged when it changed nothing). */
  revision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
}

export interface LeaseOptions {
  /** Renew the lease automatically (every ttl/3) until revoked or the store closes. Default true. */
  autoKeepAlive?: boolean;
}

export type LeaseLossReason = 'expired' | 'revoked' | 'closed';

export interface Lease {
  readonly id: string;
  readonly ttlMs: number;
  /** True once the lease expired, was revoked, or its store closed; keys bound to it are gone. */
  readonly isLost: boolean;
  /** Renew once. Rejects with MetadataLeaseNotFoundError if the lease is already lost. */
  keepAliveOnce(): Promise<void>;
  /** Revoke: deletes every key bound to the lease (durably) and stops renewal. Idempotent. */
  revoke(): Promise<void>;
  /** Called once when the lease is lost. Returns an unsubscribe function. */
  onLost(listener: (reason: LeaseLossReason) => void): () => void;
}

export interface MetadataStore {
  get(key: string): Promise<KeyValue | null>;
  /** Every key starting with prefix, sorted by key (UTF-8 byte order). */
  list(prefix: string): Promise<KeyValue[]>;
  /** Like list, plus the store revision the result reflects: watch from revision + 1 to follow it. */
  listWithRevision(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }>;
  /** Returns the new revision. */
  put(key: string, value: Buffer, leaseId?: string): Promise<number>;
  /** Returns the store revision after the delete (unchanged if the key did not exist). */
  delete(key: string): Promise<number>;
  /** Atomic and durable when resolved. */
  txn(compares: Compare[], success: Op[], failure?: Op[]): Promise<TxnResult>;
  /**
   * Calls onEvent for every change under prefix with revision >= fromRevision (0 = from now on),
   * asynchronously and in revision order. If fromRevision is older than the history the store
   * keeps, the watch fails with MetadataCompactedError: given to onError (asynchronously) when
   * provided, else thrown by this call (only possible with the local backend; pass onError to be
   * backend-independent). onError also receives later failures (e.g. a lost etcd connection that
   * cannot resume); the watch is over after onError. Returns a function that cancels the watch.
   */
  watch(prefix: string, fromRevision: number, onEvent: (e: WatchEvent) => void, onError?: (err: Error) => void): () => void;
  /** The etcd backend rounds ttlMs up to whole seconds (etcd's lease unit). */
  grantLease(ttlMs: number, options?: LeaseOptions): Promise<Lease>;
  /** The current revision (of durable state). */
  revision(): Promise<number>;
  close(): Promise<void>;
}

/** Limits of a default etcd server (--max-request-bytes, --max-txn-ops); both backends enforce them. */
export const ETCD_LIMITS = Object.freeze({
  /** One value, and the sum of keys and values of one request. */
  requestBytesMax: 1.5 * 1024 * 1024,
  /** Ops per branch of a transaction (a deletePrefix counts as one). */
  txnOpsMax: 128,
  /** Our own cap on key length (etcd has none below the request limit). */
  keyBytesMax: 4096,
});

export class MetadataStoreError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** A request exceeds ETCD_LIMITS or is malformed (empty key, bad compare value). */
export class MetadataLimitError extends MetadataStoreError {
  constructor(message: string) { super('METADATA_LIMIT', message); }
}
export class MetadataCompactedError extends MetadataStoreError {
  constructor(readonly requestedRevision: number, readonly oldestRevision: number) {
    super('METADATA_COMPACTED', `watch from revision ${requestedRevision}: history starts at revision ${oldestRevision}`);
  }
}
export class MetadataLeaseNotFoundError extends MetadataStoreError {
  constructor(readonly leaseId: string) { super('METADATA_LEASE_NOT_FOUND', `lease ${leaseId} not found (expired, revoked or never granted)`); }
}
export class MetadataStoreClosedError extends MetadataStoreError {
  constructor(path: string) { super('METADATA_STORE_CLOSED', `metadata store ${path} is closed`); }
}
/** A write or fsync failed: the store refuses everything afterwards (reopen to recover from disk). */
export class MetadataStoreFailedError extends MetadataStoreError {
  constructor(path: string, override readonly cause: unknown) {
    super('METADATA_STORE_FAILED', `metadata store ${path} failed and must be reopened: ${String((cause as Error)?.message ?? cause)}`);
  }
}
export class MetadataStoreLockedError extends MetadataStoreError {
  constructor(readonly path: string) {
    super('METADATA_STORE_LOCKED', `metadata directory ${path} is locked by another process (is another broker using the same data.dir?)`);
  }
}
/**
 * The store could not be reached in time (etcd down, paused, partitioned, no leader): retriable.
 * For a write, `mayHaveApplied` says the request may have reached the store before the failure, so
 * its effect is unknown; re-read (or make the write conditional) before repeating it.
 */
export class MetadataUnavailableError extends MetadataStoreError {
  readonly retriable = true;
  constructor(message: string, readonly mayHaveApplied: boolean) { super('METADATA_UNAVAILABLE', message); }
}
/** True for errors a caller may retry later with the same request (after a re-read, for writes). */
export function isRetriableMetadataError(err: unknown): boolean {
  return err instanceof MetadataUnavailableError;
}
export class MetadataCorruptError extends MetadataStoreError {
  constructor(readonly path: string, detail: string) {
    super('METADATA_CORRUPT', `metadata file ${path} is corrupt: ${detail}`);
  }
}

/**
 * Compares two keys in UTF-8 byte order without encoding them. UTF-16 code-unit order equals
 * code-point (= UTF-8) order except that surrogates (D800–DFFF) sort below E000–FFFF; fix that up.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Compact JSON as a Buffer: the value encoding of every typed record. */
export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function decodeJson<T>(buf: Buffer, what: string): T {
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (err) {
    throw new MetadataStoreError('METADATA_BAD_VALUE', `${what}: value is not valid JSON (${(err as Error).message})`);
  }
}
