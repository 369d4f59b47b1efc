import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetMap, OFFSET_MAP_SLOT_BYTES } from '../../src/cleaner/offset-map.js';

test('the offset map keeps the latest offset per key and refuses to overfill', () => {
  const m = new OffsetMap(100 * OFFSET_MAP_SLOT_BYTES);
  assert.equal(m.slots, 100);
  assert.equal(m.capacity, 90);
  assert.equal(m.get(Buffer.from('a')), -1);
  m.put(Buffer.from('a'), 1);
  m.put(Buffer.from('b'), 2);
  m.put(Buffer.from('a'), 7);
  assert.equal(m.get(Buffer.from('a')), 7);
  assert.equal(m.get(Buffer.from('b')), 2);
  assert.equal(m.size, 2);
  assert.throws(() => m.put(Buffer.from('a'), 3), /must grow/);
  for (let i = 0; i < 88; i++) m.put(Buffer.from(`k${i}`), 100 + i);
  assert.equal(m.size, 90);
  assert.equal(m.wouldFit(1), false);
  assert.throws(() => m.put(Buffer.from('new'), 500), /full/);
  // Every key still found after heavy probing.
  for (let i = 0; i < 88; i++) assert.equal(m.get(Buffer.from(`k${i}`)), 100 + i);
  m.clear();
  assert.equal(m.size, 0);
  assert.equal(m.get(Buffer.from('a')), -1);
});

test('an empty key is a key; the map needs room for at least one', () => {
  const m = new OffsetMap(10 * OFFSET_MAP_SLOT_BYTES);
  m.put(Buffer.alloc(0), 5);
  assert.equal(m.get(Buffer.alloc(0)), 5);
  assert.throws(() => new OffsetMap(OFFSET_MAP_SLOT_BYTES), /holds no key/);
});
