/**
 * Remembers passwords that matched a SCRAM credential, so a caller that checks the same password
 * on every request (the schema registry's HTTP Basic) runs PBKDF2 once, not per request.
 *
 * An entry is keyed by the credential's stored key, so a changed or deleted credential no longer
 * matches it; what is kept is SHA-256(salt || password), compared in constant time. A wrong
 * password is never cached: it costs PBKDF2 every time, as a SASL/SCRAM attempt does. Those runs
 * take turns, one at a time: PBKDF2 runs on libuv's thread pool, which the WAL's writes and
 * fsyncs share, so a flood of wrong passwords may slow only itself, not produce.
 */
import { createHash } from 'node:crypto';
import { Turns } from '../../common/turns.js';
import { WeightedLru } from '../../common/weighted-lru.js';
import { constantTimeEqual, passwordMatches, type ScramAlgorithm, type ScramCredential } from './scram.js';

export type PasswordMatcher = (a: ScramAlgorithm, password: string, c: ScramCredential) => Promise<boolean>;

export class VerifiedPasswordCache {
  private readonly entries: WeightedLru<string, Buffer>;
  private readonly pbkdf2 = new Turns();

  constructor(maxEntries = 1024, private readonly verify: PasswordMatcher = passwordMatches) {
    if (!(maxEntries >= 1)) throw new RangeError(`maxEntries must be at least 1, got ${maxEntries}`);
    this.entries = new WeightedLru(maxEntries);
  }

  get size(): number { return this.entries.size; }

  readonly matches: PasswordMatcher = async (a, password, c) => {
    const key = `${a.digest}:${c.storedKey.toString('base64')}`;
    const check = createHash('sha256').update(c.salt).update(password, 'utf8').digest();
    const known = this.entries.get(key);
    if (known !== undefined && constantTimeEqual(known, check)) return true;
    if (!(await this.pbkdf2.run(() => this.verify(a, password, c)))) return false;
    this.entries.set(key, check);
    return true;
  };
}
