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
// API: LocalMetadataStore.open(dir, options?) -> Promise<LocalMetadataStore> (implements MetadataStore)
//      store.dir, store.openStats; LocalMetadataStoreOptions; LocalStoreIo (fault injection in tests)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FileLockedError, lockFileExclusive, type FileLock } from './file-lock.js';
import { KvState } from './kv-state.js';
import {
  JOURNAL_HEADER_BYTES, decodeJournalHeader, decodeJournalRecords, decodeSnapshot, encodeChangeRecord,
  encodeJournalHeader, encodeSnapshot, type KeyChange,
} from './local-store-format.js';
import {
  ETCD_LIMITS, compareKeys, MetadataCompactedError, MetadataCorruptError, MetadataLeaseNotFoundError, MetadataLimitError,
  MetadataStoreClosedError, MetadataStoreError, MetadataStoreFailedError, MetadataStoreLockedError,
  type Compare, type KeyValue, type Lease, type LeaseLossReason, type LeaseOptions, type MetadataStore, type Op,
  type TxnResult, type WatchEvent,
} from './metadata-store.js';

/** The two journal I/O calls, injectable so tests can fail them. */
export interface LocalStoreIo {
  write(fh: FileHandle, data: Buffer, position: number): Promise<void>;
  datasync(fh: FileHandle): Promise<void>;
}

const realIo: LocalStoreIo = {
  async write(fh, data, position) {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
      assert.ok(bytesWritten > 0, 'journal write made no progress');
      done += bytesWritten;
    }
  },
  datasync: (fh) => fh.datasync(),
};

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

interface Watcher {
  prefix: string;
  minRevision: number;
  onEvent: (e: WatchEvent) => void;
  pending: WatchEvent[];
  scheduled: boolean;
  cancelled: boolean;
}

const FIRST_REVISION = 1; // etcd's empty store is at revision 1

export class LocalMetadataStore implements MetadataStore {
  private readonly queue: Request[] = [];
  private writing = false;
  private idleWaiters: (() => void)[] = [];
  /** Keys changed by the batch being written, with their durable values (null = absent). */
  private shadow: Map<string, KeyValue | null> | null = null;
  private durableRevision: number;
  private readonly history: { revision: number; events: WatchEvent[] }[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly leases = new Map<string, LocalLease>();
  private failure: MetadataStoreFailedError | null = null;
  private closed = false;
  private readonly limits: typeof ETCD_LIMITS;
  private readonly journalBytesMax: number;
  private readonly historyRevisionsMax: number;
  private readonly io: LocalStoreIo;
  private readonly onWatchError: (err: unknown) => void;

  private constructor(
    readonly dir: string,
    private readonly lock: FileLock,
    private readonly state: KvState,
    private journal: FileHandle,
    private journalBytes: number,
    history: { revision: number; events: WatchEvent[] }[],
    readonly openStats: LocalStoreOpenStats,
    options: LocalMetadataStoreOptions,
  ) {
    this.durableRevision = state.revision;
    this.limits = { ...ETCD_LIMITS, ...options.limits };
    this.journalBytesMax = options.journalBytesMax ?? 64 * 1024 * 1024;
    this.historyRevisionsMax = options.historyRevisionsMax ?? 10_000;
    this.io = options.io ?? realIo;
    this.onWatchError = options.onWatchError ?? ((err) => queueMicrotask(() => { throw err; }));
    this.history.push(...history.slice(-this.historyRevisionsMax));
  }

  private get journalPath(): string { return join(this.dir, 'journal'); }

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
    const snapshotPath = join(dir, 'snapshot');
    const journalPath = join(dir, 'journal');
    // Leftovers of a compaction that crashed before its rename: never part of the state.
    await rm(join(dir, 'snapshot.tmp'), { force: true });
    await rm(join(dir, 'journal.tmp'), { force: true });

    let state = new KvState(FIRST_REVISION);
    let snapshotRevision: number | null = null;
    const snapshotBytes = await readIfExists(snapshotPath);
    if (snapshotBytes !== null) {
      const snap = decodeSnapshot(snapshotBytes);
      if (typeof snap === 'string') throw new MetadataCorruptError(snapshotPath, snap);
      state = new KvState(snap.revision, snap.kvs);
      snapshotRevision = snap.revision;
    }

    const stats: LocalStoreOpenStats = { snapshotRevision, replayedRecords: 0, truncatedTailBytes: 0, deletedLeasedKeys: 0, revision: 0 };
    const history: { revision: number; events: WatchEvent[] }[] = [];
    const historyMax = options.historyRevisionsMax ?? 10_000;
    const journalBytes = await readIfExists(journalPath);
    let journalEnd = JOURNAL_HEADER_BYTES;
    if (journalBytes === null) {
      await writeFileDurably(dir, 'journal', encodeJournalHeader(state.revision));
    } else {
      const base = decodeJournalHeader(journalBytes);
      if (typeof base === 'string') throw new MetadataCorruptError(journalPath, base);
      if (base > state.revision) {
        throw new MetadataCorruptError(journalPath, `journal starts at revision ${base} but the snapshot is at ${state.revision} (snapshot missing?)`);
      }
      let decoded;
      try {
        decoded = decodeJournalRecords(journalBytes);
      } catch (err) {
        throw new MetadataCorruptError(journalPath, (err as Error).message);
      }
      let expected = base + 1;
      for (const record of decoded.records) {
        if (record.revision !== expected) {
          throw new MetadataCorruptError(journalPath, `record with revision ${record.revision} where ${expected} was expected`);
        }
        expected++;
        if (record.revision <= state.revision) continue; // already in the snapshot
        const events = state.apply(record.revision, record.changes);
        history.push({ revision: record.revision, events });
        if (history.length > 2 * historyMax) history.splice(0, history.length - historyMax);
        stats.replayedRecords++;
      }
      if (state.revision < (snapshotRevision ?? FIRST_REVISION)) {
        throw new MetadataCorruptError(journalPath, `journal ends at revision ${state.revision}, before the snapshot's`);
      }
      journalEnd = decoded.validEnd;
      if (decoded.validEnd < journalBytes.length) {
        stats.truncatedTailBytes = journalBytes.length - decoded.validEnd;
        if (decoded.tailProblem !== undefined) stats.tailProblem = decoded.tailProblem;
        const fh = await open(journalPath, 'r+');
        try {
          await fh.truncate(decoded.validEnd);
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
    }

    const journal = await open(journalPath, 'r+');
    const store = new LocalMetadataStore(dir, lock, state, journal, journalEnd, history, stats, options);
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
    this.checkKey(key);
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
      this.validateTxn(compares, success, failure);
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
        if (this.failure === null && this.journalBytes > this.journalBytesMax) await this.compact();
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
    const revisions: { revision: number; events: WatchEvent[] }[] = [];
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
        await this.io.write(this.journal, data, this.journalBytes);
        await this.io.datasync(this.journal);
      } catch (err) {
        const failure = this.fail(err);
        for (const req of batch) req.reject(failure);
        return;
      }
      this.journalBytes += data.length;
    }
    this.shadow = null;
    this.durableRevision = this.state.revision;
    for (const r of revisions) this.publish(r.revision, r.events);
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
    const revision = this.state.revision;
    await writeFileDurably(this.dir, 'snapshot', encodeSnapshot(revision, this.state.entries()));
    await writeFileDurably(this.dir, 'journal', encodeJournalHeader(revision));
    const old = this.journal;
    this.journal = await open(this.journalPath, 'r+');
    this.journalBytes = JOURNAL_HEADER_BYTES;
    await old.close();
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
    if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) throw new MetadataLimitError(`watch fromRevision ${fromRevision} is not a non-negative integer`);
    const start = fromRevision === 0 ? this.durableRevision + 1 : fromRevision;
    const oldest = this.history[0]?.revision ?? this.durableRevision + 1;
    if (start < oldest) {
      const err = new MetadataCompactedError(start, oldest);
      if (!onError) throw err;
      queueMicrotask(() => onError(err));
      return () => undefined;
    }
    const watcher: Watcher = { prefix, minRevision: start, onEvent, pending: [], scheduled: false, cancelled: false };
    for (const h of this.history) {
      if (h.revision >= start) this.enqueueEvents(watcher, h.events);
    }
    this.watchers.add(watcher);
    return () => {
      watcher.cancelled = true;
      this.watchers.delete(watcher);
    };
  }

  private publish(revision: number, events: WatchEvent[]): void {
    this.history.push({ revision, events });
    if (this.history.length > 2 * this.historyRevisionsMax) this.history.splice(0, this.history.length - this.historyRevisionsMax);
    for (const w of this.watchers) if (revision >= w.minRevision) this.enqueueEvents(w, events);
  }

  private enqueueEvents(w: Watcher, events: WatchEvent[]): void {
    for (const e of events) if (e.kv.key.startsWith(w.prefix)) w.pending.push(e);
    if (w.pending.length === 0 || w.scheduled) return;
    w.scheduled = true;
    queueMicrotask(() => {
      w.scheduled = false;
      const batch = w.pending.splice(0, w.pending.length);
      for (const e of batch) {
        if (w.cancelled) return;
        try {
          w.onEvent(e);
        } catch (err) {
          this.onWatchError(err);
        }
      }
    });
  }

  // ---- leases ------------------------------------------------------------------------------

  async grantLease(ttlMs: number, options: LeaseOptions = {}): Promise<Lease> {
    this.checkUsable();
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new MetadataLimitError(`lease ttlMs ${ttlMs} must be a positive integer`);
    let id: string;
    do id = randomBytes(8).toString('hex'); while (this.leases.has(id));
    const lease = new LocalLease(id, ttlMs, options.autoKeepAlive ?? true, {
      lost: (l) => { this.leases.delete(l.id); },
      deleteKeys: (leaseId) => this.enqueue((resolve, reject) => ({
        kind: 'deleteKeys', keysOf: () => this.state.keysOfLease(leaseId), resolve, reject,
      })),
    });
    this.leases.set(id, lease);
    return lease;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const lease of [...this.leases.values()]) lease.closeLocally();
    // Wait for queued writes (including lease expiries already queued) to finish.
    while (this.writing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    for (const w of this.watchers) w.cancelled = true;
    this.watchers.clear();
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

  private checkKey(key: string): number {
    if (typeof key !== 'string' || key.length === 0) throw new MetadataLimitError('key must be a non-empty string');
    const bytes = Buffer.byteLength(key, 'utf8');
    if (bytes > this.limits.keyBytesMax) throw new MetadataLimitError(`key of ${bytes} bytes exceeds ${this.limits.keyBytesMax}: ${key.slice(0, 80)}...`);
    return bytes;
  }

  /** Rejects what etcd would reject: sizes, op counts, duplicate or overlapping keys, bad compare values. */
  private validateTxn(compares: Compare[], success: Op[], failure: Op[]): void {
    const max = this.limits.txnOpsMax;
    for (const [name, list] of [['compares', compares], ['success ops', success], ['failure ops', failure]] as const) {
      if (list.length > max) throw new MetadataLimitError(`transaction has ${list.length} ${name}, more than ${max}`);
    }
    let bytes = 0;
    for (const c of compares) {
      bytes += this.checkKey(c.key);
      if (c.target === 'value') {
        if (!Buffer.isBuffer(c.value)) throw new MetadataLimitError(`compare on the value of ${c.key} needs a Buffer`);
        bytes += c.value.length;
      } else if (typeof c.value !== 'number' || !Number.isSafeInteger(c.value)) {
        throw new MetadataLimitError(`compare on the ${c.target} of ${c.key} needs an integer`);
      }
      if (!['==', '!=', '<', '>'].includes(c.op)) throw new MetadataLimitError(`unknown compare op ${String(c.op)}`);
    }
    for (const ops of [success, failure]) {
      const puts = new Set<string>();
      const deletes: string[] = [];
      const prefixes: string[] = [];
      for (const op of ops) {
        if (op.type === 'put') {
          bytes += this.checkKey(op.key);
          if (!Buffer.isBuffer(op.value)) throw new MetadataLimitError(`value of ${op.key} must be a Buffer`);
          if (op.value.length > this.limits.requestBytesMax) throw new MetadataLimitError(`value of ${op.key} is ${op.value.length} bytes, more than ${this.limits.requestBytesMax}`);
          bytes += op.value.length;
          if (puts.has(op.key)) throw new MetadataLimitError(`transaction puts ${op.key} twice`);
          puts.add(op.key);
        } else if (op.type === 'delete') {
          bytes += this.checkKey(op.key);
          deletes.push(op.key);
        } else if (op.type === 'deletePrefix') {
          if (typeof op.prefix !== 'string' || op.prefix.length === 0) throw new MetadataLimitError('deletePrefix needs a non-empty prefix');
          bytes += Buffer.byteLength(op.prefix, 'utf8');
          prefixes.push(op.prefix);
        } else {
          throw new MetadataLimitError(`unknown op type ${String((op as { type: unknown }).type)}`);
        }
      }
      for (const key of puts) {
        if (deletes.includes(key) || prefixes.some((p) => key.startsWith(p))) {
          throw new MetadataLimitError(`transaction both puts and deletes ${key}`);
        }
      }
    }
    if (bytes > this.limits.requestBytesMax) throw new MetadataLimitError(`transaction of ${bytes} bytes exceeds ${this.limits.requestBytesMax}`);
  }
}

interface LeaseHost {
  lost(lease: LocalLease): void;
  deleteKeys(leaseId: string): Promise<TxnResult>;
}

class LocalLease implements Lease {
  private lostReason: LeaseLossReason | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(reason: LeaseLossReason) => void>();
  private deletion: Promise<unknown> | null = null;

  constructor(readonly id: string, readonly ttlMs: number, autoKeepAlive: boolean, private readonly host: LeaseHost) {
    this.armExpiry();
    if (autoKeepAlive) {
      // Renewals are due well before the expiry, so even after an event-loop stall the renewal fires first.
      this.renewTimer = setInterval(() => this.armExpiry(), Math.max(1, Math.floor(ttlMs / 3)));
      this.renewTimer.unref();
    }
  }

  get isLost(): boolean { return this.lostReason !== null; }

  async keepAliveOnce(): Promise<void> {
    if (this.lostReason !== null) throw new MetadataLeaseNotFoundError(this.id);
    this.armExpiry();
  }

  async revoke(): Promise<void> {
    if (this.lostReason === null) this.lose('revoked');
    await this.deletion?.catch(() => undefined);
  }

  onLost(listener: (reason: LeaseLossReason) => void): () => void {
    if (this.lostReason !== null) {
      const reason = this.lostReason;
      queueMicrotask(() => listener(reason));
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** The store is closing: the lease ends here; its keys are deleted when the directory is next opened. */
  closeLocally(): void {
    if (this.lostReason === null) this.lose('closed');
  }

  private armExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => this.lose('expired'), this.ttlMs);
    this.expiryTimer.unref();
  }

  private lose(reason: LeaseLossReason): void {
    assert.equal(this.lostReason, null);
    this.lostReason = reason;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.host.lost(this);
    if (reason !== 'closed') {
      // If the store failed meanwhile, the keys are deleted at the next open instead.
      this.deletion = this.host.deleteKeys(this.id).catch(() => undefined);
    }
    for (const l of this.listeners) l(reason);
    this.listeners.clear();
  }
}

function compareKeyValues(a: KeyValue, b: KeyValue): number {
  return compareKeys(a.key, b.key);
}

async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new MetadataStoreError('METADATA_IO', `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Writes <dir>/<name> atomically: temp file, fsync, rename, fsync of the directory. */
async function writeFileDurably(dir: string, name: string, data: Buffer): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await realIo.write(fh, data, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
