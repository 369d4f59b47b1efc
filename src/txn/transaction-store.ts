// The transaction coordinator's durable state: one JSON record per transactional id at
// MetadataKeys.transaction(id). Every write is a compare on the key's modRevision as last read
// (create-if-absent for a new id), so a coordinator whose view is stale (another broker took the
// id over) fails its write instead of overwriting. Records are checked before every write
// (checkTransition asserts) and after every read (a bad value is a MetadataStoreError, never a
// half-trusted record).
//
// API: new TransactionStore(store, clusterName)
//      get(id) -> StoredTxn | null;  list() -> { entries, revision }
//      put(next, prev | null) -> StoredTxn | null (null: the compare failed)
//      delete(prev) -> boolean (false: the compare failed)
//      keyFits(id) (false for ids whose key the store would reject)
//      type StoredTxn { record, modRevision }

import { ETCD_LIMITS, MetadataStoreError, decodeJson, encodeJson, type Compare, type KeyValue, type MetadataStore } from '../cluster/metadata-store.js';
import { MetadataKeys } from '../cluster/metadata-keys.js';
import { checkTransition, recordProblem, type TxnRecord } from './transaction-metadata.js';

const FORMAT_VERSION = 1;

export interface StoredTxn {
  readonly record: TxnRecord;
  /** The key's modRevision when read or written: the compare of the next write. */
  readonly modRevision: number;
}

type StoredValue = TxnRecord & { v: number };

export class TransactionStore {
  private readonly keys: MetadataKeys;

  constructor(private readonly store: MetadataStore, clusterName: string) {
    this.keys = new MetadataKeys(clusterName);
  }

  /** False for ids whose key exceeds ETCD_LIMITS.keyBytesMax (the store would reject it). */
  keyFits(transactionalId: string): boolean {
    return Buffer.byteLength(this.keys.transaction(transactionalId), 'utf8') <= ETCD_LIMITS.keyBytesMax;
  }

  async get(transactionalId: string): Promise<StoredTxn | null> {
    const kv = await this.store.get(this.keys.transaction(transactionalId));
    return kv ? this.decode(kv, transactionalId) : null;
  }

  /** Every record, with the store revision the listing reflects. */
  async list(): Promise<{ entries: StoredTxn[]; revision: number; bad: { key: string; error: Error }[] }> {
    const prefix = this.keys.transactionsPrefix();
    const { kvs, revision } = await this.store.listWithRevision(prefix);
    const entries: StoredTxn[] = [];
    const bad: { key: string; error: Error }[] = [];
    for (const kv of kvs) {
      try {
        entries.push(this.decode(kv, decodeURIComponent(kv.key.slice(prefix.length))));
      } catch (err) {
        bad.push({ key: kv.key, error: err as Error });
      }
    }
    return { entries, revision, bad };
  }

  /** Compare-and-put of next over prev (null: create if absent). Null when the compare failed. */
  async put(next: TxnRecord, prev: StoredTxn | null): Promise<StoredTxn | null> {
    checkTransition(prev?.record ?? null, next);
    const key = this.keys.transaction(next.transactionalId);
    const guard: Compare = prev
      ? { key, target: 'modRevision', op: '==', value: prev.modRevision }
      : { key, target: 'createRevision', op: '==', value: 0 };
    const value: StoredValue = { v: FORMAT_VERSION, ...next };
    const r = await this.store.txn([guard], [{ type: 'put', key, value: encodeJson(value) }]);
    // One put bumps the revision by exactly one and gives the key that revision.
    return r.succeeded ? { record: next, modRevision: r.revision } : null;
  }

  /** Compare-and-delete (an expired id). False when the compare failed. */
  async delete(prev: StoredTxn): Promise<boolean> {
    const key = this.keys.transaction(prev.record.transactionalId);
    const r = await this.store.txn([{ key, target: 'modRevision', op: '==', value: prev.modRevision }], [{ type: 'delete', key }]);
    return r.succeeded;
  }

  private decode(kv: KeyValue, transactionalId: string): StoredTxn {
    const value = decodeJson<StoredValue>(kv.value, kv.key);
    if (typeof value !== 'object' || value === null || value.v !== FORMAT_VERSION) {
      throw new MetadataStoreError('METADATA_BAD_VALUE', `${kv.key}: unknown transaction record format ${String((value as StoredValue | null)?.v)}`);
    }
    const { v: _v, ...record } = value;
    const problem = recordProblem(record);
    if (problem !== null) throw new MetadataStoreError('METADATA_BAD_VALUE', `${kv.key}: ${problem}`);
    if (record.transactionalId !== transactionalId) {
      throw new MetadataStoreError('METADATA_BAD_VALUE', `${kv.key}: holds the record of ${JSON.stringify(record.transactionalId)}`);
    }
    return { record, modRevision: kv.modRevision };
  }
}
