// The registry's parsed-schema cache: least recently used out, bounded by schema text length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParsedSchemaCache } from '../../src/schema/parsed-schema-cache.js';
import type { ParsedSchema } from '../../src/schema/schema-format.js';

const parsed = (name: string) => ({ canonical: name }) as unknown as ParsedSchema;

test('entries past the text bound go least recently used first; a hit makes an entry recent', () => {
  const cache = new ParsedSchemaCache(3072);
  cache.set(1, parsed('a'), 1024);
  cache.set(2, parsed('b'), 1024);
  cache.set(3, parsed('c'), 1024);
  assert.equal(cache.get(1)?.canonical, 'a');
  cache.set(4, parsed('d'), 1024); // evicts 2, the least recently used
  assert.equal(cache.get(2), undefined);
  assert.deepEqual([1, 3, 4].map((id) => cache.get(id)?.canonical), ['a', 'c', 'd']);
  cache.set(5, parsed('e'), 2500); // needs room for 2500: evicts 1, 3 and 4
  assert.equal(cache.size, 1);
  assert.equal(cache.get(5)?.canonical, 'e');
});

test('tiny schemas count 1 KiB each; one larger than the bound is not kept; setting an id again replaces it', () => {
  const cache = new ParsedSchemaCache(4096);
  for (let id = 0; id < 10; id++) cache.set(id, parsed(`s${id}`), 10);
  assert.equal(cache.size, 4);
  cache.set(100, parsed('huge'), 5000);
  assert.equal(cache.get(100), undefined);
  assert.equal(cache.size, 4, 'a schema over the bound evicts nothing');
  cache.set(9, parsed('again'), 10);
  assert.equal(cache.get(9)?.canonical, 'again');
  assert.equal(cache.size, 4);
});
