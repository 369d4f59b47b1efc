// The azure-blob ObjectStore against Azurite (the official Azure Storage emulator): the
// ObjectStore contract (the semantics listed in src/objects/object-store.ts, the same cases the
// s3 and fs backends must pass), then what is specific to Azure: staged large puts, key prefixes,
// credentials-free validation, and retriable errors when the service is unreachable.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  createAzureBlobObjectStore, type AzureBlobObjectStore, type AzureBlobObjectStoreOptions,
} from '../../src/objects/azure-blob-object-store.js';
import { ObjectExistsError, ObjectNotFoundError, ObjectStoreError, type ObjectInfo, type ObjectStore } from '../../src/objects/object-store.js';
import { freePort } from '../helpers/ports.js';
import { startAzurite, type Azurite } from './azure-blob-azurite.js';

async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of it) out.push(o);
  return out;
}

/**
 * The backend-independent contract; `store()` returns a store on an empty namespace.
 * `listKeys` keys are listed: more than the backend's list page so listing crosses pages.
 */
function objectStoreContract(store: () => ObjectStore, listKeys = 1105): void {
  test('put then get returns the same bytes; head reports size and time', async () => {
    const s = store();
    const body = randomBytes(100_000);
    const before = Date.now();
    await s.put('a/one', body);
    assert.deepEqual(await s.get('a/one'), body);
    const info = await s.head('a/one');
    assert.ok(info);
    assert.equal(info.key, 'a/one');
    assert.equal(info.size, body.length);
    assert.ok(Math.abs(info.lastModifiedMs - before) < 60_000, `lastModifiedMs ${info.lastModifiedMs} near ${before}`);
  });

  test('put of several buffers stores their concatenation; an empty object is fine', async () => {
    const s = store();
    const parts = [randomBytes(10), randomBytes(70_000), Buffer.alloc(0), randomBytes(3)];
    await s.put('multi', parts);
    assert.deepEqual(await s.get('multi'), Buffer.concat(parts));
    await s.put('empty', Buffer.alloc(0));
    assert.equal((await s.get('empty')).length, 0);
    assert.equal((await s.head('empty'))?.size, 0);
  });

  test('ranges return exactly the bytes asked for, clamped at the end as S3 does', async () => {
    const s = store();
    const body = randomBytes(1000);
    await s.put('r', body);
    assert.deepEqual(await s.get('r', { start: 0, end: 1 }), body.subarray(0, 1));
    assert.deepEqual(await s.get('r', { start: 100, end: 600 }), body.subarray(100, 600));
    assert.deepEqual(await s.get('r', { start: 990, end: 5000 }), body.subarray(990), 'end past the object is clamped');
    assert.deepEqual(await s.get('r', { start: 10, end: 10 }), Buffer.alloc(0), 'empty range');
    assert.deepEqual(await s.get('r', { suffix: 10 }), body.subarray(990), 'suffix range');
    assert.deepEqual(await s.get('r', { suffix: 5000 }), body, 'suffix longer than the object');
    assert.deepEqual(await s.get('r', { suffix: 0 }), Buffer.alloc(0));
    await assert.rejects(s.get('r', { start: 1000, end: 1010 }), (e: unknown) => e instanceof ObjectStoreError && !e.retriable, 'start at the end');
    await assert.rejects(s.get('r', { start: 5, end: 4 }), ObjectStoreError, 'end before start');
  });

  test('a missing key: get rejects with ObjectNotFoundError, head is null, delete succeeds', async () => {
    const s = store();
    await assert.rejects(s.get('nope'), (e: unknown) => e instanceof ObjectNotFoundError && e.key === 'nope');
    await assert.rejects(s.get('nope', { start: 0, end: 10 }), ObjectNotFoundError);
    await assert.rejects(s.get('nope', { suffix: 10 }), ObjectNotFoundError);
    await assert.rejects(s.get('nope', { start: 3, end: 3 }), ObjectNotFoundError);
    assert.equal(await s.head('nope'), null);
    await s.delete(['nope', 'nope/either']);
  });

  test('ifNoneMatch: create-only; exactly one of 16 racing writers wins and its bytes are stored', async () => {
    const s = store();
    await s.put('once', Buffer.from('first'), { ifNoneMatch: true });
    await assert.rejects(s.put('once', Buffer.from('second'), { ifNoneMatch: true }), (e: unknown) => e instanceof ObjectExistsError && e.key === 'once' && !e.retriable);
    assert.equal((await s.get('once')).toString(), 'first');
    await s.put('once', Buffer.from('overwrite'));
    assert.equal((await s.get('once')).toString(), 'overwrite', 'a plain put overwrites');

    const bodies = Array.from({ length: 16 }, (_, i) => Buffer.from(`writer-${i}-`.repeat(500)));
    const results = await Promise.allSettled(bodies.map((b) => s.put('race', b, { ifNoneMatch: true })));
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(winners.length, 1, `one winner, got ${winners.length}`);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ObjectExistsError, String(r.reason));
    assert.deepEqual(await s.get('race'), bodies[winners[0]!]);
  });

  test('list: by prefix, in key order, across pages; delete removes many keys', async () => {
    assert.ok(listKeys >= 120);
    const s = store();
    const keys = Array.from({ length: listKeys }, (_, i) => `l/${String(i).padStart(5, '0')}`);
    await s.delete(keys); // isolation if a previous run left them
    await Promise.all(Array.from({ length: 8 }, async (_, w) => {
      for (let i = w; i < keys.length; i += 8) await s.put(keys[i]!, Buffer.from(String(i)));
    }));
    await s.put('lx', Buffer.from('outside the prefix'));
    const listed = await collect(s.list('l/'));
    assert.deepEqual(listed.map((o) => o.key), keys, 'every key once, in order, across pages');
    assert.equal(listed[7]!.size, 1);
    assert.deepEqual((await collect(s.list('l/0011'))).map((o) => o.key), keys.slice(110, 120));
    assert.deepEqual(await collect(s.list('nothing-here/')), []);
    await s.delete(keys.slice(0, -5));
    assert.deepEqual((await collect(s.list('l/'))).map((o) => o.key), keys.slice(-5));
    assert.equal((await s.head('lx'))?.size, 18);
  });

  test('keys with slashes, dots, spaces and non-ASCII characters round-trip', async () => {
    const s = store();
    const keys = ['k/a b/c.d', 'k/ü/€/ключ', 'k/%2F/x?y#z'];
    for (const k of keys) await s.put(k, Buffer.from(k));
    for (const k of keys) assert.equal((await s.get(k)).toString(), k);
    assert.deepEqual((await collect(s.list('k/'))).map((o) => o.key).sort(), [...keys].sort());
  });
}

describe('azure-blob ObjectStore on Azurite', () => {
  let azurite: Azurite;
  let containerSeq = 0;
  const opened: ObjectStore[] = [];
  const open = async (extra: Partial<AzureBlobObjectStoreOptions> = {}): Promise<AzureBlobObjectStore> => {
    const s = await createAzureBlobObjectStore({
      connectionString: azurite.connectionString, container: `ferry-test-${process.pid}-${++containerSeq}`, createContainer: true, ...extra,
    });
    opened.push(s);
    return s;
  };
  let shared: ObjectStore;

  before(async () => {
    azurite = await startAzurite();
    shared = await open();
  });
  after(async () => {
    for (const s of opened) await s.close();
    await azurite?.stop();
  });

  describe('ObjectStore contract', () => objectStoreContract(() => shared));

  describe('ObjectStore contract with a key prefix and small list pages', () => {
    let prefixed: ObjectStore;
    before(async () => { prefixed = await open({ prefix: 'cluster-a/', listPageSize: 17 }); });
    objectStoreContract(() => prefixed, 150);
  });

  test('description names account, container and prefix, never the key', async () => {
    const s = await open({ prefix: 'p/' });
    assert.match(s.description, /^azure-blob:\/\/devstoreaccount1\/ferry-test-\d+-\d+\/p\/$/);
    assert.ok(!s.description.includes('Eby8'), 'no account key');
  });

  test('a prefix isolates clusters sharing a container', async () => {
    const container = `ferry-test-${process.pid}-shared`;
    const a = await open({ container, prefix: 'a/' });
    const b = await open({ container, prefix: 'b/' });
    await a.put('x', Buffer.from('from a'));
    await b.put('x', Buffer.from('from b'));
    assert.equal((await a.get('x')).toString(), 'from a');
    assert.deepEqual((await collect(b.list(''))).map((o) => o.key), ['x']);
    await a.delete(['x']);
    assert.equal((await b.get('x')).toString(), 'from b');
  });

  test('large bodies are staged in blocks and committed atomically, create-only included', async () => {
    const s = await open({ singlePutMaxBytes: 1024 * 1024, blockSizeBytes: 400 * 1024 });
    const parts = [randomBytes(700_000), randomBytes(900_000), randomBytes(123_457)];
    const whole = Buffer.concat(parts);
    await s.put('big', parts, { ifNoneMatch: true });
    assert.deepEqual(await s.get('big'), whole);
    assert.deepEqual(await s.get('big', { start: 409_000, end: 1_300_000 }), whole.subarray(409_000, 1_300_000));
    await assert.rejects(s.put('big', randomBytes(2_000_000), { ifNoneMatch: true }), ObjectExistsError);
    assert.deepEqual(await s.get('big'), whole, 'the losing staged put changed nothing');

    // Racing staged writers: their uncommitted blocks must not mix.
    const bodies = [randomBytes(1_500_000), randomBytes(1_500_000), randomBytes(1_500_000)];
    const results = await Promise.allSettled(bodies.map((b) => s.put('big-race', b, { ifNoneMatch: true })));
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(winners.length, 1);
    assert.deepEqual(await s.get('big-race'), bodies[winners[0]!]);
  });

  test('a closed store refuses calls', async () => {
    const s = await open();
    await s.close();
    await assert.rejects(s.get('x'), /closed/);
  });

  test('missing container: a non-retriable error (not "object not found") on put', async () => {
    const s = await createAzureBlobObjectStore({ connectionString: azurite.connectionString, container: 'does-not-exist' });
    await assert.rejects(s.put('k', Buffer.from('v')), (e: unknown) => e instanceof ObjectStoreError && !(e instanceof ObjectNotFoundError) && !e.retriable && /ContainerNotFound/.test(e.message));
  });

  test('an unreachable service gives a retriable ObjectStoreError', async () => {
    const port = await freePort(); // nothing listens there
    const s = await createAzureBlobObjectStore({
      connectionString: azurite.connectionString.replace(`:${azurite.port}/`, `:${port}/`), container: 'ferry', maxTries: 1, tryTimeoutMs: 2000,
    });
    await assert.rejects(s.get('k'), (e: unknown) => e instanceof ObjectStoreError && e.retriable);
    await assert.rejects(s.put('k', Buffer.from('v')), (e: unknown) => e instanceof ObjectStoreError && e.retriable);
  });

  test('bad options are refused before any request', async () => {
    await assert.rejects(createAzureBlobObjectStore({ container: 'Bad_Name', account: 'acct' }), /container name/);
    await assert.rejects(createAzureBlobObjectStore({ container: 'ferry' }), /account, an endpoint or a connection string/);
    await assert.rejects(createAzureBlobObjectStore({ container: 'ferry', account: 'Not-Valid' }), /storage account name/);
    await assert.rejects(createAzureBlobObjectStore({ container: 'ferry', account: 'acct', blockSizeBytes: 0 }), /blockSizeBytes/);
  });

  test('without a connection string, DefaultAzureCredential is used (no request until the first call)', async () => {
    const s = await createAzureBlobObjectStore({ container: 'ferry', account: 'ferryexample', managedIdentityClientId: '00000000-0000-0000-0000-000000000000' });
    assert.equal(s.description, 'azure-blob://ferryexample/ferry/');
    await s.close();
  });
});
