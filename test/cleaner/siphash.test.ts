// SipHash-2-4 on 32-bit halves against the reference: the published 64-bit vectors (key 00..0f,
// message 00..n-1), and for the 128-bit output a BigInt transcription of the reference C code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sipHash, sipKeyOf } from '../../src/cleaner/siphash.js';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
const MSG = Uint8Array.from({ length: 64 }, (_, i) => i);
// From the SipHash paper's reference implementation (vectors for n = 0, 1, 2, 7, 8, 15, 16, 63).
const VECTORS_64: [number, bigint][] = [
  [0, 0x726fdb47dd0e0e31n], [1, 0x74f839c593dc67fdn], [2, 0x0d6c8009d9a94f5an], [7, 0xab0200f58b01d137n],
  [8, 0x93f5f5799a932462n], [15, 0xa129ca6149be45e5n], [16, 0x3f2acc7f57c29bdbn], [63, 0x958a324ceb064572n],
];

const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M64;

/** The reference algorithm, straight from siphash.c, in BigInt. */
function referenceSipHash(key: Uint8Array, data: Uint8Array, outlen: 8 | 16): bigint[] {
  const le64 = (b: Uint8Array, i: number) => { let x = 0n; for (let j = 7; j >= 0; j--) x = (x << 8n) | BigInt(b[i + j]!); return x; };
  const k0 = le64(key, 0), k1 = le64(key, 8);
  let v0 = 0x736f6d6570736575n ^ k0, v1 = 0x646f72616e646f6dn ^ k1, v2 = 0x6c7967656e657261n ^ k0, v3 = 0x7465646279746573n ^ k1;
  if (outlen === 16) v1 ^= 0xeen;
  const round = () => {
    v0 = (v0 + v1) & M64; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M64; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M64; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const whole = data.length - (data.length % 8);
  for (let i = 0; i < whole; i += 8) { const m = le64(data, i); v3 ^= m; round(); round(); v0 ^= m; }
  let b = BigInt(data.length & 0xff) << 56n;
  for (let j = 0; j < data.length - whole; j++) b |= BigInt(data[whole + j]!) << BigInt(8 * j);
  v3 ^= b; round(); round(); v0 ^= b;
  v2 ^= outlen === 16 ? 0xeen : 0xffn;
  round(); round(); round(); round();
  const out = [v0 ^ v1 ^ v2 ^ v3];
  if (outlen === 16) { v1 ^= 0xddn; round(); round(); round(); round(); out.push(v0 ^ v1 ^ v2 ^ v3); }
  return out;
}

const words = (lo: number, hi: number) => (BigInt(hi) << 32n) | BigInt(lo);

test('SipHash-2-4-64 gives the reference vectors', () => {
  const key = sipKeyOf(KEY);
  const out = new Uint32Array(4);
  for (const [n, expected] of VECTORS_64) {
    sipHash(key, MSG.subarray(0, n), out, 64);
    assert.equal(words(out[0]!, out[1]!), expected, `n=${n}`);
    assert.deepEqual(referenceSipHash(KEY, MSG.subarray(0, n), 8), [expected], `the BigInt reference agrees at n=${n}`);
  }
});

test('SipHash-2-4-128 equals the reference for every length up to 64 and random keys and messages', () => {
  const out = new Uint32Array(4);
  for (let n = 0; n <= 64; n++) {
    sipHash(sipKeyOf(KEY), MSG.subarray(0, Math.min(n, 64)), out);
    assert.deepEqual([words(out[0]!, out[1]!), words(out[2]!, out[3]!)], referenceSipHash(KEY, MSG.subarray(0, n), 16), `n=${n}`);
  }
  for (let i = 0; i < 300; i++) {
    const k = randomBytes(16), m = randomBytes(i % 200);
    sipHash(sipKeyOf(k), m, out);
    assert.deepEqual([words(out[0]!, out[1]!), words(out[2]!, out[3]!)], referenceSipHash(k, m, 16));
  }
});
