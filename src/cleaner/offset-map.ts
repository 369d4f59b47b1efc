/**
 * Key -> offset of its latest record, in memory fixed at construction (Kafka's SkimpyOffsetMap):
 * each slot is a 128-bit hash of the key (16 bytes) and an offset (8 bytes); open addressing with
 * linear probing, filled to at most `loadFactor` of the slots. Only hashes are kept, never keys,
 * so a partition with more keys than fit is cleaned in several passes (the caller stops indexing
 * when `wouldFit` says no). The hash is SipHash-2-4-128 under a key drawn for each map (Kafka
 * uses MD5, where colliding keys can be made on purpose).
 */
import { randomBytes } from 'node:crypto';
import { assert } from '../common/assert.js';
import { sipHash, sipKeyOf, type SipKey } from './siphash.js';

const HASH_WORDS = 4;
export const OFFSET_MAP_SLOT_BYTES = HASH_WORDS * 4 + 8;

export class OffsetMap {
  readonly slots: number;
  /** Most keys held before the map counts as full. */
  readonly capacity: number;
  private readonly hashes: Uint32Array;
  private readonly offsets: Float64Array;
  private readonly secret: SipKey = sipKeyOf(randomBytes(16));
  private readonly h = new Uint32Array(HASH_WORDS);
  private used = 0;
  /** Probes beyond the first slot (for stats: a high number means clustering). */
  collisions = 0;

  constructor(memoryBytes: number, loadFactor = 0.9) {
    assert(loadFactor > 0 && loadFactor < 1, 'offset map load factor must be in (0, 1)');
    this.slots = Math.floor(memoryBytes / OFFSET_MAP_SLOT_BYTES);
    assert(this.slots >= 2, `offset map of ${memoryBytes} bytes holds no key`);
    this.capacity = Math.max(1, Math.floor(this.slots * loadFactor));
    this.hashes = new Uint32Array(this.slots * HASH_WORDS);
    this.offsets = new Float64Array(this.slots).fill(-1);
  }

  get size(): number { return this.used; }

  /** Whether `n` more keys surely fit (counting each as new). */
  wouldFit(n: number): boolean { return this.used + n <= this.capacity; }

  /** Records are indexed in offset order, so a put always holds the newest offset of its key. */
  put(key: Buffer, offset: number): void {
    const slot = this.find(key);
    if (this.offsets[slot] < 0) {
      assert(this.used < this.capacity, 'offset map is full');
      this.hashes.set(this.h, slot * HASH_WORDS);
      this.used++;
    } else {
      assert(offset >= this.offsets[slot], `offset map: offsets of a key must grow (${offset} after ${this.offsets[slot]})`);
    }
    this.offsets[slot] = offset;
  }

  /** The latest offset indexed for `key`, or -1. */
  get(key: Buffer): number {
    return this.offsets[this.find(key)];
  }

  clear(): void {
    this.hashes.fill(0);
    this.offsets.fill(-1);
    this.used = 0;
    this.collisions = 0;
  }

  /** The slot holding `key`'s hash (left in this.h), or the empty slot where it would go. */
  private find(key: Buffer): number {
    const h = this.h;
    sipHash(this.secret, key, h);
    const a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!;
    let slot = a % this.slots;
    for (;;) {
      if (this.offsets[slot] < 0) return slot;
      const at = slot * HASH_WORDS;
      if (this.hashes[at] === a && this.hashes[at + 1] === b && this.hashes[at + 2] === c && this.hashes[at + 3] === d) return slot;
      this.collisions++;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
  }
}
