// The schema registry's cache of SCRAM passwords that matched: a hit skips PBKDF2, a wrong password
// is never cached, a changed credential does not match the old password, and the size is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { credentialFromSaltedPassword, passwordMatches, saltPasswordSync, scramAlgorithm, type ScramCredential } from '../../../src/security/sasl/scram.js';
import { VerifiedPasswordCache, type PasswordMatcher } from '../../../src/security/sasl/verified-password-cache.js';

const A = scramAlgorithm('SCRAM-SHA-256');
const credential = (password: string): ScramCredential => {
  const salt = randomBytes(16);
  return credentialFromSaltedPassword(A, salt, saltPasswordSync(A, password, salt, 4096), 4096);
};

function counting(): { verify: PasswordMatcher; calls: () => number } {
  let n = 0;
  return { verify: async (a, p, c) => { n++; return passwordMatches(a, p, c); }, calls: () => n };
}

test('a matched password is checked once with PBKDF2, then from the cache', async () => {
  const { verify, calls } = counting();
  const cache = new VerifiedPasswordCache(8, verify);
  const c = credential('s3cret');
  for (let i = 0; i < 5; i++) assert.equal(await cache.matches(A, 's3cret', c), true);
  assert.equal(calls(), 1);
  assert.equal(cache.size, 1);
});

test('a wrong password is refused every time and never cached, also after the right one was', async () => {
  const { verify, calls } = counting();
  const cache = new VerifiedPasswordCache(8, verify);
  const c = credential('s3cret');
  assert.equal(await cache.matches(A, 'guess', c), false);
  assert.equal(await cache.matches(A, 'guess', c), false);
  assert.equal(cache.size, 0);
  assert.equal(await cache.matches(A, 's3cret', c), true);
  assert.equal(await cache.matches(A, 's3cret!', c), false, 'a near miss of a cached password');
  assert.equal(await cache.matches(A, '', c), false);
  assert.equal(calls(), 5);
});

test('a changed credential (new salt and stored key) no longer takes the old password', async () => {
  const cache = new VerifiedPasswordCache(8);
  const before = credential('old-password');
  assert.equal(await cache.matches(A, 'old-password', before), true);
  const after = credential('new-password');
  assert.equal(await cache.matches(A, 'old-password', after), false);
  assert.equal(await cache.matches(A, 'new-password', after), true);
});

test('the least recently used entry goes first when the cache is full', async () => {
  const { verify, calls } = counting();
  const cache = new VerifiedPasswordCache(2, verify);
  const [a, b, c] = [credential('a'), credential('b'), credential('c')];
  await cache.matches(A, 'a', a);
  await cache.matches(A, 'b', b);
  await cache.matches(A, 'a', a); // a is now the most recent
  await cache.matches(A, 'c', c); // evicts b
  assert.equal(cache.size, 2);
  assert.equal(calls(), 3);
  await cache.matches(A, 'a', a);
  assert.equal(calls(), 3, 'a stayed');
  await cache.matches(A, 'b', b);
  assert.equal(calls(), 4, 'b was evicted');
  assert.throws(() => new VerifiedPasswordCache(0), RangeError);
});

test('PBKDF2 runs take turns: concurrent misses never verify two at a time', async () => {
  let running = 0;
  let most = 0;
  const verify: PasswordMatcher = async (a, p, c) => {
    running++;
    most = Math.max(most, running);
    try { return await passwordMatches(a, p, c); } finally { running--; }
  };
  const cache = new VerifiedPasswordCache(8, verify);
  const c = credential('s3cret');
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => cache.matches(A, i % 3 === 0 ? 's3cret' : `wrong-${i}`, c)));
  assert.equal(most, 1);
  assert.equal(results.filter(Boolean).length, 4);
});
