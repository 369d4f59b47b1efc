/**
 * Key -> offset of its latest record, in memory fixed at construction (Kafka's SkimpyOffsetMap):
 * each slot is the key's MD5 (16 bytes) and an offset (8 bytes); open addressing with linear
 * probing, filled to at most `loadFactor` of the slots. Only hashes are kept, never keys, so a
 * partition with more keys than fit is cleaned in several passes (the caller stops indexing when
 * `wouldFit` says no).
 */
import * as crypto from 'node:crypto';
import { assert } from '../common/assert.js';

const HASH_BYTES = 16;
export const OFFSET_MAP_SLOT_BYTES = HASH_BYTES + 8;

type HashFn = (key: Buffer) => Buffer;
// crypto.hash (Node >= 20.12) is about twice as fast as createHash for short keys.
const oneShot = (crypto as { hash?: (alg: string, data: Buffer, enc: 'buffer') => Buffer }).hash;
const md5: HashFn = oneShot ? (k) => oneShot('md5', k, 'buffer') : (k) => crypto.createHash('md5').update(k).digest();

export class OffsetMap {
  readonly slots: number;
  /** Most keys held before the map counts as full. */
  readonly capacity: number;
  private readonly hashes: Buffer;
  private readonly offsets: Float64Array;
  private used = 0;
  /** Probes beyond the first slot (for stats: a high number means clustering). */
  collisions = 0;

  constructor(memoryBytes: number, loadFactor = 0.9) {
    assert(loadFactor > 0 && loadFactor < 1, 'offset map load factor must be in (0, 1)');
    this.slots = Math.floor(memoryBytes / OFFSET_MAP_SLOT_BYTES);
    assert(this.slots >= 2, `offset map of ${memoryBytes} bytes holds no key`);
    this.capacity = Math.max(1, Math.floor(this.slots * loadFactor));
    this.hashes = Buffer.alloc(this.slots * HASH_BYTES);
    this.offsets = new Float64Array(this.slots).fill(-1);
  }

  get size(): number { return this.used; }

  /** Whether `n` more keys surely fit (counting each as new). */
  wouldFit(n: number): boolean { return this.used + n <= this.capacity; }

  /** Records are indexed in offset order, so a put always holds the newest offset of its key. */
  put(key: Buffer, offset: number): void {
    const h = md5(key);
    const slot = this.find(h);
    if (this.offsets[slot] < 0) {
      assert(this.used < this.capacity, 'offset map is full');
      h.copy(this.hashes, slot * HASH_BYTES);
      this.used++;
    } else {
      assert(offset >= this.offsets[slot], `offset map: offsets of a key must grow (${offset} after ${this.offsets[slot]})`);
    }
    this.offsets[slot] = offset;
  }

  /** The latest offset indexed for `key`, or -1. */
  get(key: Buffer): number {
    return this.offsets[this.find(md5(key))];
  }

  clear(): void {
    this.hashes.fill(0);
    this.offsets.fill(-1);
    this.used = 0;
    this.collisions = 0;
  }

  /** The slot holding `h`, or the empty slot where it would go. */
  private find(h: Buffer): number {
    let slot = h.readUInt32BE(0) % this.slots;
    const a = h.readUInt32BE(4), b = h.readUInt32BE(8), c = h.readUInt32BE(12), d = h.readUInt32BE(0);
    for (;;) {
      if (this.offsets[slot] < 0) return slot;
      const at = slot * HASH_BYTES;
      if (this.hashes.readUInt32BE(at) === d && this.hashes.readUInt32BE(at + 4) === a
        && this.hashes.readUInt32BE(at + 8) === b && this.hashes.readUInt32BE(at + 12) === c) return slot;
      this.collisions++;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
  }
}
