import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FetchSessionCache } from '../../src/broker/fetch-sessions.js';
import { ErrorCode } from '../../src/protocol/errors.js';

test('fetch session lifecycle follows KIP-227', () => {
  const cache = new FetchSessionCache(2);
  assert.equal(cache.lookup(0, -1, 0).kind, 'sessionless');
  assert.deepEqual(cache.lookup(0, 5, 0), { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH });
  const created = cache.lookup(0, 0, 0);
  assert.equal(created.kind, 'new');
  const id = created.kind === 'new' ? created.session.id : -1;
  assert.ok(id > 0);
  assert.equal(cache.lookup(id, 1, 1).kind, 'incremental');
  assert.deepEqual(cache.lookup(id, 1, 2), { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH }, 'an epoch may be used once');
  assert.equal(cache.lookup(id, 2, 3).kind, 'incremental');
  assert.equal(cache.lookup(id, -1, 4).kind, 'closed');
  assert.deepEqual(cache.lookup(id, 3, 5), { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND });
  assert.deepEqual(cache.lookup(12345, 1, 5), { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND });
});

test('the least recently used session is evicted when the cache is full', () => {
  const cache = new FetchSessionCache(2);
  const ids = [0, 1, 2].map(() => {
    const r = cache.lookup(0, 0, 0);
    assert.equal(r.kind, 'new');
    return r.kind === 'new' ? r.session.id : 0;
  });
  assert.equal(cache.size, 2);
  assert.deepEqual(cache.lookup(ids[0], 1, 1), { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND });
  assert.equal(cache.lookup(ids[1], 1, 1).kind, 'incremental');
  assert.equal(cache.lookup(ids[2], 1, 1).kind, 'incremental');
});

test('zero slots disables sessions', () => {
  const cache = new FetchSessionCache(0);
  assert.equal(cache.lookup(0, 0, 0).kind, 'sessionless');
  assert.equal(cache.size, 0);
});
