// The etcd MetadataStore backend (DESIGN §5), on the `etcd3` npm client, beside the local one.
//
// Semantics are etcd's own (the local backend mirrors them): linearizable reads, one global
// revision, txn with compares, prefix watches from a revision, leases. Extra care here:
//   - every unary call has a deadline (requestTimeoutMs): a paused or partitioned etcd makes calls
//     fail with MetadataUnavailableError (retriable) instead of hanging; it works again once etcd
//     answers. Writes are never retried here: after a failure in flight their effect is unknown
//     (MetadataUnavailableError.mayHaveApplied), so the caller re-reads or writes conditionally;
//   - the etcd3 client's circuit breaker and retry policies are replaced by pass-through ones
//     (a breaker would refuse calls for 5 s after an etcd restart; a blind retry could apply a
//     write twice);
//   - ETCD_LIMITS are checked before sending (txn-checks.ts, shared with the local backend); etcd's
//     own "request is too large" (it counts protobuf framing too) maps to MetadataLimitError;
//   - list pages through large prefixes at one revision, so the result is one consistent snapshot;
//   - watches resume after failures without loss or duplicates (etcd-watch.ts); leases turn lost
//     no later than etcd could expire them (etcd-lease.ts).
// Credentials (etcd.username / etcd.password) are passed to the client only, never into messages.
//
// API: EtcdMetadataStore.open(options) -> Promise<EtcdMetadataStore> (implements MetadataStore)
//      EtcdMetadataStoreOptions; store.endpoints; grantLease resolves to an EtcdLease (remainingMs)

import {
  CompareResult, CompareTarget, Etcd3, type ICompare, type IOptions, type IRequestOp, type IRangeResponse,
} from 'etcd3';
import { toMetadataError } from './etcd-errors.js';
import { EtcdLease, type EtcdLeaseHost } from './etcd-lease.js';
import { checkKey, checkLeaseTtl, checkTxn, checkWatchRevision, type MetadataLimits } from './txn-checks.js';
import { EtcdPrefixWatch, prefixRange, toKeyValue, type EtcdWatchHost } from './etcd-watch.js';
import {
  ETCD_LIMITS, MetadataLeaseNotFoundError, MetadataLimitError, MetadataStoreClosedError, type Compare, type KeyValue,
  type LeaseOptions, type MetadataStore, type MetadataStoreError, type Op, type TxnResult, type WatchEvent,
} from './metadata-store.js';

export interface EtcdMetadataStoreOptions {
  /** etcd client URLs, e.g. ['http://127.0.0.1:2379'] (config etcd.endpoints). */
  endpoints: string[];
  /** etcd.username / etcd.password, when etcd has authentication enabled. */
  username?: string | null;
  password?: string | null;
  /** Deadline of every unary call (reads, writes, lease grant/revoke/renew-once). Default 5000. */
  requestTimeoutMs?: number;
  /** Keys per page when listing a prefix. Default 1000 (halved on "message too large"). */
  listPageKeys?: number;
  /** Backoff between watch reconnects: starts here, doubles up to the max. Defaults 50 and 1000. */
  watchRetryInitialMs?: number;
  watchRetryMaxMs?: number;
  /** Override request limits (defaults: ETCD_LIMITS). */
  limits?: Partial<typeof ETCD_LIMITS>;
  /** Where exceptions thrown by watch callbacks go. Default: rethrown asynchronously (a bug). */
  onWatchError?: (err: unknown) => void;
}

type PassThroughPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
// The client calls only execute() on its policies, and expects a promise even when fn throws.
const passThrough = { execute: async (fn: (ctx: unknown) => unknown) => fn({ signal: new AbortController().signal, attempt: 0 }) } as unknown as PassThroughPolicy;

const RESULTS: Record<Compare['op'], CompareResult> = {
  '==': CompareResult.Equal, '!=': CompareResult.NotEqual, '<': CompareResult.Less, '>': CompareResult.Greater,
};

export class EtcdMetadataStore implements MetadataStore {
  private closed = false;
  /** The highest revision any response has shown us: watch(prefix, 0) starts right after it. */
  private seenRevision = 0;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly leases = new Map<string, EtcdLease>();
  /** Ids of our leases lost recently (bounded): puts with them are refused before reaching etcd. */
  private readonly lostLeaseIds = new Set<string>();
  private readonly watches = new Set<EtcdPrefixWatch>();
  private readonly limits: MetadataLimits;
  private readonly listPageKeys: number;
  private readonly leaseHost: EtcdLeaseHost;
  private readonly watchHost: EtcdWatchHost;
  /** "etcd http://a:2379,http://b:2379", for messages. */
  private readonly where: string;

  private constructor(private readonly client: Etcd3, readonly endpoints: readonly string[], options: EtcdMetadataStoreOptions, readonly requestTimeoutMs: number) {
    this.where = endpoints.join(',');
    this.limits = { ...ETCD_LIMITS, ...options.limits };
    this.listPageKeys = options.listPageKeys ?? 1000;
    const onWatchError = options.onWatchError ?? ((err: unknown) => queueMicrotask(() => { throw err; }));
    this.leaseHost = {
      leaseClient: client.leaseClient,
      requestTimeoutMs,
      mapError: (err, what, write, leaseId) => this.mapError(err, what, write, leaseId),
      forget: (lease) => {
        this.leases.delete(lease.id);
        this.lostLeaseIds.add(lease.id);
        if (this.lostLeaseIds.size > 10_000) this.lostLeaseIds.delete(this.lostLeaseIds.values().next().value!);
      },
    };
    this.watchHost = {
      openWatchStream: () => client.watchClient.watch(),
      mapError: (err, what) => this.mapError(err, what, false),
      onCallbackError: onWatchError,
      forget: (w) => { this.watches.delete(w); },
      watchRetryInitialMs: options.watchRetryInitialMs ?? 50,
      watchRetryMaxMs: options.watchRetryMaxMs ?? 1000,
    };
  }

  /** Connects and checks that etcd answers (MetadataUnavailableError if not, in requestTimeoutMs). */
  static async open(options: EtcdMetadataStoreOptions): Promise<EtcdMetadataStore> {
    const endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ''));
    if (endpoints.length === 0) throw new MetadataLimitError('etcd needs at least one endpoint');
    for (const e of endpoints) if (!/^https?:\/\/[^/\s]+:\d{1,5}$/.test(e)) throw new MetadataLimitError(`etcd endpoint ${e} is not like http://host:2379`);
    const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    if (!Number.isSafeInteger(requestTimeoutMs) || requestTimeoutMs < 1) throw new MetadataLimitError(`requestTimeoutMs ${requestTimeoutMs} must be a positive integer`);
    const etcdOptions: IOptions = {
      hosts: endpoints,
      dialTimeout: requestTimeoutMs,
      // Unary calls get a deadline; streams (watch, keepalive) live until cancelled.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
      faultHandling: { host: () => passThrough, global: passThrough },
      grpcOptions: {
        'grpc.initial_reconnect_backoff_ms': 50,
        'grpc.max_reconnect_backoff_ms': 1000,
        // Find dead connections (a watch stream is otherwise silent forever); etcd allows pings every 5 s.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.max_receive_message_length': 256 * 1024 * 1024,
      },
    };
    if (options.username) etcdOptions.auth = { username: options.username, password: options.password ?? '' };
    const store = new EtcdMetadataStore(new Etcd3(etcdOptions), endpoints, options, requestTimeoutMs);
    try {
      await store.revision();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  // ---- reads -------------------------------------------------------------------------------

  async get(key: string): Promise<KeyValue | null> {
    this.checkUsable();
    checkKey(key, this.limits);
    const res = await this.call(`get ${key}`, false, undefined, () => this.client.kv.range({ key: Buffer.from(key, 'utf8') }));
    const kv = res.kvs[0];
    return kv ? toKeyValue(kv) : null;
  }

  async list(prefix: string): Promise<KeyValue[]> {
    return (await this.listWithRevision(prefix)).kvs;
  }

  async listWithRevision(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    this.checkUsable();
    const { key, rangeEnd } = prefixRange(prefix);
    let pageKeys = this.listPageKeys;
    let start = key;
    let revision = 0;
    let kvs: KeyValue[] = [];
    for (;;) {
      let res: IRangeResponse;
      try {
        res = await this.call(`list ${prefix}`, false, undefined, () => this.client.kv.range({
          key: start, range_end: rangeEnd, limit: pageKeys, ...(revision > 0 ? { revision } : {}),
        }), true);
      } catch (err) {
        const message = (err as Error).message ?? '';
        if (/larger than max/i.test(message) && pageKeys > 1) {
          pageKeys = Math.ceil(pageKeys / 2); // a page of big values: ask for fewer
          continue;
        }
        if (revision > 0 && /compacted/.test(message)) {
          // The snapshot revision was compacted between pages: start over at a fresh revision.
          start = key;
          revision = 0;
          kvs = [];
          continue;
        }
        throw this.mapError(err, `list ${prefix}`, false);
      }
      // Later pages read at the first page's revision: together they are one snapshot.
      if (revision === 0) revision = Number(res.header.revision);
      for (const kv of res.kvs) kvs.push(toKeyValue(kv));
      const last = res.kvs.at(-1);
      if (!res.more || last === undefined) break;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { kvs, revision };
  }

  async revision(): Promise<number> {
    this.checkUsable();
    const res = await this.call('read the revision', false, undefined, () => this.client.kv.range({ key: Buffer.from([0]), count_only: true }));
    return Number(res.header.revision);
  }

  // ---- writes ------------------------------------------------------------------------------

  async put(key: string, value: Buffer, leaseId?: string): Promise<number> {
    this.checkUsable();
    checkTxn([], [leaseId === undefined ? { type: 'put', key, value } : { type: 'put', key, value, leaseId }], [], this.limits);
    const lease = leaseId === undefined ? undefined : this.checkLeaseForPut(leaseId);
    const req = { key: Buffer.from(key, 'utf8'), value: Buffer.from(value), ...(lease ? { lease } : {}) };
    const res = await this.call(`put ${key}`, true, leaseId, () => this.client.kv.put(req));
    return Number(res.header.revision);
  }

  async delete(key: string): Promise<number> {
    this.checkUsable();
    checkTxn([], [{ type: 'delete', key }], [], this.limits);
    const req = { key: Buffer.from(key, 'utf8') };
    const res = await this.call(`delete ${key}`, true, undefined, () => this.client.kv.deleteRange(req));
    return Number(res.header.revision);
  }

  async txn(compares: Compare[], success: Op[], failure: Op[] = []): Promise<TxnResult> {
    this.checkUsable();
    checkTxn(compares, success, failure, this.limits);
    // Build the request now: it copies every Buffer, so the caller may reuse its own at once.
    let leaseId: string | undefined;
    const toOps = (ops: Op[]): IRequestOp[] => ops.map((op): IRequestOp => {
      if (op.type === 'put') {
        const lease = op.leaseId === undefined ? undefined : this.checkLeaseForPut(op.leaseId);
        leaseId ??= op.leaseId;
        return { request_put: { key: Buffer.from(op.key, 'utf8'), value: Buffer.from(op.value), ...(lease ? { lease } : {}) } };
      }
      if (op.type === 'delete') return { request_delete_range: { key: Buffer.from(op.key, 'utf8') } };
      const { key, rangeEnd } = prefixRange(op.prefix);
      return { request_delete_range: { key, range_end: rangeEnd } };
    });
    const req = { compare: compares.map(toCompare), success: toOps(success), failure: toOps(failure) };
    const what = `txn of ${compares.length} compares, ${success.length}/${failure.length} ops (first key ${firstKey(compares, success, failure)})`;
    const res = await this.call(what, true, leaseId, () => this.client.kv.txn(req));
    return { succeeded: res.succeeded, revision: Number(res.header.revision) };
  }

  // ---- watches -----------------------------------------------------------------------------

  watch(prefix: string, fromRevision: number, onEvent: (e: WatchEvent) => void, onError?: (err: Error) => void): () => void {
    this.checkUsable();
    checkWatchRevision(fromRevision);
    // "From now on" = after every change this client has seen, so a write that resolved before
    // watch() is never delivered and none after it is missed (etcd's own "now" is when the watch
    // registers, a round trip later).
    const start = fromRevision === 0 ? this.seenRevision + 1 : fromRevision;
    const w = new EtcdPrefixWatch(this.watchHost, prefix, start, onEvent, onError);
    this.watches.add(w);
    w.start();
    return () => w.cancel();
  }

  // ---- leases ------------------------------------------------------------------------------

  async grantLease(ttlMs: number, options: LeaseOptions = {}): Promise<EtcdLease> {
    this.checkUsable();
    checkLeaseTtl(ttlMs);
    const lease = await this.track(EtcdLease.grant(this.leaseHost, ttlMs, options.autoKeepAlive ?? true));
    if (this.closed) {
      lease.closeLocally();
      throw new MetadataStoreClosedError(this.where);
    }
    this.leases.set(lease.id, lease);
    return lease;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const lease of [...this.leases.values()]) lease.closeLocally();
    for (const w of [...this.watches]) w.cancel();
    // Calls already sent finish (each has a deadline); nothing new starts.
    await Promise.allSettled([...this.inflight]);
    this.client.close();
  }

  // ---- helpers -----------------------------------------------------------------------------

  private checkUsable(): void {
    if (this.closed) throw new MetadataStoreClosedError(this.where);
  }

  /** A lease id for etcd; one of our own leases that is lost is refused here (fencing). */
  private checkLeaseForPut(leaseId: string): string {
    if (typeof leaseId !== 'string' || !/^[1-9][0-9]{0,18}$/.test(leaseId)) throw new MetadataLeaseNotFoundError(String(leaseId));
    if (this.lostLeaseIds.has(leaseId) || this.leases.get(leaseId)?.isLost) throw new MetadataLeaseNotFoundError(leaseId);
    return leaseId;
  }

  private mapError(err: unknown, what: string, write: boolean, leaseId?: string): MetadataStoreError {
    return toMetadataError(err, { what, where: this.where, write, closed: this.closed, ...(leaseId !== undefined ? { leaseId } : {}) });
  }

  private async call<T extends { header: { revision: string } }>(what: string, write: boolean, leaseId: string | undefined, fn: () => Promise<T>, raw = false): Promise<T> {
    try {
      const res = await this.track(fn());
      const revision = Number(res.header.revision);
      if (revision > this.seenRevision) this.seenRevision = revision;
      return res;
    } catch (err) {
      if (raw) throw err;
      throw this.mapError(err, what, write, leaseId);
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = (): void => { this.inflight.delete(p); };
    p.then(done, done);
    return p;
  }
}

function toCompare(c: Compare): ICompare {
  const key = Buffer.from(c.key, 'utf8');
  const result = RESULTS[c.op];
  switch (c.target) {
    case 'value': return { key, result, target: CompareTarget.Value, value: Buffer.from(c.value as Buffer) };
    case 'version': return { key, result, target: CompareTarget.Version, version: c.value as number };
    case 'createRevision': return { key, result, target: CompareTarget.Create, create_revision: c.value as number };
    case 'modRevision': return { key, result, target: CompareTarget.Mod, mod_revision: c.value as number };
  }
}

function firstKey(compares: Compare[], success: Op[], failure: Op[]): string {
  const op = success[0] ?? failure[0];
  const key = compares[0]?.key ?? (op ? (op.type === 'deletePrefix' ? op.prefix : op.key) : '-');
  return key.length > 120 ? `${key.slice(0, 120)}...` : key;
}
