/**
 * SCRAM credentials in a real local metadata store: the key layout, the record (no password, no
 * salted password), get/put/delete/list/apply, and that two stores over the same metadata see
 * each other's changes at once (reads are not cached).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMetadataStore } from '../../../src/cluster/local-metadata-store.js';
import { MetadataKeys } from '../../../src/cluster/metadata-keys.js';
import { MetadataScramCredentialStore, scramCredentialKey } from '../../../src/security/sasl/scram-credential-store.js';
import { credentialFromPassword, scramAlgorithm } from '../../../src/security/sasl/scram.js';

test('credentials round-trip under <root>scram/<mechanism>/<user>, without the password', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-scram-store-'));
  const store = await LocalMetadataStore.open(dir);
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  const root = new MetadataKeys('c1').root;
  const a = new MetadataScramCredentialStore(store, root);
  const b = new MetadataScramCredentialStore(store, root);
  const cred = await credentialFromPassword(scramAlgorithm('SCRAM-SHA-256'), 'very-secret', 8192);

  assert.equal(await a.get('SCRAM-SHA-256', 'ops/alice'), null);
  await a.put('SCRAM-SHA-256', 'ops/alice', cred);
  const key = scramCredentialKey(root, 'SCRAM-SHA-256', 'ops/alice');
  assert.equal(key, '/ferry/c1/scram/SCRAM-SHA-256/ops%2Falice');
  const raw = (await store.get(key))!.value.toString();
  assert.deepEqual(Object.keys(JSON.parse(raw)).sort(), ['iterations', 'salt', 'serverKey', 'storedKey']);
  assert.ok(!raw.includes('very-secret'));
  assert.deepEqual(await b.get('SCRAM-SHA-256', 'ops/alice'), cred, 'another store instance reads it at once');
  assert.equal(await b.get('SCRAM-SHA-512', 'ops/alice'), null, 'per mechanism');

  await a.apply([
    { type: 'put', user: 'bob', mechanism: 'SCRAM-SHA-512', credential: { ...cred, iterations: 4096 } },
    { type: 'put', user: 'bob', mechanism: 'SCRAM-SHA-256', credential: cred },
  ]);
  assert.deepEqual(await b.list(), [
    { user: 'bob', mechanism: 'SCRAM-SHA-256', iterations: 8192 },
    { user: 'bob', mechanism: 'SCRAM-SHA-512', iterations: 4096 },
    { user: 'ops/alice', mechanism: 'SCRAM-SHA-256', iterations: 8192 },
  ]);
  assert.equal(await b.delete('SCRAM-SHA-512', 'bob'), true);
  assert.equal(await b.delete('SCRAM-SHA-512', 'bob'), false, 'nothing left to delete');
  await a.apply([{ type: 'delete', user: 'ops/alice', mechanism: 'SCRAM-SHA-256' }]);
  assert.equal(await a.get('SCRAM-SHA-256', 'ops/alice'), null);
  assert.deepEqual((await a.list()).map((c) => `${c.user}:${c.mechanism}`), ['bob:SCRAM-SHA-256']);
  // Another cluster's root sees none of it.
  assert.deepEqual(await new MetadataScramCredentialStore(store, new MetadataKeys('c2').root).list(), []);
});
