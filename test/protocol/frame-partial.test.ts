// FrameDecoder holds what has arrived of an incomplete frame, never the size its prefix declares.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FrameDecoder, encodeFrame } from '../../src/protocol/frame.js';

function prefix(size: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(size, 0);
  return b;
}

describe('FrameDecoder with incomplete frames', () => {
  test('a frame declaring 50 MB with 100 bytes sent holds about 100 bytes, not 50 MB', () => {
    const declared = 50 * 1024 * 1024;
    const d = new FrameDecoder({ frameBytesMax: 100 * 1024 * 1024 });
    const before = process.memoryUsage().arrayBuffers;
    const held: FrameDecoder[] = [];
    // Ten of them: an up-front allocation would show as 500 MB.
    for (let i = 0; i < 10; i++) {
      const di = new FrameDecoder({ frameBytesMax: 100 * 1024 * 1024 });
      assert.deepEqual(di.push(Buffer.concat([prefix(declared), randomBytes(100)])), []);
      held.push(di);
    }
    const grew = process.memoryUsage().arrayBuffers - before;
    assert.ok(grew < 8 * 1024 * 1024, `ten 50 MB frames with 100 bytes each grew array buffers by ${grew} bytes`);
    for (const di of held) {
      assert.equal(di.bufferedBytes, 100);
      assert.equal(di.incompleteFrameBytes, 4 + declared);
    }
    assert.equal(d.incompleteFrameBytes, 0);
  });

  test('a frame trickled one byte at a time comes out whole, and the decoder is then empty', () => {
    const payload = randomBytes(70_000);
    const stream = encodeFrame(payload);
    const d = new FrameDecoder({ frameBytesMax: 100_000 });
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      out.push(...d.push(stream.subarray(i, i + 1)));
      // The prefix counts while split; once read, only payload bytes are held.
      if (i < stream.length - 1) assert.equal(d.bufferedBytes, i < 3 ? i + 1 : i + 1 - 4);
    }
    assert.equal(out.length, 1);
    assert.ok(out[0]!.equals(payload));
    assert.equal(d.bufferedBytes, 0);
    assert.equal(d.incompleteFrameBytes, 0);
  });

  test('large and small pieces mixed assemble in order; large pieces are not copied until the end', () => {
    const payload = randomBytes(300_000);
    const stream = Buffer.concat([encodeFrame(payload), encodeFrame(Buffer.from('next'))]);
    const cuts = [3, 1, 40_000, 7, 7, 100, 65_536, 2, 20_000, 150_000];
    const d = new FrameDecoder({ frameBytesMax: 1_000_000 });
    const out: Buffer[] = [];
    let pos = 0;
    for (const n of cuts) {
      out.push(...d.push(stream.subarray(pos, pos + n)));
      pos += n;
    }
    out.push(...d.push(stream.subarray(pos)));
    assert.deepEqual(out.map((b) => b.length), [300_000, 4]);
    assert.ok(out[0]!.equals(payload));
    assert.equal(String(out[1]), 'next');
  });

  test('incompleteFrameBytes: 4 for a split prefix, the declared size once known, 0 between frames', () => {
    const d = new FrameDecoder({ frameBytesMax: 1000 });
    d.push(Buffer.from([0, 0]));
    assert.equal(d.incompleteFrameBytes, 4);
    d.push(Buffer.from([0, 10, 1, 2]));
    assert.equal(d.incompleteFrameBytes, 14);
    assert.equal(d.bufferedBytes, 2);
    const frames = d.push(Buffer.alloc(8, 9));
    assert.equal(frames.length, 1);
    assert.equal(d.incompleteFrameBytes, 0);
  });

  test('reset drops the incomplete frame', () => {
    const d = new FrameDecoder({ frameBytesMax: 1000 });
    d.push(Buffer.concat([prefix(500), Buffer.alloc(100)]));
    d.reset();
    assert.equal(d.bufferedBytes, 0);
    assert.equal(d.incompleteFrameBytes, 0);
    assert.equal(String(d.push(encodeFrame(Buffer.from('ok')))[0]), 'ok');
  });
});
