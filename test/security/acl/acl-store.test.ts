// AclStore on the real metadata stores: the local one (one broker) and a real etcd (a cluster).
// Writes are compare-and-put, so concurrent creates on one resource from two stores all land;
// followers apply every change (their own at once, others' through the watch) and re-read
// everything after a failed watch; on etcd two followers see each other's changes in < 1 s,
// also across an etcd restart.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { AclStore } from '../../../src/security/acl/acl-store.js';
import { AclAuthorizer } from '../../../src/security/acl/acl-authorizer.js';
import { openAcls } from '../../../src/security/acl/open-acls.js';
import { ANY_FILTER, type AclBinding, type AclBindingFilter } from '../../../src/security/acl/acl-model.js';
import { aclKey } from '../../../src/security/acl/acl-keys.js';
import { MetadataKeys } from '../../../src/cluster/metadata-keys.js';
import { EtcdMetadataStore } from '../../../src/cluster/etcd-metadata-store.js';
import type { MetadataStore } from '../../../src/cluster/metadata-store.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { newSession } from '../../../src/server/session.js';
import { tempStore } from '../../cluster/temp-store.js';
import { startEtcd, type EtcdServer } from '../../helpers/etcd.js';

const log = pino({ level: process.env.FERRY_TEST_LOG ?? 'silent' });

function acl(over: Partial<AclBinding> = {}): AclBinding {
  return { resourceType: 'TOPIC', resourceName: 'orders', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'READ', permission: 'ALLOW', ...over };
}

const sortKey = (b: AclBinding) => `${b.resourceType}/${b.patternType}/${b.resourceName}/${b.principal}/${b.host}/${b.operation}/${b.permission}`;
const sorted = (bs: AclBinding[]) => [...bs].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));

async function until(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now() - t0;
}

/** A follower with an authorizer subscribed, closed after the test. */
async function follower(t: { after(fn: () => void): void }, store: MetadataStore, cluster: string) {
  const acls = new AclStore({ store, root: new MetadataKeys(cluster).root, log, resyncDelayMs: 20 });
  const authorizer = new AclAuthorizer({ log });
  acls.subscribe(authorizer);
  await acls.start();
  t.after(() => acls.close());
  return { acls, authorizer };
}

const alice = newSession('PLAINTEXT', 'PLAINTEXT', '10.0.0.1', { type: 'User', name: 'alice' });

/** The real store, with a switch that fails its current watches (as a lost etcd stream that cannot resume would). */
function withWatchFailures(real: MetadataStore): { store: MetadataStore; failWatches(): void } {
  const live = new Set<{ cancel: () => void; onError?: (err: Error) => void }>();
  const store: MetadataStore = Object.create(real) as MetadataStore;
  store.watch = (prefix, from, onEvent, onError) => {
    const w = { cancel: real.watch(prefix, from, onEvent, onError), onError };
    live.add(w);
    return () => { live.delete(w); w.cancel(); };
  };
  for (const m of ['get', 'list', 'listWithRevision', 'put', 'delete', 'txn', 'revision'] as const) (store as any)[m] = (real as any)[m].bind(real);
  return {
    store,
    failWatches() {
      for (const w of [...live]) { live.delete(w); w.cancel(); w.onError?.(new Error('injected watch failure')); }
    },
  };
}

describe('AclStore on the local metadata store', () => {
  test('create, describe with filters, delete with filters; own writes visible at once', async (t) => {
    const { store } = await tempStore(t);
    const { acls, authorizer } = await follower(t, store, 'c1');
    const bindings = [
      acl(), acl({ operation: 'WRITE' }), acl({ principal: 'User:bob', permission: 'DENY' }),
      acl({ resourceName: 'ord', patternType: 'PREFIXED', principal: 'User:carol' }),
      acl({ resourceName: '*', principal: 'User:*', operation: 'DESCRIBE' }),
      acl({ resourceType: 'GROUP', resourceName: 'g/1' }),
    ];
    assert.deepEqual(await acls.create(bindings), bindings.map(() => null));
    assert.deepEqual(await acls.create([acl()]), [null], 'creating an existing binding succeeds (a set)');
    assert.equal(acls.size, 6);
    assert.equal(authorizer.aclCount, 6);
    assert.equal(authorizer.authorize(alice, 'READ', 'TOPIC', 'orders'), true);

    const describe = (f: Partial<AclBindingFilter>) => sorted(acls.describe({ ...ANY_FILTER, ...f }));
    assert.equal(describe({}).length, 6);
    assert.deepEqual(describe({ resourceType: 'TOPIC', resourceName: 'orders', patternType: 'LITERAL' }), sorted(bindings.slice(0, 3)));
    assert.deepEqual(describe({ resourceType: 'TOPIC', resourceName: 'orders', patternType: 'MATCH' }), sorted(bindings.slice(0, 5)));
    assert.deepEqual(describe({ resourceType: 'TOPIC', resourceName: 'orders', patternType: 'ANY' }), sorted(bindings.slice(0, 3)));
    assert.deepEqual(describe({ patternType: 'PREFIXED' }), [bindings[3]]);
    assert.deepEqual(describe({ permission: 'DENY' }), [bindings[2]]);
    assert.deepEqual(describe({ resourceType: 'GROUP', resourceName: 'g/1', patternType: 'LITERAL' }), [bindings[5]]);

    // The key layout: one key per resource pattern.
    const keys = (await store.list('/ferry/c1/acls/')).map((kv) => kv.key);
    assert.deepEqual(keys.sort(), [
      '/ferry/c1/acls/GROUP/LITERAL/g%2F1', '/ferry/c1/acls/TOPIC/LITERAL/*', '/ferry/c1/acls/TOPIC/LITERAL/orders', '/ferry/c1/acls/TOPIC/PREFIXED/ord',
    ]);

    // Delete: each filter lists what it removed; a binding matched by two filters is in both.
    const r = await acls.delete([
      { ...ANY_FILTER, resourceType: 'TOPIC', resourceName: 'orders', patternType: 'LITERAL', principal: 'User:alice', operation: 'WRITE' },
      { ...ANY_FILTER, operation: 'WRITE' },
      { ...ANY_FILTER, resourceType: 'TOPIC', resourceName: 'nothing', patternType: 'MATCH', principal: 'User:nobody' },
    ]);
    assert.deepEqual(r.map((x) => x.deleted.map((d) => d.binding)), [[bindings[1]], [bindings[1]], []]);
    assert.equal(acls.size, 5);
    const m = await acls.delete([{ ...ANY_FILTER, resourceType: 'TOPIC', resourceName: 'orders-eu', patternType: 'MATCH' }]);
    assert.deepEqual(sorted(m[0]!.deleted.map((d) => d.binding)), sorted([bindings[3]!, bindings[4]!]), 'MATCH deletes the prefixed and wildcard patterns that apply');
    const all = await acls.delete([ANY_FILTER]);
    assert.equal(all[0]!.deleted.length, 3);
    assert.equal(acls.size, 0);
    assert.equal(authorizer.aclCount, 0);
    assert.deepEqual(await store.list('/ferry/c1/acls/'), [], 'emptied resources leave no key');
  });

  test('concurrent creates on one resource from two followers all land (compare-and-put)', async (t) => {
    const { store } = await tempStore(t);
    const a = await follower(t, store, 'cas');
    const b = await follower(t, store, 'cas');
    const mine = (who: string) => Array.from({ length: 40 }, (_, i) => acl({ principal: `User:${who}-${i}` }));
    const results = await Promise.all([
      ...mine('a').map((x) => a.acls.create([x])),
      ...mine('b').map((x) => b.acls.create([x])),
    ]);
    assert.ok(results.flat().every((e) => e === null));
    const kv = await store.get(aclKey('/ferry/cas/', acl()));
    assert.equal(JSON.parse(kv!.value.toString()).acls.length, 80);
    await until('both followers hold all 80', () => a.acls.size === 80 && b.acls.size === 80);
    assert.equal(b.authorizer.authorize(newSession('P', 'PLAINTEXT', '1.2.3.4', { type: 'User', name: 'a-17' }), 'READ', 'TOPIC', 'orders'), true);
    // Concurrent deletes and creates on the same key.
    const del = await Promise.all([
      a.acls.delete([{ ...ANY_FILTER, principal: 'User:a-1' }]),
      b.acls.delete([{ ...ANY_FILTER, principal: 'User:b-1' }]),
      a.acls.create([acl({ principal: 'User:late' })]),
    ]);
    assert.equal(del[0][0]!.deleted.length, 1);
    assert.equal(del[1][0]!.deleted.length, 1);
    await until('79 on both', () => a.acls.size === 79 && b.acls.size === 79);
  });

  test('a failed watch: the follower reads everything again and misses nothing', async (t) => {
    const { store: real } = await tempStore(t);
    const faulty = withWatchFailures(real);
    const f = await follower(t, faulty.store, 'resync');
    const writer = new AclStore({ store: real, root: '/ferry/resync/', log });
    await writer.create([acl(), acl({ resourceName: 'x' })]);
    await until('first change', () => f.acls.size === 2);
    faulty.failWatches();
    // Changes while the follower has no watch: a create, a delete, a replaced key.
    await writer.create([acl({ resourceName: 'y' }), acl({ operation: 'ALL' })]);
    await writer.delete([{ ...ANY_FILTER, resourceName: 'x' }]);
    await until('resynchronised', () => f.acls.size === 3);
    assert.deepEqual(sorted(f.acls.describe(ANY_FILTER)), sorted([acl(), acl({ operation: 'ALL' }), acl({ resourceName: 'y' })]));
    assert.equal(f.authorizer.authorize(alice, 'WRITE', 'TOPIC', 'orders'), true, 'ALL arrived');
    // And it follows again after the resync.
    await writer.delete([ANY_FILTER]);
    await until('emptied', () => f.acls.size === 0 && f.authorizer.aclCount === 0);
  });

  test('a resource name too long for a key is INVALID_REQUEST, the others of the request still land', async (t) => {
    const { store } = await tempStore(t);
    const f = await follower(t, store, 'long');
    const r = await f.acls.create([acl({ resourceName: 'x'.repeat(5000) }), acl()]);
    assert.equal(r[0]?.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(r[1], null);
    assert.equal(f.acls.size, 1);
  });

  test('openAcls: the authorizer is ready with every stored ACL when it resolves', async (t) => {
    const { store } = await tempStore(t);
    await new AclStore({ store, root: '/ferry/open/', log }).create([acl(), acl({ principal: 'User:*', operation: 'ALL', permission: 'DENY', resourceName: 'locked' })]);
    const opened = await openAcls({ store, root: '/ferry/open/', superUsers: 'User:root', allowEveryoneIfNoAclFound: true, log });
    t.after(() => opened.close());
    assert.equal(opened.authorizer.aclCount, 2);
    assert.equal(opened.authorizer.authorize(alice, 'READ', 'TOPIC', 'orders'), true);
    assert.equal(opened.authorizer.authorize(alice, 'READ', 'TOPIC', 'locked'), false);
    assert.equal(opened.authorizer.authorize(alice, 'READ', 'TOPIC', 'open'), true, 'allow.everyone.if.no.acl.found');
    assert.equal(opened.authorizer.authorize(newSession('P', 'PLAINTEXT', '1.1.1.1', { type: 'User', name: 'root' }), 'ALTER', 'TOPIC', 'locked'), true);
  });

  test('an unreadable value is logged and ignored, keeping what was there', async (t) => {
    const { store } = await tempStore(t);
    const f = await follower(t, store, 'bad');
    await f.acls.create([acl({ permission: 'DENY' })]);
    await store.put(aclKey('/ferry/bad/', acl()), Buffer.from('not json'));
    await store.put('/ferry/bad/acls/TOPIC/LITERAL', Buffer.from('{}'));
    await store.put('/ferry/bad/acls/OTHER', Buffer.from('{}'));
    const marker = new AclStore({ store, root: '/ferry/bad/', log });
    await marker.create([acl({ resourceName: 'marker' })]);
    await until('the marker', () => f.acls.size === 2);
    assert.equal(f.acls.describe({ ...ANY_FILTER, resourceName: 'orders' })[0]!.permission, 'DENY');
    const r = await f.acls.create([acl({ principal: 'User:z' })]);
    assert.equal(r[0]!.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR, 'writing over an unreadable value is refused');
  });
});

describe('AclStore on etcd', () => {
  let etcd: EtcdServer;
  before(async () => { etcd = await startEtcd(); });
  after(async () => { await etcd?.stop(); });

  async function open(t: { after(fn: () => Promise<void>): void }, requestTimeoutMs = 5000): Promise<EtcdMetadataStore> {
    const s = await EtcdMetadataStore.open({ endpoints: [etcd.endpoint], requestTimeoutMs });
    t.after(() => s.close());
    return s;
  }

  test('two followers on one etcd see each other\'s changes in < 1 s, also after an etcd restart', async (t) => {
    const [sa, sb] = [await open(t), await open(t)];
    const a = await follower(t, sa, 'e1');
    const b = await follower(t, sb, 'e1');
    const lags: number[] = [];
    for (let i = 0; i < 5; i++) {
      const name = `t-${i}`;
      await a.acls.create([acl({ resourceName: name })]);
      lags.push(await until(`B allows ${name}`, () => b.authorizer.authorize(alice, 'READ', 'TOPIC', name), 1_000));
      await b.acls.delete([{ ...ANY_FILTER, resourceName: name }]);
      lags.push(await until(`A stops allowing ${name}`, () => !a.authorizer.authorize(alice, 'READ', 'TOPIC', name), 1_000));
    }
    t.diagnostic(`change seen by the other follower after ${lags.map((l) => l.toFixed(1)).join(', ')} ms`);

    await etcd.kill();
    await etcd.restart();
    // The client reconnects; a write may need a retry while it does.
    let created = false;
    for (let i = 0; i < 50 && !created; i++) {
      created = (await a.acls.create([acl({ resourceName: 'after-restart' })]))[0] === null;
      if (!created) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(created);
    const lag = await until('B sees the change made after the restart', () => b.authorizer.authorize(alice, 'READ', 'TOPIC', 'after-restart'), 5_000);
    t.diagnostic(`after the etcd restart: seen after ${lag.toFixed(0)} ms`);
  });

  test('concurrent creates on one resource from two brokers both land', async (t) => {
    const [sa, sb] = [await open(t), await open(t)];
    const a = await follower(t, sa, 'e2');
    const b = await follower(t, sb, 'e2');
    const res = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).acls.create([acl({ principal: `User:u${i}` }), acl({ resourceType: 'GROUP', resourceName: 'g', principal: `User:u${i}` })])));
    assert.ok(res.flat().every((e) => e === null));
    await until('both hold 60', () => a.acls.size === 60 && b.acls.size === 60);
    assert.equal(JSON.parse((await sa.get(aclKey('/ferry/e2/', acl())))!.value.toString()).acls.length, 30);
  });

  test('etcd unavailable: the write fails with a retriable error and the follower keeps its ACLs', async (t) => {
    const s = await open(t, 300);
    const f = await follower(t, s, 'e3');
    await f.acls.create([acl()]);
    await etcd.pause();
    try {
      const r = await f.acls.create([acl({ principal: 'User:late' })]);
      assert.equal(r[0]?.errorCode, ErrorCode.REQUEST_TIMED_OUT, String(r[0]?.message));
      assert.equal(f.authorizer.authorize(alice, 'READ', 'TOPIC', 'orders'), true);
    } finally {
      await etcd.resume();
    }
  });
});
