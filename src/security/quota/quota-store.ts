/**
 * Client quotas in the metadata store (`<root>quotas/...`, layout in quota-entity.ts), followed by
 * every broker: a list at open, then a watch from the listed revision, so a change made through
 * any broker (AlterClientQuotas) reaches every broker's enforcement as fast as the store's watch
 * delivers it (milliseconds; etcd or the local store). A lost watch re-lists and watches again.
 *
 * Reads for enforcement (valueOf, connectionRateFor) are from memory; describe reads the store
 * itself (read()), so a describe right after an alter sees it. Writes are compare-and-put per
 * entity (a concurrent alter of the same entity through another broker is retried on top of it).
 *
 * API: QuotaStore.open({ store, root, log }), valueOf, connectionRateFor, hasClientQuotas,
 * snapshot(), read(), alter(entity, ops), onChange(cb), revision, close()
 */
import type { Logger } from 'pino';
import { encodeJson, type KeyValue, type MetadataStore, type WatchEvent } from '../../cluster/metadata-store.js';
import type { QuotaIndex } from './quota-resolver.js';
import {
  canonicalIp, decodeQuotaValues, entityOfKey, quotaKeyOf, quotasPrefix,
  type ClientQuotaKey, type QuotaEntity, type QuotaKey, type QuotaValues,
} from './quota-entity.js';

export interface QuotaRecord {
  entity: QuotaEntity;
  values: QuotaValues;
}

/** One change to an entity's quotas: a value to set, or null to remove the key. */
export interface QuotaOp {
  key: QuotaKey;
  value: number | null;
}

export interface QuotaStoreOptions {
  store: MetadataStore;
  /** MetadataKeys.root, e.g. /ferry/<cluster>/ */
  root: string;
  log?: Logger;
  /** Wait before re-listing after a lost watch. */
  relistDelayMs?: number;
}

/** Compare-and-put attempts of one alter before giving up (only concurrent alters of one entity retry). */
const ALTER_ATTEMPTS = 20;

/** A component of the in-memory index key: '' absent, \u0001 default, '=' + name. */
const part = (name: string | null | undefined) => (name === undefined ? '' : name === null ? '\u0001' : `=${name}`);
const indexKey = (user: string | null | undefined, clientId: string | null | undefined) => `${part(user)}\u0000${part(clientId)}`;

export class QuotaStore implements QuotaIndex {
  private readonly prefix: string;
  /** Store key -> record, as last seen. */
  private readonly records = new Map<string, QuotaRecord & { modRevision: number }>();
  private readonly clientIndex = new Map<string, QuotaValues>();
  /** Canonical address -> connection_creation_rate; the default ip entity separately. */
  private readonly ipIndex = new Map<string, number>();
  private defaultIpRate: number | undefined;
  private readonly listeners = new Set<() => void>();
  private cancelWatch: (() => void) | null = null;
  private relistTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** The store revision the in-memory view reflects. */
  revision = 0;

  private constructor(private readonly o: QuotaStoreOptions) {
    this.prefix = quotasPrefix(o.root);
  }

  static async open(o: QuotaStoreOptions): Promise<QuotaStore> {
    const s = new QuotaStore(o);
    await s.relist();
    return s;
  }

  /** True when some user or client-id quota exists (nothing to count otherwise). */
  get hasClientQuotas(): boolean { return this.clientIndex.size > 0; }

  valueOf(key: ClientQuotaKey, user: string | null | undefined, clientId: string | null | undefined): number | undefined {
    return this.clientIndex.get(indexKey(user, clientId))?.[key];
  }

  /** connection_creation_rate of an address: its own, else the default ip entity's; undefined: unlimited. */
  connectionRateFor(ip: string): number | undefined {
    if (this.ipIndex.size > 0) {
      const own = this.ipIndex.get(canonicalIp(ip) ?? ip);
      if (own !== undefined) return own;
    }
    return this.defaultIpRate;
  }

  /** The quotas as this broker applies them now. */
  snapshot(): QuotaRecord[] {
    return [...this.records.values()].map(({ entity, values }) => ({ entity, values: { ...values } }));
  }

  /** The quotas as stored now (read from the store, not from the followed view). */
  async read(): Promise<QuotaRecord[]> {
    const out: QuotaRecord[] = [];
    for (const kv of await this.o.store.list(this.prefix)) {
      const r = this.decode(kv);
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * Applies `ops` to one entity (validated by the caller): sets and removes keys, deleting the
   * record when no key is left. Returns the store revision after the write.
   */
  async alter(entity: QuotaEntity, ops: readonly QuotaOp[]): Promise<number> {
    const key = quotaKeyOf(this.o.root, entity);
    for (let attempt = 0; attempt < ALTER_ATTEMPTS; attempt++) {
      const kv = await this.o.store.get(key);
      const current = kv ? (this.decode(kv)?.values ?? {}) : {};
      const next: QuotaValues = { ...current };
      for (const op of ops) {
        if (op.value === null) delete next[op.key];
        else next[op.key] = op.value;
      }
      const empty = Object.keys(next).length === 0;
      if (kv === null && empty) return this.o.store.revision();
      if (kv !== null && sameValues(current, next)) return kv.modRevision;
      const res = await this.o.store.txn(
        [kv ? { key, target: 'modRevision', op: '==', value: kv.modRevision } : { key, target: 'version', op: '==', value: 0 }],
        [empty ? { type: 'delete', key } : { type: 'put', key, value: encodeJson(next) }],
      );
      if (res.succeeded) return res.revision;
    }
    throw new Error(`quota update of ${key} kept conflicting with concurrent updates`);
  }

  /** Called after every applied change (cache invalidation, metrics). Returns an unsubscribe function. */
  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  close(): void {
    this.closed = true;
    this.cancelWatch?.();
    this.cancelWatch = null;
    if (this.relistTimer) clearTimeout(this.relistTimer);
    this.listeners.clear();
  }

  private async relist(): Promise<void> {
    if (this.closed) return;
    const { kvs, revision } = await this.o.store.listWithRevision(this.prefix);
    this.records.clear();
    for (const kv of kvs) {
      const r = this.decode(kv);
      if (r) this.records.set(kv.key, { ...r, modRevision: kv.modRevision });
    }
    this.revision = revision;
    this.rebuild();
    this.cancelWatch = this.o.store.watch(this.prefix, revision + 1, (e) => this.apply(e), (err) => this.watchLost(err));
  }

  private watchLost(err: Error): void {
    if (this.closed) return;
    this.o.log?.warn({ err: err.message }, 'client quota watch lost; re-listing');
    this.cancelWatch = null;
    const retry = () => {
      this.relistTimer = null;
      this.relist().catch((e: Error) => {
        this.o.log?.warn({ err: e.message }, 'client quota re-list failed; retrying');
        if (!this.closed) this.relistTimer = setTimeout(retry, 1000).unref();
      });
    };
    this.relistTimer = setTimeout(retry, this.o.relistDelayMs ?? 500).unref();
  }

  private apply(e: WatchEvent): void {
    if (this.closed) return;
    if (e.type === 'delete') {
      this.records.delete(e.kv.key);
    } else {
      const r = this.decode(e.kv);
      if (r) this.records.set(e.kv.key, { ...r, modRevision: e.kv.modRevision });
      else this.records.delete(e.kv.key);
    }
    this.revision = Math.max(this.revision, e.kv.modRevision);
    this.rebuild();
  }

  /** Quota records are few (one per configured entity): rebuilding the indexes on each change is cheap. */
  private rebuild(): void {
    this.clientIndex.clear();
    this.ipIndex.clear();
    this.defaultIpRate = undefined;
    for (const { entity, values } of this.records.values()) {
      if (entity.ip !== undefined) {
        const rate = values.connection_creation_rate;
        if (rate === undefined) continue;
        if (entity.ip === null) this.defaultIpRate = rate;
        else this.ipIndex.set(canonicalIp(entity.ip) ?? entity.ip, rate);
      } else {
        this.clientIndex.set(indexKey(entity.user, entity.clientId), values);
      }
    }
    for (const cb of this.listeners) {
      try { cb(); } catch (err) { this.o.log?.warn({ err }, 'client quota listener failed'); }
    }
  }

  private decode(kv: KeyValue): QuotaRecord | null {
    const entity = entityOfKey(this.prefix, kv.key);
    if (entity === null) return null;
    let raw: unknown;
    try {
      raw = JSON.parse(kv.value.toString('utf8'));
    } catch {
      this.o.log?.warn({ key: kv.key }, 'client quota record is not JSON; ignored');
      return null;
    }
    return { entity, values: decodeQuotaValues(raw) };
  }
}

function sameValues(a: QuotaValues, b: QuotaValues): boolean {
  const ka = Object.keys(a) as QuotaKey[];
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
