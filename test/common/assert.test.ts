/** src/common/assert.ts: invariant violations throw InvariantError (a bug, never a user error). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assert as invariant, InvariantError } from '../../src/common/assert.js';

test('a holding condition returns; a failing one throws InvariantError with the message', () => {
  for (const ok of [true, 1, 'x', {}, [], 1n]) invariant(ok, 'never thrown');
  for (const bad of [false, 0, '', null, undefined, 0n, Number.NaN]) {
    assert.throws(() => invariant(bad, `failed on ${String(bad)}`), (err: unknown) => {
      assert.ok(err instanceof InvariantError);
      assert.ok(err instanceof Error, 'an Error, so stack traces and loggers treat it as one');
      assert.equal(err.name, 'InvariantError');
      assert.equal(err.message, `failed on ${String(bad)}`);
      assert.ok(err.stack?.includes('InvariantError'));
      return true;
    });
  }
});

test('the assertion narrows the type for the code after it', () => {
  const value: string | null = ['a', null][0]!;
  invariant(value !== null, 'value is set');
  // Compiles only because the assertion narrowed `value` to string.
  assert.equal(value.length, 1);
});
