// The azure-blob ObjectStore against Azurite (the official Azure Storage emulator): the shared
// ObjectStore contract (test/objects/object-store-contract.ts, the suite the s3 and fs backends
// pass), without and with a key prefix, then what is specific to Azure: staged large puts, key
// prefixes sharing a container, option validation, retriable errors when unreachable.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  createAzureBlobObjectStore, type AzureBlobObjectStore, type AzureBlobObjectStoreOptions,
} from '../../src/objects/azure-blob-object-store.js';
import { ObjectExistsError, ObjectNotFoundError, ObjectStoreError, type ObjectStore } from '../../src/objects/object-store.js';
import { freePort } from '../helpers/ports.js';
import { startAzurite, type Azurite } from './azure-blob-azurite.js';
import { collect, objectStoreContract } from './object-store-contract.js';

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
  before(async () => {
    azurite = await startAzurite();
  });
  after(async () => {
    for (const s of opened) await s.close();
    await azurite?.stop();
  });

  // Each contract test gets a fresh container. Default list pages (1000): 1010 keys cross one;
  // staged (multipart) puts above 1 MiB.
  describe('ObjectStore contract', () => objectStoreContract(
    () => open({ singlePutMaxBytes: 1024 * 1024, blockSizeBytes: 400 * 1024 }),
    { listKeys: 1010, multipartBytes: 2 * 1024 * 1024 },
  ));

  describe('ObjectStore contract with a key prefix and small list pages', () => objectStoreContract(
    () => open({ prefix: 'cluster-a/', listPageSize: 17, singlePutMaxBytes: 1024 * 1024, blockSizeBytes: 300 * 1024 }),
    { listKeys: 150, multipartBytes: 2 * 1024 * 1024 },
  ));

  test('keys with slashes, dots, spaces and non-ASCII characters round-trip', async () => {
    const s = await open({ prefix: 'p/' });
    const keys = ['k/a b/c.d', 'k/ü/€/ключ', 'k/%2F/x?y#z'];
    for (const k of keys) await s.put(k, Buffer.from(k));
    for (const k of keys) assert.equal((await s.get(k)).toString(), k);
    assert.deepEqual((await collect(s.list('k/'))).map((o) => o.key).sort(), [...keys].sort());
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
