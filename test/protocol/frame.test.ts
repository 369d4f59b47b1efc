import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, FrameTooLargeError, encodeFrame, frameWriter, FRAME_BYTES_MAX_DEFAULT } from '../../src/protocol/frame.js';

describe('FrameDecoder', () => {
  test('frames split at arbitrary points come out whole and in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => encodeFrame(Buffer.from(p))));
          const d = new FrameDecoder({ frameBytesMax: 1000 });
          const out: Buffer[] = [];
          let pos = 0;
          let i = 0;
          while (pos < stream.length) {
            const n = cuts[i++ % cuts.length]!;
            out.push(...d.push(stream.subarray(pos, pos + n)));
            pos += n;
          }
          assert.deepEqual(out.map((b) => Buffer.from(b)), payloads.map((p) => Buffer.from(p)));
          assert.equal(d.bufferedBytes, 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('many frames in one chunk are views, not copies', () => {
    const chunk = Buffer.concat([encodeFrame(Buffer.from('abc')), encodeFrame(Buffer.from('')), encodeFrame(Buffer.from('xy'))]);
    const frames = new FrameDecoder().push(chunk);
    assert.deepEqual(frames.map(String), ['abc', '', 'xy']);
    assert.equal(frames[0]!.buffer, chunk.buffer);
  });

  test('a 2 GiB length prefix throws before any allocation', () => {
    const d = new FrameDecoder();
    assert.equal(d.frameBytesMax, FRAME_BYTES_MAX_DEFAULT);
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(() => d.push(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0])), FrameTooLargeError);
    assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
  });

  test('a negative size throws', () => {
    assert.throws(() => new FrameDecoder().push(Buffer.from([0xff, 0xff, 0xff, 0xfe])), (e: unknown) => e instanceof FrameTooLargeError && e.sizeBytes === -2);
  });

  test('the limit applies to split prefixes too, and exactly-at-limit passes', () => {
    const d = new FrameDecoder({ frameBytesMax: 10 });
    assert.deepEqual(d.push(Buffer.from([0, 0])), []);
    assert.throws(() => d.push(Buffer.from([0, 11])), FrameTooLargeError);
    const ok = new FrameDecoder({ frameBytesMax: 10 });
    assert.equal(ok.push(encodeFrame(Buffer.alloc(10, 7)))[0]!.length, 10);
  });

  test('frameWriter patches the size prefix, also with large zero-copy payloads', () => {
    const big = Buffer.alloc(100_000, 1);
    const w = frameWriter((w) => {
      w.int32(42);
      w.raw(big);
      w.int16(7);
    });
    const bytes = w.toBuffer();
    assert.equal(bytes.readInt32BE(0), bytes.length - 4);
    assert.equal(bytes.length, 4 + 4 + big.length + 2);
    const chunks = w.toChunks();
    assert.ok(chunks.includes(big), 'the large payload is passed by reference');
    assert.deepEqual(new FrameDecoder({ frameBytesMax: 200_000 }).push(bytes)[0], bytes.subarray(4));
  });
});
