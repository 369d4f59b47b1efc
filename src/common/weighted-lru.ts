/**
 * A map bounded by the summed weight of its entries (bytes, or 1 each for a count), least recently
 * used out first. Map order is recency order: the first entry is the least recently used.
 */
export class WeightedLru<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private total = 0;

  constructor(private readonly maxWeight: number) {
    if (!(maxWeight > 0)) throw new RangeError(`maxWeight must be positive, got ${maxWeight}`);
  }

  get size(): number { return this.entries.size; }
  get weight(): number { return this.total; }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  /** Keeps it as the most recently used, evicting the least recent past the bound; an entry
   * heavier than the bound on its own is not kept (and evicts nothing). */
  set(key: K, value: V, weight = 1): void {
    const old = this.entries.get(key);
    if (old) { this.entries.delete(key); this.total -= old.weight; }
    if (weight > this.maxWeight) return;
    this.entries.set(key, { value, weight });
    this.total += weight;
    for (const [oldest, e] of this.entries) {
      if (this.total <= this.maxWeight) break;
      this.entries.delete(oldest);
      this.total -= e.weight;
    }
  }
}
