/**
 * Parsed schemas by id, least recently used first out, bounded by the length of the schema texts
 * they were parsed from (a parsed schema is a few times its text). Ids never change their schema,
 * so an entry is never stale; one evicted is parsed again when next asked for.
 */
import type { ParsedSchema } from './schema-format.js';

/** Schema text the cache may stand for: 32 MiB of schemas, some ten times that parsed at most. */
export const PARSED_SCHEMA_CACHE_TEXT_BYTES = 32 * 1024 * 1024;
/** What an entry counts for at least, so many tiny schemas are bounded too. */
const ENTRY_WEIGHT_MIN = 1024;

export class ParsedSchemaCache {
  private readonly entries = new Map<number, { parsed: ParsedSchema; weight: number }>();
  private weight = 0;

  constructor(private readonly maxWeight = PARSED_SCHEMA_CACHE_TEXT_BYTES) {}

  get size(): number { return this.entries.size; }

  get(id: number): ParsedSchema | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    this.entries.delete(id);
    this.entries.set(id, e);
    return e.parsed;
  }

  /** Keeps it unless its text alone is over the bound (then it is parsed on every use). */
  set(id: number, parsed: ParsedSchema, textLength: number): void {
    const weight = Math.max(textLength, ENTRY_WEIGHT_MIN);
    const old = this.entries.get(id);
    if (old) { this.entries.delete(id); this.weight -= old.weight; }
    if (weight > this.maxWeight) return;
    this.entries.set(id, { parsed, weight });
    this.weight += weight;
    for (const [oldest, e] of this.entries) {
      if (this.weight <= this.maxWeight) break;
      this.entries.delete(oldest);
      this.weight -= e.weight;
    }
  }
}
