/**
 * SipHash-2-4 with 128-bit output (Aumasson and Bernstein's keyed PRF), on 32-bit halves so it
 * allocates nothing: the offset map's key hash. Keyed with a secret drawn per pass, a producer
 * cannot craft two keys that collide (with MD5, as Kafka's cleaner uses, it can, and one key's
 * record would then delete another's), and it is several times faster than node:crypto's MD5
 * for short keys (no native call per key).
 */

// The state v0..v3 as (high, low) signed 32-bit halves: int32 values stay unboxed in V8, where
// uint32 values above 2^31 would be heap numbers.
const S = new Int32Array(8);
const V0H = 0, V0L = 1, V1H = 2, V1L = 3, V2H = 4, V2L = 5, V3H = 6, V3L = 7;

/** Carry out of the low halves' sum `lo` (int32) of `a` (int32). */
const carry = (lo: number, a: number): number => ((lo >>> 0) < (a >>> 0) ? 1 : 0);

function rounds(n: number): void {
  let v0h = S[V0H]!, v0l = S[V0L]!, v1h = S[V1H]!, v1l = S[V1L]!, v2h = S[V2H]!, v2l = S[V2L]!, v3h = S[V3H]!, v3l = S[V3L]!;
  let lo: number, h: number;
  for (let i = 0; i < n; i++) {
    // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
    lo = (v0l + v1l) | 0; v0h = (v0h + v1h + carry(lo, v0l)) | 0; v0l = lo;
    h = (v1h << 13) | (v1l >>> 19); v1l = (v1l << 13) | (v1h >>> 19); v1h = h;
    v1h ^= v0h; v1l ^= v0l;
    h = v0h; v0h = v0l; v0l = h;
    // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
    lo = (v2l + v3l) | 0; v2h = (v2h + v3h + carry(lo, v2l)) | 0; v2l = lo;
    h = (v3h << 16) | (v3l >>> 16); v3l = (v3l << 16) | (v3h >>> 16); v3h = h;
    v3h ^= v2h; v3l ^= v2l;
    // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
    lo = (v0l + v3l) | 0; v0h = (v0h + v3h + carry(lo, v0l)) | 0; v0l = lo;
    h = (v3h << 21) | (v3l >>> 11); v3l = (v3l << 21) | (v3h >>> 11); v3h = h;
    v3h ^= v0h; v3l ^= v0l;
    // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    lo = (v2l + v1l) | 0; v2h = (v2h + v1h + carry(lo, v2l)) | 0; v2l = lo;
    h = (v1h << 17) | (v1l >>> 15); v1l = (v1l << 17) | (v1h >>> 15); v1h = h;
    v1h ^= v2h; v1l ^= v2l;
    h = v2h; v2h = v2l; v2l = h;
  }
  S[V0H] = v0h; S[V0L] = v0l; S[V1H] = v1h; S[V1L] = v1l; S[V2H] = v2h; S[V2L] = v2l; S[V3H] = v3h; S[V3L] = v3l;
}

/** A 128-bit key as four 32-bit words: k0 low, k0 high, k1 low, k1 high (k0, k1 little-endian). */
export type SipKey = Uint32Array;

export function sipKeyOf(bytes: Uint8Array): SipKey {
  if (bytes.length !== 16) throw new RangeError('a SipHash key is 16 bytes');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return Uint32Array.of(dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), dv.getUint32(12, true));
}

const le32 = (b: Uint8Array, i: number): number => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);

/**
 * SipHash-2-4-128 of `data`, written to `out` as four 32-bit words: the first 64-bit half (low,
 * high), then the second (low, high). `outputBits` 64 gives SipHash-2-4-64 in out[0], out[1].
 */
export function sipHash(key: SipKey, data: Uint8Array, out: Uint32Array, outputBits: 64 | 128 = 128): void {
  const k0l = key[0]! | 0, k0h = key[1]! | 0, k1l = key[2]! | 0, k1h = key[3]! | 0;
  S[V0H] = 0x736f6d65 ^ k0h; S[V0L] = 0x70736575 ^ k0l;
  S[V1H] = 0x646f7261 ^ k1h; S[V1L] = 0x6e646f6d ^ k1l;
  S[V2H] = 0x6c796765 ^ k0h; S[V2L] = 0x6e657261 ^ k0l;
  S[V3H] = 0x74656462 ^ k1h; S[V3L] = 0x79746573 ^ k1l;
  if (outputBits === 128) S[V1L] ^= 0xee;
  const n = data.length;
  const whole = n - (n % 8);
  for (let i = 0; i < whole; i += 8) {
    const ml = le32(data, i), mh = le32(data, i + 4);
    S[V3H] ^= mh; S[V3L] ^= ml;
    rounds(2);
    S[V0H] ^= mh; S[V0L] ^= ml;
  }
  // The last block: the remaining bytes, and the length in the top byte.
  let bl = 0, bh = (n & 0xff) << 24;
  for (let j = n - whole - 1; j >= 0; j--) {
    const byte = data[whole + j]!;
    if (j >= 4) bh |= byte << ((j - 4) * 8); else bl |= byte << (j * 8);
  }
  S[V3H] ^= bh; S[V3L] ^= bl;
  rounds(2);
  S[V0H] ^= bh; S[V0L] ^= bl;
  S[V2L] ^= outputBits === 128 ? 0xee : 0xff;
  rounds(4);
  out[0] = S[V0L]! ^ S[V1L]! ^ S[V2L]! ^ S[V3L]!;
  out[1] = S[V0H]! ^ S[V1H]! ^ S[V2H]! ^ S[V3H]!;
  if (outputBits === 64) return;
  S[V1L] ^= 0xdd;
  rounds(4);
  out[2] = S[V0L]! ^ S[V1L]! ^ S[V2L]! ^ S[V3L]!;
  out[3] = S[V0H]! ^ S[V1H]! ^ S[V2H]! ^ S[V3H]!;
}
