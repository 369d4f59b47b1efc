import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRecordHeader, decodeSlot, encodeSlot, writeRecordHeader, type HeaderState } from '../src/format.js';

const header: HeaderState = {
  generation: 7n, capacityBytes: 1 << 20, ringBytes: (1 << 20) - 8192, trimOffset: 123456n, epoch: 9,
  nodeId: 'bröker-1', formatId: 0xdeadbeef,
};

describe('header slot codec', () => {
  test('round-trips every field', () => {
    const d = decodeSlot(encodeSlot(header));
    assert.deepEqual(d, { kind: 'valid', header });
  });

  test('classifies zero, foreign and corrupt slots', () => {
    assert.equal(decodeSlot(Buffer.alloc(4096)).kind, 'zero');
    assert.equal(decodeSlot(Buffer.alloc(4096, 0x41)).kind, 'foreign');
    const b = encodeSlot(header);
    for (const at of [9, 20, 44, 60, 4000, 4095]) {
      const c = Buffer.from(b);
      c[at]! ^= 0x10;
      assert.equal(decodeSlot(c).kind, 'corrupt', `flip at ${at}`);
    }
  });

  test('refuses to encode a node id over 255 bytes', () => {
    assert.throws(() => encodeSlot({ ...header, nodeId: 'x'.repeat(256) }), /node id/);
  });
});

describe('record header codec', () => {
  const b = Buffer.alloc(64);
  writeRecordHeader(b, 8, { bodyLength: 100, offset: 4096n, epoch: 3, type: 5, flags: 1, bodyCrc: 42 }, 77);

  test('accepts its own header at the expected offset', () => {
    const r = checkRecordHeader(b, 8, 4096n, 1000, 77);
    assert.deepEqual(r, { ok: true, header: { bodyLength: 100, offset: 4096n, epoch: 3, type: 5, flags: 1, bodyCrc: 42 } });
  });

  test('rejects another lap, another format, an oversized body and every single bit flip', () => {
    assert.equal(checkRecordHeader(b, 8, 4096n + 65536n, 1000, 77).ok, false);
    assert.equal(checkRecordHeader(b, 8, 4096n, 1000, 78).ok, false);
    assert.equal(checkRecordHeader(b, 8, 4096n, 99, 77).ok, false);
    for (let bit = 0; bit < 32 * 8; bit++) {
      const c = Buffer.from(b);
      c[8 + (bit >> 3)]! ^= 1 << (bit & 7);
      assert.equal(checkRecordHeader(c, 8, 4096n, 1000, 77).ok, false, `bit ${bit}`);
    }
  });
});
