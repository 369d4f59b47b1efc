// The embedded MetadataStore backend: one process, one directory, durable on local files.
//
//   <dir>/LOCK       exclusive flock while open (a second opener gets MetadataStoreLockedError)
//   <dir>/snapshot   full state at some revision (written to snapshot.tmp, fsynced, renamed)
//   <dir>/journal    header + one CRC-protected record per revision after the snapshot
//
// Writes: every mutating call is queued; one writer takes everything queued, evaluates it in order
// against the state, appends one record per changed revision with a single write, fdatasyncs, and
// only then resolves the calls and delivers watch events (group commit). While that write is in
// flight, readers see the state as it was before the batch (the "prior" values are kept aside), so
// nothing non-durable is ever visible. A failed write or fsync is not retried: the store turns
// failed and every later call rejects (reopen to recover from disk).
// Open: load the snapshot, replay the journal, cut a torn tail (length/CRC check) and truncate the
// file there; keys bound to leases of an earlier process are deleted (their holder is gone).
// Compaction: when the journal exceeds journalBytesMax, write a new snapshot, then a fresh journal.
// Leases live in memory: with autoKeepAlive (the default) a lease expires only if this process
// stops renewing it; its keys are deleted durably when it expires or is revoked.
//
// This file is the write queue (group commit), reads and the lifecycle. The parts:
//   local-store-journal.ts  the files: append + fdatasync, snapshot/compaction, recovery at open
//   watch-hub.ts            watch history and watchers
//   local-lease.ts          leases (lease-base.ts: the bookkeeping shared with etcd-lease.ts)
//   txn-checks.ts           the request checks, shared with the etcd backend
//   kv-state.ts             the in-memory state with etcd's revisions
//
// API: LocalMetadataStore.open(dir, options?) -> Promise<LocalMetadataStore> (implements MetadataStore)
//      store.dir, store.openStats; LocalMetadataStoreOptions; LocalStoreIo (fault injection in tests)

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FileLockedError, lockFileExclusive, type FileLock } from './file-lock.js';
import type { KvState } from './kv-state.js';
import { LocalLeases } from './local-lease.js';
import { encodeChangeRecord, type KeyChange } from './local-store-format.js';
import { LocalJournal, realIo, type LocalStoreIo } from './local-store-journal.js';
import {
  ETCD_LIMITS, compareKeys, MetadataLeaseNotFoundError, MetadataLimitError, MetadataStoreClosedError, MetadataStoreError,
  MetadataStoreFailedError, MetadataStoreLockedError,
  type Compare, type KeyValue, type Lease, type LeaseOptions, type MetadataStore, type Op, type TxnResult, type WatchEvent,
} from './metadata-store.js';
import { checkKey, checkLeaseTtl, checkTxn, checkWatchRevision, type MetadataLimits } from './txn-checks.js';
import { WatchHub, type RevisionEvents } from './watch-hub.js';

export type { LocalStoreIo } from './local-store-journal.js';

export interface LocalMetadataStoreOptions {
  /** Compact (new snapshot, fresh journal) once the journal grows past this. Default 64 MiB. */
  journalBytesMax?: number;
  /** Revisions of watch history kept in memory. Default 10000. */
  historyRevisionsMax?: number;
  /** Override request limits (defaults: ETCD_LIMITS, so code that works here works on etcd). */
  limits?: Partial<typeof ETCD_LIMITS>;
  /** Where exceptions thrown by watch callbacks go. Default: rethrown asynchronously (a bug). */
  onWatchError?: (err: unknown) => void;
  io?: LocalStoreIo;
}

export interface LocalStoreOpenStats {
  snapshotRevision: number | null;
  replayedRecords: number;
  /** Bytes cut from the journal's end (a torn write that was never acknowledged). */
  truncatedTailBytes: number;
  tailProblem?: string;
  /** Keys deleted at open because they were bound to leases of an earlier process. */
  deletedLeasedKeys: number;
  revision: number;
}

type Request =
  | { kind: 'txn'; compares: Compare[]; success: Op[]; failure: Op[]; resolve: (r: TxnResult) => void; reject: (e: unknown) => void }
  | { kind: 'deleteKeys'; keysOf: () => string[]; resolve: (r: TxnResult) => void; reject: (e: unknown) => void };

export class LocalMetadataStore implements MetadataStore {
  private readonly queue: Request[] = [];
  private writing = false;
  private idleWaiters: (() => void)[] = [];
  /** Keys changed by the batch being written, with their durable values (null = absent). */
  private shadow: Map<string, KeyValue | null> | null = null;
  private durableRevision: number;
  private readonly watches: WatchHub;
  private readonly leases: LocalLeases;
  private failure: MetadataStoreFailedError | null = null;
  private closed = false;
  private readonly limits: MetadataLimits;
  private readonly journalBytesMax: number;

  private constructor(
    readonly dir: string,
    private readonly lock: FileLock,
    private readonly state: KvState,
    private readonly journal: LocalJournal,
    history: RevisionEvents[],
    readonly openStats: LocalStoreOpenStats,
    options: LocalMetadataStoreOptions,
  ) {
    this.durableRevision = state.revision;
    this.limits = { ...ETCD_LIMITS, ...options.limits };
    this.journalBytesMax = options.journalBytesMax ?? 64 * 1024 * 1024;
    const onWatchError = options.onWatchError ?? ((err) => queueMicrotask(() => { throw err; }));
    this.watches = new WatchHub(options.historyRevisionsMax ?? 10_000, onWatchError, history);
    this.leases = new LocalLeases((leaseId) => this.enqueue((resolve, reject) => ({
      kind: 'deleteKeys', keysOf: () => this.state.keysOfLease(leaseId), resolve, reject,
    })));
  }

  static async open(dir: string, options: LocalMetadataStoreOptions = {}): Promise<LocalMetadataStore> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new MetadataStoreError('METADATA_IO', `cannot create metadata directory ${dir}: ${(err as Error).message}`);
    }
    let lock: FileLock;
    try {
      lock = lockFileExclusive(join(dir, 'LOCK'));
    } catch (err) {
      if (err instanceof FileLockedError) throw new MetadataStoreLockedError(dir);
      throw new MetadataStoreError('METADATA_IO', `cannot lock metadata directory ${dir}: ${(err as Error).message}`);
    }
    try {
      return await LocalMetadataStore.load(dir, lock, options);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private static async load(dir: string, lock: FileLock, options: LocalMetadataStoreOptions): Promise<LocalMetadataStore> {
    const { journal, state, history, stats: recovered } = await LocalJournal.recover(dir, options.io ?? realIo, options.historyRevisionsMax ?? 10_000);
    const stats: LocalStoreOpenStats = { ...recovered, deletedLeasedKeys: 0, revision: 0 };
    const store = new LocalMetadataStore(dir, lock, state, journal, history, stats, options);
    const leased = state.leaseIds().flatMap((id) => state.keysOfLease(id));
    if (leased.length > 0) {
      await store.enqueue<TxnResult>((resolve, reject) => ({ kind: 'deleteKeys', keysOf: () => leased, resolve, reject }));
      stats.deletedLeasedKeys = leased.length;
    }
    stats.revision = store.durableRevision;
    return store;
  }

  // ---- reads -------------------------------------------------------------------------------

  async get(key: string): Promise<KeyValue | null> {
    this.checkUsable();
    checkKey(key, this.limits);
    if (this.shadow?.has(key)) return this.shadow.get(key)!;
    return this.state.get(key) ?? null;
  }

  async list(prefix: string): Promise<KeyValue[]> {
    return (await this.listWithRevision(prefix)).kvs;
  }

  async listWithRevision(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    this.checkUsable();
    const kvs = this.state.range(prefix);
    const shadow = this.shadow;
    if (shadow === null || shadow.size === 0) return { kvs, revision: this.durableRevision };
    // Replace in-flight changes by their durable values.
    const byKey = new Map(kvs.map((kv) => [kv.key, kv]));
    let touched = false;
    for (const [key, prior] of shadow) {
      if (!key.startsWith(prefix)) continue;
      touched = true;
      if (prior === null) byKey.delete(key);
      else byKey.set(key, prior);
    }
    if (!touched) return { kvs, revision: this.durableRevision };
    const merged = [...byKey.values()].sort((a, b) => compareKeyValues(a, b));
    return { kvs: merged, revision: this.durableRevision };
  }

  async revision(): Promise<number> {
    this.checkUsable();
    return this.durableRevision;
  }

  // ---- writes ------------------------------------------------------------------------------

  async put(key: string, value: Buffer, leaseId?: string): Promise<number> {
    const op: Op = leaseId === undefined ? { type: 'put', key, value } : { type: 'put', key, value, leaseId };
    return (await this.txn([], [op])).revision;
  }

  async delete(key: string): Promise<number> {
    return (await this.txn([], [{ type: 'delete', key }])).revision;
  }

  txn(compares: Compare[], success: Op[], failure: Op[] = []): Promise<TxnResult> {
    try {
      this.checkUsable();
      checkTxn(compares, success, failure, this.limits);
    } catch (err) {
      return Promise.reject(err);
    }
    // Copy inputs: the caller may reuse its buffers and arrays after the call.
    const copyOps = (ops: Op[]): Op[] => ops.map((op) => (op.type === 'put' ? { ...op, value: Buffer.from(op.value) } : { ...op }));
    const request = {
      compares: compares.map((c) => ({ ...c, value: Buffer.isBuffer(c.value) ? Buffer.from(c.value) : c.value })),
      success: copyOps(success),
      failure: copyOps(failure),
    };
    return this.enqueue((resolve, reject) => ({ kind: 'txn', ...request, resolve, reject }));
  }

  private enqueue<T extends TxnResult>(make: (resolve: (r: TxnResult) => void, reject: (e: unknown) => void) => Request): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      // Work queued before close() still runs (close waits for it); nothing new after.
      if (this.closed && !this.writing) return reject(new MetadataStoreClosedError(this.dir));
      this.queue.push(make(resolve as (r: TxnResult) => void, reject));
      if (!this.writing) void this.runWriter();
    });
  }

  private async runWriter(): Promise<void> {
    assert.ok(!this.writing);
    this.writing = true;
    try {
      while (this.queue.length > 0 && this.failure === null) {
        const batch = this.queue.splice(0, this.queue.length);
        await this.commitBatch(batch);
        if (this.failure === null && this.journal.sizeBytes > this.journalBytesMax) await this.compact();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.writing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async commitBatch(batch: Request[]): Promise<void> {
    const shadow = new Map<string, KeyValue | null>();
    this.shadow = shadow;
    const records: Buffer[] = [];
    const revisions: RevisionEvents[] = [];
    const settle: (() => void)[] = [];
    for (const req of batch) {
      let outcome: { succeeded: boolean; changes: KeyChange[] };
      try {
        outcome = this.evaluate(req);
      } catch (err) {
        settle.push(() => req.reject(err));
        continue;
      }
      if (outcome.changes.length > 0) {
        const revision = this.state.revision + 1;
        let record: Buffer;
        try {
          record = encodeChangeRecord(revision, outcome.changes);
        } catch (err) {
          settle.push(() => req.reject(new MetadataLimitError((err as Error).message)));
          continue;
        }
        records.push(record);
        const events = this.state.apply(revision, outcome.changes, (key, prior) => {
          if (!shadow.has(key)) shadow.set(key, prior);
        });
        revisions.push({ revision, events });
      }
      const result: TxnResult = { succeeded: outcome.succeeded, revision: this.state.revision };
      settle.push(() => req.resolve(result));
    }
    if (records.length > 0) {
      const data = records.length === 1 ? records[0]! : Buffer.concat(records);
      try {
        await this.journal.append(data);
      } catch (err) {
        const failure = this.fail(err);
        for (const req of batch) req.reject(failure);
        return;
      }
    }
    this.shadow = null;
    this.durableRevision = this.state.revision;
    for (const r of revisions) this.watches.publish(r.revision, r.events);
    for (const s of settle) s();
  }

  /** Decides a request against the current state; returns the key changes of its revision. */
  private evaluate(req: Request): { succeeded: boolean; changes: KeyChange[] } {
    if (req.kind === 'deleteKeys') {
      const changes: KeyChange[] = [];
      for (const key of new Set(req.keysOf())) if (this.state.get(key)) changes.push({ type: 'delete', key });
      return { succeeded: true, changes };
    }
    const succeeded = req.compares.every((c) => this.state.evaluate(c));
    const ops = succeeded ? req.success : req.failure;
    const changes: KeyChange[] = [];
    const deleted = new Set<string>();
    for (const op of ops) {
      if (op.type === 'put') {
        if (op.leaseId !== undefined && !this.leases.has(op.leaseId)) throw new MetadataLeaseNotFoundError(op.leaseId);
        changes.push(op.leaseId === undefined
          ? { type: 'put', key: op.key, value: op.value }
          : { type: 'put', key: op.key, value: op.value, leaseId: op.leaseId });
      } else {
        const keys = op.type === 'delete' ? (this.state.get(op.key) ? [op.key] : []) : this.state.keysWithPrefix(op.prefix);
        for (const key of keys) {
          if (deleted.has(key)) continue; // overlapping deletes are allowed, as in etcd
          deleted.add(key);
          changes.push({ type: 'delete', key });
        }
      }
    }
    return { succeeded, changes };
  }

  private async compact(): Promise<void> {
    assert.equal(this.shadow, null);
    await this.journal.compact(this.state.revision, this.state.entries());
  }

  private fail(err: unknown): MetadataStoreFailedError {
    if (this.failure) return this.failure;
    this.failure = err instanceof MetadataStoreFailedError ? err : new MetadataStoreFailedError(this.dir, err);
    const queued = this.queue.splice(0, this.queue.length);
    for (const req of queued) req.reject(this.failure);
    return this.failure;
  }

  // ---- watches -----------------------------------------------------------------------------

  watch(prefix: string, fromRevision: number, onEvent: (e: WatchEvent) => void, onError?: (err: Error) => void): () => void {
    this.checkUsable();
    checkWatchRevision(fromRevision);
    return this.watches.watch(prefix, fromRevision, this.durableRevision, onEvent, onError);
  }

  // ---- leases ------------------------------------------------------------------------------

  async grantLease(ttlMs: number, options: LeaseOptions = {}): Promise<Lease> {
    this.checkUsable();
    checkLeaseTtl(ttlMs);
    return this.leases.grant(ttlMs, options.autoKeepAlive ?? true);
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.leases.closeAll();
    // Wait for queued writes (including lease expiries already queued) to finish.
    while (this.writing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.watches.close();
    try {
      await this.journal.close();
    } finally {
      this.lock.release();
    }
  }

  private checkUsable(): void {
    if (this.closed) throw new MetadataStoreClosedError(this.dir);
    if (this.failure) throw this.failure;
  }
}

function compareKeyValues(a: KeyValue, b: KeyValue): number {
  return compareKeys(a.key, b.key);
}
