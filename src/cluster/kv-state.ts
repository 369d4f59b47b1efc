// In-memory key-value state with etcd's per-key revisions: a map plus a key array kept sorted in
// UTF-8 byte order for prefix range reads, and an index of keys per lease. No I/O, no durability:
// the local store journals the KeyChange lists it applies here.
//
// API: class KvState { revision; get(key); range(prefix); size; entries(); apply(revision, changes, onPrior?);
//                      keysOfLease(leaseId); leaseIds(); evaluate(compare) }

import assert from 'node:assert/strict';
import { compareKeys, type Compare, type KeyValue, type WatchEvent } from './metadata-store.js';
import type { KeyChange } from './local-store-format.js';

export class KvState {
  private readonly map = new Map<string, KeyValue>();
  private readonly sorted: string[] = [];
  private readonly byLease = new Map<string, Set<string>>();

  constructor(public revision: number, initial: Iterable<KeyValue> = []) {
    for (const kv of initial) {
      assert.ok(!this.map.has(kv.key), `duplicate key ${kv.key} in initial state`);
      this.map.set(kv.key, kv);
      this.sorted.push(kv.key);
      if (kv.leaseId !== undefined) this.bindLease(kv.key, kv.leaseId);
    }
    this.sorted.sort(compareKeys);
  }

  get size(): number { return this.map.size; }

  get(key: string): KeyValue | undefined { return this.map.get(key); }

  /** Every key-value with this prefix, in key order. */
  range(prefix: string): KeyValue[] {
    const out: KeyValue[] = [];
    for (let i = this.lowerBound(prefix); i < this.sorted.length; i++) {
      const key = this.sorted[i]!;
      if (!key.startsWith(prefix)) break;
      out.push(this.map.get(key)!);
    }
    return out;
  }

  /** Keys with this prefix, in key order. */
  keysWithPrefix(prefix: string): string[] {
    const out: string[] = [];
    for (let i = this.lowerBound(prefix); i < this.sorted.length; i++) {
      const key = this.sorted[i]!;
      if (!key.startsWith(prefix)) break;
      out.push(key);
    }
    return out;
  }

  *entries(): IterableIterator<KeyValue> {
    for (const key of this.sorted) yield this.map.get(key)!;
  }

  keysOfLease(leaseId: string): string[] {
    return [...(this.byLease.get(leaseId) ?? [])];
  }

  leaseIds(): string[] { return [...this.byLease.keys()]; }

  /** etcd compare semantics: a value compare on a missing key is false; other targets of a missing key are 0. */
  evaluate(c: Compare): boolean {
    const kv = this.map.get(c.key);
    if (c.target === 'value') {
      if (kv === undefined) return false;
      return holds(Buffer.compare(kv.value, c.value as Buffer), c.op);
    }
    const actual = kv === undefined ? 0 : kv[c.target];
    const expected = c.value as number;
    return holds(actual < expected ? -1 : actual > expected ? 1 : 0, c.op);
  }

  /**
   * Applies the changes of one revision. onPrior is told each key's value before its first change
   * (null if it did not exist), so the caller can keep the durable view while a write is in flight.
   * Returns the watch events.
   */
  apply(revision: number, changes: readonly KeyChange[], onPrior?: (key: string, prior: KeyValue | null) => void): WatchEvent[] {
    assert.equal(revision, this.revision + 1, `revision ${revision} applied on top of ${this.revision}`);
    const events: WatchEvent[] = [];
    for (const c of changes) {
      const prior = this.map.get(c.key);
      onPrior?.(c.key, prior ?? null);
      if (c.type === 'put') {
        const kv: KeyValue = prior === undefined
          ? { key: c.key, value: c.value, createRevision: revision, modRevision: revision, version: 1 }
          : { key: c.key, value: c.value, createRevision: prior.createRevision, modRevision: revision, version: prior.version + 1 };
        if (c.leaseId !== undefined) kv.leaseId = c.leaseId;
        if (prior?.leaseId !== undefined) this.unbindLease(c.key, prior.leaseId);
        if (kv.leaseId !== undefined) this.bindLease(c.key, kv.leaseId);
        if (prior === undefined) this.insertSorted(c.key);
        this.map.set(c.key, kv);
        events.push({ type: 'put', kv });
      } else {
        // A delete of a missing key is not a change; the store does not record such deletes.
        assert.ok(prior !== undefined, `delete of missing key ${c.key} recorded at revision ${revision}`);
        if (prior.leaseId !== undefined) this.unbindLease(c.key, prior.leaseId);
        this.map.delete(c.key);
        this.removeSorted(c.key);
        events.push({ type: 'delete', kv: { key: c.key, value: Buffer.alloc(0), createRevision: 0, modRevision: revision, version: 0 } });
      }
    }
    this.revision = revision;
    return events;
  }

  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.sorted[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insertSorted(key: string): void {
    const i = this.lowerBound(key);
    assert.notEqual(this.sorted[i], key);
    this.sorted.splice(i, 0, key);
  }

  private removeSorted(key: string): void {
    const i = this.lowerBound(key);
    assert.equal(this.sorted[i], key);
    this.sorted.splice(i, 1);
  }

  private bindLease(key: string, leaseId: string): void {
    let keys = this.byLease.get(leaseId);
    if (!keys) this.byLease.set(leaseId, (keys = new Set()));
    keys.add(key);
  }

  private unbindLease(key: string, leaseId: string): void {
    const keys = this.byLease.get(leaseId);
    keys?.delete(key);
    if (keys?.size === 0) this.byLease.delete(leaseId);
  }
}

function holds(cmp: number, op: Compare['op']): boolean {
  switch (op) {
    case '==': return cmp === 0;
    case '!=': return cmp !== 0;
    case '<': return cmp < 0;
    case '>': return cmp > 0;
  }
}
