/**
 * Parsed schemas by id, bounded by the length of the schema texts they were parsed from (a parsed
 * schema is a few times its text), least recently used out first. Ids never change their schema,
 * so an entry is never stale; one evicted is parsed again when next asked for.
 */
import { WeightedLru } from '../common/weighted-lru.js';
import type { ParsedSchema } from './schema-format.js';

/** Schema text the cache may stand for: 32 MiB of schemas, some ten times that parsed at most. */
export const PARSED_SCHEMA_CACHE_TEXT_BYTES = 32 * 1024 * 1024;
/** What an entry counts for at least, so many tiny schemas are bounded too. */
const ENTRY_WEIGHT_MIN = 1024;

export class ParsedSchemaCache {
  private readonly lru: WeightedLru<number, ParsedSchema>;

  constructor(maxWeight = PARSED_SCHEMA_CACHE_TEXT_BYTES) { this.lru = new WeightedLru(maxWeight); }

  get size(): number { return this.lru.size; }

  get(id: number): ParsedSchema | undefined { return this.lru.get(id); }

  /** Keeps it unless its text alone is over the bound (then it is parsed on every use). */
  set(id: number, parsed: ParsedSchema, textLength: number): void {
    this.lru.set(id, parsed, Math.max(textLength, ENTRY_WEIGHT_MIN));
  }
}
