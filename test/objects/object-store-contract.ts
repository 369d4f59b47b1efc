// The ObjectStore contract (the semantics listed in src/objects/object-store.ts), as tests any
// backend must pass. `fresh()` returns a store on an empty namespace (a new dir or key prefix).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ObjectExistsError, ObjectNotFoundError, ObjectStoreError, type ObjectInfo, type ObjectStore } from '../../src/objects/object-store.js';

export async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of it) out.push(o);
  return out;
}

export interface ContractOptions {
  /** Keys put and listed: more than one list page of the backend. */
  listKeys: number;
  /** A body size above the backend's multipart threshold (0: the backend has none). */
  multipartBytes: number;
}

export function objectStoreContract(fresh: () => Promise<ObjectStore>, options: ContractOptions): void {
  test('put then get returns the same bytes; head reports size and time; a plain put overwrites', async () => {
    const s = await fresh();
    const body = randomBytes(100_000);
    const before = Date.now();
    await s.put('a/one', body);
    assert.deepEqual(await s.get('a/one'), body);
    const info = await s.head('a/one');
    assert.ok(info);
    assert.equal(info.key, 'a/one');
    assert.equal(info.size, body.length);
    assert.ok(Math.abs(info.lastModifiedMs - before) < 60_000, `lastModifiedMs ${info.lastModifiedMs} near ${before}`);
    await s.put('a/one', Buffer.from('short'));
    assert.equal((await s.get('a/one')).toString(), 'short');
    assert.equal((await s.head('a/one'))?.size, 5);
  });

  test('put of several buffers stores their concatenation; an empty object is fine', async () => {
    const s = await fresh();
    const parts = [randomBytes(10), randomBytes(70_000), Buffer.alloc(0), randomBytes(3)];
    await s.put('multi', parts);
    assert.deepEqual(await s.get('multi'), Buffer.concat(parts));
    await s.put('empty', Buffer.alloc(0));
    assert.equal((await s.get('empty')).length, 0);
    assert.equal((await s.head('empty'))?.size, 0);
  });

  test('ranges and suffix ranges return exactly the bytes asked for, clamped at the end', async () => {
    const s = await fresh();
    const body = randomBytes(1000);
    await s.put('r', body);
    assert.deepEqual(await s.get('r', { start: 0, end: 1 }), body.subarray(0, 1));
    assert.deepEqual(await s.get('r', { start: 100, end: 600 }), body.subarray(100, 600));
    assert.deepEqual(await s.get('r', { start: 999, end: 1000 }), body.subarray(999));
    assert.deepEqual(await s.get('r', { start: 990, end: 5000 }), body.subarray(990), 'end past the object is clamped');
    assert.deepEqual(await s.get('r', { start: 10, end: 10 }), Buffer.alloc(0), 'empty range');
    assert.deepEqual(await s.get('r', { suffix: 10 }), body.subarray(990), 'suffix range');
    assert.deepEqual(await s.get('r', { suffix: 1 }), body.subarray(999));
    assert.deepEqual(await s.get('r', { suffix: 1000 }), body);
    assert.deepEqual(await s.get('r', { suffix: 5000 }), body, 'suffix longer than the object');
    assert.deepEqual(await s.get('r', { suffix: 0 }), Buffer.alloc(0));
    await assert.rejects(s.get('r', { start: 1000, end: 1010 }), (e: unknown) => e instanceof ObjectStoreError && !e.retriable, 'start at the end');
    await assert.rejects(s.get('r', { start: 5, end: 4 }), (e: unknown) => e instanceof ObjectStoreError && !e.retriable, 'end before start');
  });

  test('a missing key: get is ObjectNotFoundError (any range), head is null, delete succeeds', async () => {
    const s = await fresh();
    await assert.rejects(s.get('nope'), (e: unknown) => e instanceof ObjectNotFoundError && e.key === 'nope' && !e.retriable);
    await assert.rejects(s.get('nope', { start: 0, end: 10 }), ObjectNotFoundError);
    await assert.rejects(s.get('nope', { suffix: 10 }), ObjectNotFoundError);
    await assert.rejects(s.get('nope', { start: 3, end: 3 }), ObjectNotFoundError);
    assert.equal(await s.head('nope'), null);
    await s.delete(['nope', 'nope/either']);
  });

  test('create-only: a second put fails; exactly one of 16 racing writers wins and its bytes are stored', async () => {
    const s = await fresh();
    await s.put('once', Buffer.from('first'), { ifNoneMatch: true });
    await assert.rejects(s.put('once', Buffer.from('second'), { ifNoneMatch: true }), (e: unknown) => e instanceof ObjectExistsError && e.key === 'once' && !e.retriable);
    assert.equal((await s.get('once')).toString(), 'first');
    for (let round = 0; round < 3; round++) {
      const key = `race/${round}`;
      const bodies = Array.from({ length: 16 }, (_, i) => Buffer.concat([Buffer.from(`writer-${i}:`), randomBytes(20_000)]));
      const results = await Promise.allSettled(bodies.map((b) => s.put(key, b, { ifNoneMatch: true })));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(winners.length, 1, `round ${round}: exactly one winner, got ${winners.length}`);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ObjectExistsError, `loser error: ${r.reason}`);
      assert.deepEqual(await s.get(key), bodies[winners[0]!]);
    }
  });

  test(`list: ${options.listKeys} keys across pages, in byte order, filtered by prefix; delete them all`, async () => {
    const s = await fresh();
    const keys = Array.from({ length: options.listKeys }, (_, i) => `l/${(i * 7919) % options.listKeys}`.padEnd(8, 'x'));
    const odd = ['l.b', 'l/', 'l0', 'm/1', 'l-z'].filter((k) => !k.endsWith('/'));
    const all = [...new Set([...keys, ...odd])];
    for (let i = 0; i < all.length; i += 64) await Promise.all(all.slice(i, i + 64).map((k) => s.put(k, Buffer.from(k))));
    const listed = await collect(s.list(''));
    const expected = [...all].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual(listed.map((o) => o.key), expected);
    for (const o of listed) assert.equal(o.size, Buffer.byteLength(o.key));
    const underL = await collect(s.list('l/'));
    assert.deepEqual(underL.map((o) => o.key), expected.filter((k) => k.startsWith('l/')));
    const partial = await collect(s.list('l/1'));
    assert.deepEqual(partial.map((o) => o.key), expected.filter((k) => k.startsWith('l/1')));
    assert.deepEqual(await collect(s.list('zz')), []);
    await s.delete(all);
    assert.deepEqual(await collect(s.list('')), []);
  });

  test('delete removes exactly the keys given', async () => {
    const s = await fresh();
    await s.put('d/1', Buffer.from('1'));
    await s.put('d/2', Buffer.from('2'));
    await s.delete(['d/1', 'd/missing']);
    assert.equal(await s.head('d/1'), null);
    assert.equal((await s.get('d/2')).toString(), '2');
    await s.delete([]);
  });

  if (options.multipartBytes > 0) {
    test(`a body above the multipart threshold (${options.multipartBytes} bytes) round-trips, ranges cross part boundaries`, async () => {
      const s = await fresh();
      const chunks = [randomBytes(1234), randomBytes(options.multipartBytes - 1234 - 77), randomBytes(77)];
      const body = Buffer.concat(chunks);
      await s.put('big', chunks);
      assert.equal((await s.head('big'))?.size, body.length);
      assert.ok((await s.get('big')).equals(body));
      const mid = Math.floor(body.length / 2);
      assert.ok((await s.get('big', { start: mid - 1000, end: mid + 1000 })).equals(body.subarray(mid - 1000, mid + 1000)));
      assert.ok((await s.get('big', { suffix: 100_000 })).equals(body.subarray(body.length - 100_000)));
      await s.put('big-once', chunks, { ifNoneMatch: true });
      await assert.rejects(s.put('big-once', chunks, { ifNoneMatch: true }), ObjectExistsError);
    });
  }
}
