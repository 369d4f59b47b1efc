/**
 * The ACLs of a cluster, kept in the metadata store (acl-keys.ts: one key per resource pattern)
 * and followed by every broker. Writes are compare-and-put on the key's modRevision, retried on
 * a lost race after re-reading, so two brokers creating ACLs on one resource at once both land
 * (Kafka's AclAuthorizer.updateResourceAcls with ZooKeeper versions). The follower reads every
 * ACL at start, then watches the prefix (etcd watch, or the local store's); after a watch error
 * it reads everything again and resumes from there. Its own writes are applied at once, so a
 * DescribeAcls right after CreateAcls on the same broker sees them; a change made elsewhere
 * arrives through the watch (milliseconds on etcd).
 *
 * Subscribers (the AclAuthorizer) get every resource pattern's entries as they change.
 *
 * API: new AclStore({ store, root, log }); start(); close(); subscribe(sink);
 *      describe(filter); create(bindings); delete(filters); size; loaded
 */
import type { Logger } from 'pino';
import { ErrorCode } from '../../protocol/errors.js';
import { MetadataLimitError, isRetriableMetadataError, type KeyValue, type MetadataStore, type WatchEvent } from '../../cluster/metadata-store.js';
import { aclKey, aclsPrefix, decodeAclEntries, encodeAclEntries, parseAclKey } from './acl-keys.js';
import {
  entryFilterMatches, filterPattern, patternFilterMatches, sameEntry,
  type AclBinding, type AclBindingFilter, type AclEntry, type ResourcePattern,
} from './acl-model.js';

/** Where the ACLs of each resource pattern go as they change. */
export interface AclSink {
  /** The entries of one resource pattern now (empty: it has none left). */
  setResourceAcls(pattern: ResourcePattern, entries: readonly AclEntry[]): void;
  /** Called once the first full read is applied (before it, an authorizer knows nothing). */
  loaded(): void;
}

/** A failed ACL write, with the Kafka error code the client gets. */
export class AclStoreError extends Error {
  constructor(readonly errorCode: number, message: string) {
    super(message);
    this.name = 'AclStoreError';
  }
}

export interface AclStoreOptions {
  store: MetadataStore;
  /** The cluster's key root (MetadataKeys.root): `/ferry/<cluster>/`. */
  root: string;
  log: Logger;
  /** Compare-and-put attempts on one resource before giving up (default 50). */
  casAttemptsMax?: number;
  /** Pause before re-reading after a failed watch (default 200 ms; doubles up to 5 s while reads fail). */
  resyncDelayMs?: number;
}

export type DeleteResult = { error: null; deleted: Array<{ binding: AclBinding; error: AclStoreError | null }> } | { error: AclStoreError; deleted: [] };

interface Cached {
  pattern: ResourcePattern;
  /** Empty for a deleted key (kept as a tombstone so an older watch event cannot revive it). */
  entries: readonly AclEntry[];
  revision: number;
}

const STORE_ATTEMPTS_MAX = 3;

export class AclStore {
  private readonly cache = new Map<string, Cached>();
  private readonly sinks = new Set<AclSink>();
  private readonly prefix: string;
  private cancelWatch: (() => void) | null = null;
  private syncing: Promise<void> | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private isLoaded = false;
  private count = 0;

  constructor(private readonly o: AclStoreOptions) {
    this.prefix = aclsPrefix(o.root);
  }

  /** Bindings held now (for metrics and logs). */
  get size(): number { return this.count; }
  get loaded(): boolean { return this.isLoaded; }

  /** Reads every ACL and starts following changes. Rejects if the first read fails. */
  async start(): Promise<void> {
    await this.sync();
    this.o.log.info({ acls: this.count }, 'ACLs loaded');
  }

  close(): void {
    this.closed = true;
    this.cancelWatch?.();
    this.cancelWatch = null;
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
  }

  /** Replays what is known, then forwards every change. Returns an unsubscribe function. */
  subscribe(sink: AclSink): () => void {
    this.sinks.add(sink);
    for (const c of this.cache.values()) if (c.entries.length > 0) sink.setResourceAcls(c.pattern, c.entries);
    if (this.isLoaded) sink.loaded();
    return () => { this.sinks.delete(sink); };
  }

  /** The bindings matching a filter, from what this broker has applied (Kafka's Authorizer.acls). */
  describe(filter: AclBindingFilter): AclBinding[] {
    const out: AclBinding[] = [];
    for (const c of this.cache.values()) {
      if (c.entries.length === 0 || !patternFilterMatches(filter, c.pattern)) continue;
      for (const e of c.entries) if (entryFilterMatches(filter, e)) out.push({ ...c.pattern, ...e });
    }
    return out;
  }

  // ---- writes -------------------------------------------------------------------------------

  /** Adds bindings (already validated). One result per binding: null when it is stored (or already was). */
  async create(bindings: readonly AclBinding[]): Promise<Array<AclStoreError | null>> {
    const results: Array<AclStoreError | null> = bindings.map(() => null);
    const byKey = new Map<string, { pattern: ResourcePattern; items: Array<{ entry: AclEntry; index: number }> }>();
    bindings.forEach((b, index) => {
      const pattern: ResourcePattern = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType };
      const key = aclKey(this.o.root, pattern);
      let group = byKey.get(key);
      if (!group) byKey.set(key, (group = { pattern, items: [] }));
      group.items.push({ entry: { principal: b.principal, host: b.host, operation: b.operation, permission: b.permission }, index });
    });
    await Promise.all([...byKey].map(async ([key, { pattern, items }]) => {
      try {
        await this.update(key, pattern, null, (current) => {
          const next = [...current];
          for (const { entry } of items) if (!next.some((e) => sameEntry(e, entry))) next.push(entry);
          return next.length === current.length ? null : next;
        });
      } catch (err) {
        const e = toStoreError(err, `creating ACLs on ${key}`);
        for (const { index } of items) results[index] = e;
      }
    }));
    return results;
  }

  /**
   * Removes every binding matching each filter (already validated). Each filter's result lists
   * the bindings it matched and removed (a binding matched by two filters is in both, as in KRaft).
   */
  async delete(filters: readonly AclBindingFilter[]): Promise<DeleteResult[]> {
    const results: Array<Array<{ binding: AclBinding; error: AclStoreError | null }>> = filters.map(() => []);
    let candidates: Map<string, KeyValue | null>;
    try {
      candidates = await this.candidateKeys(filters);
    } catch (err) {
      const e = toStoreError(err, 'reading ACLs to delete');
      return filters.map(() => ({ error: e, deleted: [] }));
    }
    await Promise.all([...candidates].map(async ([key, kv]) => {
      const pattern = parseAclKey(this.o.root, key);
      if (!pattern) return;
      const matching = filters.map((f, i) => ({ f, i })).filter(({ f }) => patternFilterMatches(f, pattern));
      if (matching.length === 0) return;
      // What the last attempt removed, by filter; reset on every retry.
      let removed: Array<{ i: number; entry: AclEntry }> = [];
      try {
        await this.update(key, pattern, kv, (current) => {
          removed = [];
          const next = current.filter((entry) => {
            let hit = false;
            for (const { f, i } of matching) if (entryFilterMatches(f, entry)) { removed.push({ i, entry }); hit = true; }
            return !hit;
          });
          return next.length === current.length ? null : next;
        });
        for (const { i, entry } of removed) results[i]!.push({ binding: { ...pattern, ...entry }, error: null });
      } catch (err) {
        const e = toStoreError(err, `deleting ACLs on ${key}`);
        for (const { i, entry } of removed) results[i]!.push({ binding: { ...pattern, ...entry }, error: e });
      }
    }));
    return results.map((deleted) => ({ error: null, deleted }));
  }

  /**
   * The keys the filters may touch, with their current value where already read. A filter naming
   * one resource (or both patterns of one name, ANY) reads those keys; any other lists the ACLs.
   */
  private async candidateKeys(filters: readonly AclBindingFilter[]): Promise<Map<string, KeyValue | null>> {
    const out = new Map<string, KeyValue | null>();
    const direct: string[] = [];
    let listAll = false;
    for (const f of filters) {
      const one = filterPattern(f);
      if (one) direct.push(aclKey(this.o.root, one));
      else if (f.patternType === 'ANY' && f.resourceType !== 'ANY' && f.resourceType !== 'UNKNOWN' && f.resourceName !== null) {
        direct.push(aclKey(this.o.root, { resourceType: f.resourceType, resourceName: f.resourceName, patternType: 'LITERAL' }));
        direct.push(aclKey(this.o.root, { resourceType: f.resourceType, resourceName: f.resourceName, patternType: 'PREFIXED' }));
      } else listAll = true;
    }
    if (listAll) {
      for (const kv of await this.o.store.list(this.prefix)) out.set(kv.key, kv);
    } else {
      for (const key of new Set(direct)) out.set(key, null);
    }
    return out;
  }

  /**
   * Compare-and-put of one key: `change` maps the current entries to the new ones (null: no
   * change). Re-reads and retries when another writer got there first.
   */
  private async update(key: string, pattern: ResourcePattern, known: KeyValue | null, change: (current: readonly AclEntry[]) => AclEntry[] | null): Promise<void> {
    const attemptsMax = this.o.casAttemptsMax ?? 50;
    let kv = known;
    let read = known !== null;
    let storeFailures = 0;
    for (let attempt = 0; attempt < attemptsMax; attempt++) {
      try {
        if (!read) kv = await this.o.store.get(key);
        read = false;
        const current = kv ? decodeAclEntries(kv.value, key) : [];
        const next = change(current);
        if (next === null) return;
        const compare = { key, target: 'modRevision' as const, op: '==' as const, value: kv?.modRevision ?? 0 };
        const op = next.length > 0 ? { type: 'put' as const, key, value: encodeAclEntries(next) } : { type: 'delete' as const, key };
        const r = await this.o.store.txn([compare], [op]);
        if (r.succeeded) {
          this.apply(key, pattern, next, r.revision);
          return;
        }
      } catch (err) {
        if (!isRetriableMetadataError(err) || ++storeFailures >= STORE_ATTEMPTS_MAX) throw err;
        await sleep(100 * storeFailures);
        continue;
      }
      // Lost the race: another broker wrote this key since we read it. Back off a little when it keeps happening.
      if (attempt >= 3) await sleep(Math.random() * 5 * attempt);
    }
    throw new AclStoreError(ErrorCode.UNKNOWN_SERVER_ERROR, `${key}: gave up after ${attemptsMax} conflicting concurrent updates`);
  }

  // ---- following the store ------------------------------------------------------------------

  /** Reads every ACL, applies the differences, and (re)starts the watch after what it read. */
  private sync(): Promise<void> {
    this.syncing ??= (async () => {
      this.cancelWatch?.();
      this.cancelWatch = null;
      const { kvs, revision } = await this.o.store.listWithRevision(this.prefix);
      if (this.closed) return;
      const seen = new Set<string>();
      for (const kv of kvs) {
        seen.add(kv.key);
        this.applyKv(kv);
      }
      for (const [key, c] of this.cache) {
        if (!seen.has(key) && c.revision <= revision) {
          if (c.entries.length > 0) this.apply(key, c.pattern, [], revision);
          this.cache.delete(key);
        }
      }
      this.cancelWatch = this.o.store.watch(this.prefix, revision + 1, (e) => this.onEvent(e), (err) => this.onWatchError(err));
      if (!this.isLoaded) {
        this.isLoaded = true;
        for (const s of this.sinks) s.loaded();
      }
    })().finally(() => { this.syncing = null; });
    return this.syncing;
  }

  private onEvent(e: WatchEvent): void {
    if (this.closed) return;
    if (e.type === 'put') {
      this.applyKv(e.kv);
      return;
    }
    const pattern = parseAclKey(this.o.root, e.kv.key);
    if (pattern) this.apply(e.kv.key, pattern, [], e.kv.modRevision);
  }

  private onWatchError(err: Error): void {
    if (this.closed) return;
    this.cancelWatch = null;
    this.o.log.warn({ err }, 'ACL watch failed; reading the ACLs again');
    this.scheduleResync(this.o.resyncDelayMs ?? 200);
  }

  private scheduleResync(delayMs: number): void {
    if (this.closed || this.resyncTimer) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      this.sync().catch((err: unknown) => {
        this.o.log.warn({ err }, 'reading the ACLs failed; retrying');
        this.scheduleResync(Math.min(5_000, delayMs * 2));
      });
    }, delayMs);
    this.resyncTimer.unref();
  }

  private applyKv(kv: KeyValue): void {
    const pattern = parseAclKey(this.o.root, kv.key);
    if (!pattern) {
      this.o.log.warn({ key: kv.key }, 'ignoring a key under acls/ that names no resource pattern');
      return;
    }
    let entries: AclEntry[];
    try {
      entries = decodeAclEntries(kv.value, kv.key);
    } catch (err) {
      // Keep what we had: dropping entries could drop a DENY.
      this.o.log.error({ err, key: kv.key }, 'ignoring an unreadable ACL value');
      return;
    }
    this.apply(kv.key, pattern, entries, kv.modRevision);
  }

  /** Applies one key's entries at a revision unless something newer is already applied. */
  private apply(key: string, pattern: ResourcePattern, entries: readonly AclEntry[], revision: number): void {
    const prior = this.cache.get(key);
    if (prior && prior.revision >= revision) return;
    this.count += entries.length - (prior?.entries.length ?? 0);
    this.cache.set(key, { pattern, entries, revision });
    if (entries.length === 0 && (prior === undefined || prior.entries.length === 0)) return;
    for (const s of this.sinks) s.setResourceAcls(pattern, entries);
  }
}

function toStoreError(err: unknown, what: string): AclStoreError {
  if (err instanceof AclStoreError) return err;
  const detail = (err as Error)?.message ?? String(err);
  if (isRetriableMetadataError(err)) return new AclStoreError(ErrorCode.REQUEST_TIMED_OUT, `${what}: the metadata store is unavailable (${detail})`);
  // A name too long for a key, or more ACLs on one resource than one value holds (1.5 MiB).
  if (err instanceof MetadataLimitError) return new AclStoreError(ErrorCode.INVALID_REQUEST, `${what}: ${detail}`);
  return new AclStoreError(ErrorCode.UNKNOWN_SERVER_ERROR, `${what}: ${detail}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
