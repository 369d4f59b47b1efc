// Durable producer-id allocation for idempotent producers (InitProducerId). The store key
// `producer-ids` holds the start of the next free block; a broker takes a block of blockSize ids
// with a compare on the key's modRevision (create-if-absent the first time), then hands the ids
// out from memory. Ids of a block taken but not used before a restart are skipped, never reused.
//
// API: new ProducerIdAllocator(store, { clusterName, blockSize? = 1000 })
//      next(): Promise<bigint>   (calls may overlap; each gets a distinct id)
//      ProducerIdsExhaustedError

import assert from 'node:assert/strict';
import { decodeJson, encodeJson, type Compare, type MetadataStore } from './metadata-store.js';
import { MetadataKeys } from './metadata-keys.js';

/** Producer ids are int64 in the protocol; keep them exact as JSON numbers. */
const PRODUCER_ID_MAX = Number.MAX_SAFE_INTEGER;
const CAS_ATTEMPTS_MAX = 100;

export class ProducerIdsExhaustedError extends Error {
  readonly code = 'PRODUCER_IDS_EXHAUSTED';
  constructor() { super('no producer ids left'); this.name = 'ProducerIdsExhaustedError'; }
}

export class ProducerIdAllocator {
  private readonly key: string;
  private readonly blockSize: number;
  private nextId = 0;
  private blockEnd = 0;
  /** Serializes block allocation so overlapping next() calls do not take two blocks. */
  private refill: Promise<void> | null = null;

  constructor(private readonly store: MetadataStore, options: { clusterName: string; blockSize?: number }) {
    this.key = new MetadataKeys(options.clusterName).producerIds();
    this.blockSize = options.blockSize ?? 1000;
    assert.ok(Number.isSafeInteger(this.blockSize) && this.blockSize > 0, 'blockSize must be a positive integer');
  }

  async next(): Promise<bigint> {
    while (this.nextId >= this.blockEnd) {
      this.refill ??= this.takeBlock().finally(() => { this.refill = null; });
      await this.refill;
    }
    return BigInt(this.nextId++);
  }

  private async takeBlock(): Promise<void> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS_MAX; attempt++) {
      const kv = await this.store.get(this.key);
      const start = kv ? decodeJson<{ nextBlockStart: number }>(kv.value, this.key).nextBlockStart : 0;
      assert.ok(Number.isSafeInteger(start) && start >= 0, `${this.key} holds a bad block start ${start}`);
      const end = start + this.blockSize;
      if (end > PRODUCER_ID_MAX) throw new ProducerIdsExhaustedError();
      const guard: Compare = kv
        ? { key: this.key, target: 'modRevision', op: '==', value: kv.modRevision }
        : { key: this.key, target: 'createRevision', op: '==', value: 0 };
      const r = await this.store.txn([guard], [{ type: 'put', key: this.key, value: encodeJson({ nextBlockStart: end }) }]);
      if (r.succeeded) {
        this.nextId = start;
        this.blockEnd = end;
        return;
      }
    }
    throw new Error(`producer id block allocation: gave up after ${CAS_ATTEMPTS_MAX} conflicting attempts`);
  }
}
