// The batch codecs: round trips, data made by other implementations (the gzip, zstd and lz4 tools,
// python-snappy and kafka-python's snappy-java framing), output those tools read back, the maxBytes
// guard (zip bombs stop early), and corrupt input.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { CompressionError, compress, decompress, loadCompressionCodecs, xxh32 } from '../../src/protocol/compression.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { requirePythonModules, requireTool } from '../helpers/require-tool.js';

const CODECS = [
  { codec: 1, name: 'gzip' },
  { codec: 2, name: 'snappy' },
  { codec: 3, name: 'lz4' },
  { codec: 4, name: 'zstd' },
];
const MAX = 64 << 20;

/** Text that compresses like records do (repeats with variation). */
function recordsLike(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `{"id":${i},"user":"user-${i % 977}","event":"click","page":"/p/${(i * 7) % 1013}"}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

const INPUTS: Record<string, Buffer> = {
  empty: Buffer.alloc(0),
  small: Buffer.from('hello, records'),
  '1 MiB of records': recordsLike(1 << 20),
  '1 MiB incompressible': randomBytes(1 << 20),
  '1 MiB of zeros': Buffer.alloc(1 << 20),
};

function run(cmd: string, args: string[], input: Buffer): Buffer {
  return execFileSync(cmd, args, { input, maxBuffer: 256 << 20, stdio: ['pipe', 'pipe', 'pipe'] });
}

function rejects(fn: () => unknown, reason: CompressionError['reason'], what: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CompressionError, `${what}: ${String(e)}`);
    assert.equal(e.reason, reason, `${what}: ${e.message}`);
    assert.equal(e.errorCode, ErrorCode.CORRUPT_MESSAGE);
    return true;
  }, what);
}

describe('compression codecs', () => {
  before(async () => {
    await Promise.all([loadCompressionCodecs(), loadCompressionCodecs()]); // concurrent calls share one load
  });

  test('every codec round-trips empty, small, 1 MiB and incompressible inputs', () => {
    for (const { codec, name } of [{ codec: 0, name: 'none' }, ...CODECS]) {
      for (const [label, data] of Object.entries(INPUTS)) {
        const packed = compress(codec, data);
        assert.ok(decompress(codec, packed, MAX).equals(data), `${name} ${label}`);
        if (label === '1 MiB of records' && codec !== 0) assert.ok(packed.length < data.length / 3, `${name} compresses records (${packed.length} bytes)`);
        if (label === '1 MiB incompressible' && codec !== 0) assert.ok(packed.length < data.length * 1.01 + 64, `${name} stays near the input size (${packed.length})`);
      }
    }
  });

  test('gzip from the gzip tool (also several members)', () => {
    const gzip = requireTool('gzip');
    for (const [label, data] of Object.entries(INPUTS)) {
      assert.ok(decompress(1, run(gzip, ['-c', '-6'], data), MAX).equals(data), label);
    }
    const two = Buffer.concat([run(gzip, ['-c'], Buffer.from('first ')), run(gzip, ['-c'], Buffer.from('second'))]);
    assert.equal(decompress(1, two, MAX).toString(), 'first second');
  });

  test('zstd from the zstd tool, with and without a content size (as Java streams it); ours reads back with the tool', () => {
    const zstd = requireTool('zstd');
    for (const [label, data] of Object.entries(INPUTS)) {
      // Frame header descriptor: a content size is present when FCS_flag (bits 7-6) or Single_Segment (bit 5) is set.
      const noSize = run(zstd, ['-c', '-q', '--no-content-size'], data);
      assert.equal(noSize[4]! & 0xe0, 0, 'frame header declares no content size');
      assert.ok(decompress(4, noSize, MAX).equals(data), `${label} without content size`);
      const sized = run(zstd, ['-c', '-q', `--stream-size=${data.length}`], data);
      assert.notEqual(sized[4]! & 0xe0, 0, 'frame header declares a content size');
      assert.ok(decompress(4, sized, MAX).equals(data), `${label} with content size`);
      assert.ok(run(zstd, ['-d', '-c', '-q'], compress(4, data)).equals(data), `${label}: zstd -d reads ours`);
    }
    const a = run(zstd, ['-c', '-q'], Buffer.from('one frame, '));
    const b = run(zstd, ['-c', '-q', '--no-content-size'], Buffer.from('then another'));
    assert.equal(decompress(4, Buffer.concat([a, b]), MAX).toString(), 'one frame, then another');
  });

  test('lz4 frames from the lz4 tool (block/content checksums, content size, linked blocks, 4 MiB blocks); ours reads back with the tool', () => {
    const lz4 = requireTool('lz4');
    const variants = [[], ['-BD'], ['-BX'], ['--content-size'], ['--no-frame-crc'], ['-B4', '-9'], ['-B7', '-BD', '-BX', '--content-size']];
    for (const [label, data] of Object.entries(INPUTS)) {
      for (const flags of variants) {
        assert.ok(decompress(3, run(lz4, ['-c', '-z', '-q', ...flags], data), MAX).equals(data), `${label} lz4 ${flags.join(' ')}`);
      }
      // The reference decoder is strict about the block format's end rules (last literals, match limit).
      assert.ok(run(lz4, ['-d', '-c', '-q'], compress(3, data)).equals(data), `${label}: lz4 -d reads ours`);
    }
    const two = Buffer.concat([run(lz4, ['-c', '-q'], Buffer.from('frame one, ')), run(lz4, ['-c', '-q'], Buffer.from('frame two'))]);
    assert.equal(decompress(3, two, MAX).toString(), 'frame one, frame two');
  });

  test('lz4 as Java writes it: FLG 0x60 (independent blocks, no checksums), BD 0x40 (64 KiB), the correct header checksum', () => {
    const packed = compress(3, INPUTS['1 MiB of records']!);
    assert.equal(packed.readUInt32LE(0), 0x184d2204);
    assert.equal(packed[4], 0x60);
    assert.equal(packed[5], 0x40);
    assert.equal(packed[6], (xxh32(packed, 4, 6, 0) >>> 8) & 0xff);
    assert.equal(packed.readUInt32LE(packed.length - 4), 0, 'end mark, no content checksum');
    // xxh32 known answers (the reference implementation's test vectors).
    assert.equal(xxh32(Buffer.alloc(0), 0, 0, 0), 0x02cc5d05);
    assert.equal(xxh32(Buffer.from('a'), 0, 1, 0), 0x550d7456);
    assert.equal(xxh32(Buffer.from('abc'), 0, 3, 0), 0x32d153ff);
    assert.equal(xxh32(Buffer.from('Nobody inspects the spammish repetition'), 0, 39, 0), 0xe2293b2f);
  });

  test('snappy: raw blocks (librdkafka, python-snappy) and snappy-java framing (kafka-python); ours reads back with kafka-python', () => {
    const python = requirePythonModules('snappy', 'kafka');
    const py = (script: string, input: Buffer) => run(python, ['-c', `import sys, snappy\nfrom kafka import codec\n${script}`], input);
    for (const [label, data] of Object.entries(INPUTS)) {
      const raw = py('sys.stdout.buffer.write(snappy.compress(sys.stdin.buffer.read()))', data);
      assert.ok(decompress(2, raw, MAX).equals(data), `${label} raw`);
      const framed = py('sys.stdout.buffer.write(codec.snappy_encode(sys.stdin.buffer.read(), xerial_compatible=True))', data);
      if (data.length > 0) assert.ok(framed.subarray(0, 8).equals(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0])), 'snappy-java magic');
      assert.ok(decompress(2, framed, MAX).equals(data), `${label} snappy-java framing`);
      assert.ok(py('sys.stdout.buffer.write(codec.snappy_decode(sys.stdin.buffer.read()))', compress(2, data)).equals(data), `${label}: kafka-python reads ours`);
    }
  });

  test('snappy framing as Java writes it: the header, then 32 KiB chunks', () => {
    const packed = compress(2, INPUTS['1 MiB of records']!);
    assert.ok(packed.subarray(0, 16).equals(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1])));
    let chunks = 0;
    for (let at = 16; at < packed.length; chunks++) at += 4 + packed.readInt32BE(at);
    assert.equal(chunks, 32);
    assert.ok(compress(2, Buffer.alloc(0)).length > 20, 'an empty input still has a chunk (librdkafka reads a framed input only past 20 bytes)');
  });

  test('maxBytes: exactly the limit passes, one byte less fails, for every codec', () => {
    const data = INPUTS['1 MiB of records']!;
    for (const { codec, name } of [{ codec: 0, name: 'none' }, ...CODECS]) {
      const packed = compress(codec, data);
      assert.equal(decompress(codec, packed, data.length).length, data.length, name);
      rejects(() => decompress(codec, packed, data.length - 1), 'too-large', `${name} over maxBytes`);
    }
    // Frames that do not declare their size (and, for zstd, a declared one).
    rejects(() => decompress(4, run(requireTool('zstd'), ['-c', '-q', '--no-content-size'], data), data.length - 1), 'too-large', 'zstd without content size');
    rejects(() => decompress(3, run(requireTool('lz4'), ['-c', '-q', '--content-size'], data), data.length - 1), 'too-large', 'lz4 with content size');
  });

  test('zip bombs stop at maxBytes without allocating their full size', () => {
    const bombBytes = 256 << 20;
    const limit = 1 << 20;
    const zeros = Buffer.alloc(16 << 20);
    const gzipOfZeros = gzipSync(zeros);
    const bombs: Array<[string, number, Buffer]> = [
      // gzip members one after another decode as one stream.
      ['gzip', 1, Buffer.concat(Array.from({ length: bombBytes / zeros.length }, () => gzipOfZeros))],
      // Raw snappy declares its size: 2^32 - 1.
      ['snappy', 2, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])],
      ['lz4', 3, lz4Bomb(bombBytes / 65536)],
      ['zstd (declared size)', 4, compress(4, zeros)],
      ['zstd (no declared size)', 4, run(requireTool('zstd'), ['-c', '-q', '--no-content-size'], zeros)],
    ];
    for (const [name, codec, bomb] of bombs) {
      const before = process.memoryUsage().arrayBuffers;
      const started = performance.now();
      rejects(() => decompress(codec, bomb, limit), 'too-large', name);
      const grew = process.memoryUsage().arrayBuffers - before;
      assert.ok(grew < 16 * limit, `${name}: ${grew} bytes allocated for a limit of ${limit}`);
      assert.ok(performance.now() - started < 2_000, `${name} stops early`);
    }
  });

  test('corrupt input is a CompressionError for every codec', () => {
    const data = INPUTS['1 MiB of records']!;
    for (const { codec, name } of CODECS) {
      const packed = compress(codec, data);
      rejects(() => decompress(codec, packed.subarray(0, packed.length >> 1), MAX), 'corrupt', `${name} truncated`);
      rejects(() => decompress(codec, Buffer.alloc(0), MAX), 'corrupt', `${name} empty`);
      rejects(() => decompress(codec, randomBytes(300), MAX), 'corrupt', `${name} garbage`);
      const flipped = Buffer.from(packed);
      for (let i = 40; i < flipped.length; i += 997) flipped[i]! ^= 0x5a;
      rejects(() => decompress(codec, flipped, MAX), 'corrupt', `${name} bytes flipped`);
    }
    // Bounds that only a strict decoder catches.
    rejects(() => decompress(2, Buffer.from([0x05, 0x08, 0x61, 0x62]), MAX), 'corrupt', 'snappy: fewer bytes than declared');
    rejects(() => decompress(2, Buffer.from([0x04, 0x00, 0x61, 0x05, 0x05]), MAX), 'corrupt', 'snappy: copy from before the start');
    const lz4Header = compress(3, Buffer.alloc(0)).subarray(0, 7);
    rejects(() => decompress(3, Buffer.concat([lz4Header, Buffer.from([4, 0, 0, 0, 0x10, 0x61, 0x05, 0, 0, 0, 0, 0])]), MAX), 'corrupt', 'lz4: match from before the block');
    const badChecksum = Buffer.from(compress(3, Buffer.from('abc')));
    badChecksum[6]! ^= 1;
    rejects(() => decompress(3, badChecksum, MAX), 'corrupt', 'lz4: header checksum');
  });

  test('an unknown codec is a CompressionError', () => {
    for (const codec of [5, 6, 7]) {
      rejects(() => decompress(codec, Buffer.from('x'), MAX), 'unknown-codec', `decompress ${codec}`);
      rejects(() => compress(codec, Buffer.from('x')), 'unknown-codec', `compress ${codec}`);
    }
  });
});

/** An lz4 frame of `blocks` blocks of 64 KiB of zeros each (a few bytes per block). */
function lz4Bomb(blocks: number): Buffer {
  const one = compress(3, Buffer.alloc(65536));
  const header = one.subarray(0, 7);
  const block = one.subarray(7, one.length - 4);
  return Buffer.concat([header, ...Array.from({ length: blocks }, () => block), Buffer.alloc(4)]);
}
