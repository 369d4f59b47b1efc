/**
 * 32-bit FNV-1a of a string, then a murmur3 finalizer (FNV alone mixes near keys poorly). For
 * rendezvous hashing: every broker computes the same weights, no secret is involved (not for
 * anything an attacker could aim at: the cleaner's key map uses keyed SipHash).
 */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
