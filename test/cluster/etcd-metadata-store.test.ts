// EtcdMetadataStore against a real etcd (Debian etcd-server, started per test on free loopback
// ports): the shared conformance suite, then what only etcd has: server limits, pagination,
// compaction, restarts, a paused server, lease fencing, authentication, latency.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { EtcdMetadataStore, type EtcdMetadataStoreOptions } from '../../src/cluster/etcd-metadata-store.js';
import {
  ETCD_LIMITS, MetadataCompactedError, MetadataLeaseNotFoundError, MetadataLimitError, MetadataUnavailableError,
  isRetriableMetadataError, type MetadataStore, type WatchEvent,
} from '../../src/cluster/metadata-store.js';
import { startEtcd, type EtcdServer, type StartEtcdOptions } from '../helpers/etcd.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { collect, runMetadataStoreConformance } from './metadata-store-conformance.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

// etcd counts protobuf framing against --max-request-bytes; give it room so ETCD_LIMITS (checked
// client-side) is the binding limit, as deployments should (see the default-etcd test below).
const ROOMY: StartEtcdOptions = { extraArgs: ['--max-request-bytes', String(ETCD_LIMITS.requestBytesMax + 64 * 1024)] };

type Ctx = { after(fn: () => Promise<void>): void; diagnostic(msg: string): void };

async function etcdAndStore(t: Ctx, options: Partial<EtcdMetadataStoreOptions> = {}, etcdOptions: StartEtcdOptions = ROOMY): Promise<{ etcd: EtcdServer; store: EtcdMetadataStore; open(extra?: Partial<EtcdMetadataStoreOptions>): Promise<EtcdMetadataStore> }> {
  const etcd = await startEtcd(t, etcdOptions);
  const open = async (extra: Partial<EtcdMetadataStoreOptions> = {}): Promise<EtcdMetadataStore> => {
    const s = await EtcdMetadataStore.open({ endpoints: [etcd.endpoint], ...options, ...extra });
    t.after(() => s.close());
    return s;
  };
  return { etcd, store: await open(), open };
}

/** Retries a write made idempotent by its caller until etcd answers (after a restart). */
async function retrying<T>(fn: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetriableMetadataError(err) || Date.now() > deadline) throw err;
      await sleep(20);
    }
  }
}

const servers = new Map<MetadataStore, EtcdServer>();
runMetadataStoreConformance('EtcdMetadataStore', async () => {
  const etcd = await startEtcd(undefined, ROOMY);
  try {
    const store = await EtcdMetadataStore.open({ endpoints: [etcd.endpoint] });
    servers.set(store, etcd);
    return store;
  } catch (err) {
    await etcd.stop();
    throw err;
  }
}, async (store) => {
  await store.close();
  await servers.get(store)?.stop();
  servers.delete(store);
}, { shortLeaseTtlMs: 1000 });

describe('EtcdMetadataStore on a real etcd', () => {
  test('a default etcd (framing counted) refuses a request at the client limit: still MetadataLimitError', async (t) => {
    const { store } = await etcdAndStore(t, {}, {});
    await assert.rejects(store.put('/max', Buffer.alloc(ETCD_LIMITS.requestBytesMax - 4)), (err: Error) =>
      err instanceof MetadataLimitError && /request is too large/.test(err.message));
    await store.put('/almost', Buffer.alloc(ETCD_LIMITS.requestBytesMax - 1024));
    assert.equal((await store.get('/almost'))?.value.length, ETCD_LIMITS.requestBytesMax - 1024);
  });

  test('list pages through a large prefix and returns one snapshot while writers run', async (t) => {
    const { store } = await etcdAndStore(t, { listPageKeys: 7 });
    for (let i = 0; i < 250; i += 125) {
      await store.txn([], Array.from({ length: 125 }, (_, j) => ({ type: 'put' as const, key: `/big/${String(i + j).padStart(4, '0')}`, value: b(String(i + j)) })));
    }
    let stop = false;
    let written = 0;
    const writer = (async () => {
      while (!stop) {
        await store.txn([], [{ type: 'put', key: `/big/${String(written % 250).padStart(4, '0')}`, value: b('changed') }, { type: 'put', key: `/big/new/${written}`, value: b('n') }]);
        written++;
      }
    })();
    try {
      for (let round = 0; round < 5; round++) {
        const { kvs, revision } = await store.listWithRevision('/big/');
        assert.ok(kvs.every((kv) => kv.modRevision <= revision), 'no key newer than the snapshot revision');
        const newKeys = kvs.filter((kv) => kv.key.startsWith('/big/new/')).length;
        assert.equal(kvs.length, 250 + newKeys);
        assert.equal(newKeys, revision - 3, 'exactly the writer txns up to the snapshot revision');
        assert.deepEqual(kvs.map((kv) => kv.key), [...kvs.map((kv) => kv.key)].sort((x, y) => Buffer.compare(b(x), b(y))));
      }
    } finally {
      stop = true;
      await writer;
    }
    assert.ok(written > 0);
  });

  test('compaction ends a watch from older history with MetadataCompactedError via onError', async (t) => {
    const { etcd, store } = await etcdAndStore(t);
    for (let i = 0; i < 10; i++) await store.put(`/c/${i}`, b(String(i)));
    const raw = new Etcd3({ hosts: etcd.endpoint });
    t.after(async () => raw.close());
    await raw.kv.compact({ revision: 8, physical: true });
    const err = await new Promise<Error>((resolve) => { store.watch('/c/', 3, () => assert.fail('no events before the error'), resolve); });
    assert.ok(err instanceof MetadataCompactedError, String(err));
    assert.deepEqual([err.requestedRevision, err.oldestRevision], [3, 8]);
    const w = collect();
    store.watch('/c/', 8, w.onEvent, (e) => assert.fail(e));
    await w.until(4);
    assert.deepEqual(w.events.map((e) => e.kv.modRevision), [8, 9, 10, 11]);
  });

  test('a watch resumes across an etcd restart without losing or repeating events', async (t) => {
    const { etcd, store: writer, open } = await etcdAndStore(t);
    // A slow first reconnect, so the writes after the restart land before the watch is back and
    // must come from history.
    const watcher = await open({ watchRetryInitialMs: 3000 });
    const events: WatchEvent[] = [];
    const errors: Error[] = [];
    watcher.watch('/r/', 0, (e) => events.push(e), (e) => errors.push(e));
    const put = (i: number) => retrying(() => writer.txn([{ key: `/r/${i}`, target: 'version', op: '==', value: 0 }], [{ type: 'put', key: `/r/${i}`, value: b(String(i)) }]));
    for (let i = 0; i < 40; i++) await put(i);
    await waitFor(() => events.length >= 20, 5000, 'some events before the restart', 10);
    const killedAt = Date.now();
    await etcd.kill();
    await etcd.restart();
    for (let i = 40; i < 80; i++) await put(i);
    // The first reconnect comes at least 2250 ms (3000 ms minus jitter) after the stream failed.
    assert.ok(Date.now() - killedAt < 2000, 'the writes after the restart came before the watch reconnected');
    await waitFor(() => events.length >= 80, 10_000, () => `80 events, have ${events.length}`, 20);
    await sleep(100);
    assert.deepEqual(errors, []);
    assert.deepEqual(events.map((e) => e.kv.key), Array.from({ length: 80 }, (_, i) => `/r/${i}`), 'every event once, in order');
    assert.deepEqual(events.map((e) => e.kv.modRevision), Array.from({ length: 80 }, (_, i) => i + 2));
  });

  test('a paused etcd: calls fail with retriable typed errors within the timeout, and work again after resume', async (t) => {
    const { etcd, store } = await etcdAndStore(t, { requestTimeoutMs: 300 });
    await store.put('/p', b('1'));
    const w = collect(10_000);
    store.watch('/p', 0, w.onEvent, (e) => assert.fail(e));
    await etcd.pause();
    const calls: [string, () => Promise<unknown>, boolean][] = [
      ['get', () => store.get('/p'), false],
      ['list', () => store.list('/'), false],
      ['put', () => store.put('/p', b('2')), true],
      ['txn', () => store.txn([], [{ type: 'delete', key: '/p' }]), true],
      ['revision', () => store.revision(), false],
      ['grantLease', () => store.grantLease(5000), true],
    ];
    for (const [name, call, write] of calls) {
      const t0 = Date.now();
      await assert.rejects(call(), (err: Error) => {
        assert.ok(err instanceof MetadataUnavailableError, `${name}: ${err.constructor.name}: ${err.message}`);
        assert.equal(err.mayHaveApplied, write, name);
        assert.equal(err.code, 'METADATA_UNAVAILABLE');
        return true;
      }, `${name} while etcd is paused`);
      const ms = Date.now() - t0;
      assert.ok(ms >= 250 && ms < 1500, `${name} failed after ${ms} ms`);
    }
    await etcd.resume();
    const value = await retrying(() => store.get('/p'), 5000);
    assert.ok(['1', '2'].includes(value!.value.toString()), 'the put during the pause may or may not have applied');
    const revision = await store.put('/p', b('3'));
    assert.equal((await store.get('/p'))?.value.toString(), '3');
    // The watch made before the pause carries on: it sees the last put (and the ones in the pause, if applied).
    await waitFor(() => w.events.some((e) => e.kv.modRevision === revision), 10_000, 'the watch to see the put after resume', 20);
    const revisions = w.events.map((e) => e.kv.modRevision);
    assert.deepEqual(revisions, [...new Set(revisions)].sort((x, y) => x - y), 'in order, no repeats');
  });

  test('fencing: with etcd unreachable the lease turns lost no later than its TTL after the last renewal; its keys go', async (t) => {
    const { etcd, store, open } = await etcdAndStore(t, { requestTimeoutMs: 300 });
    const lease = await store.grantLease(2000);
    assert.equal(lease.ttlMs, 2000);
    await store.put('/brokers/1', b('me'), lease.id);
    await sleep(800); // a couple of renewals
    assert.ok(lease.remainingMs > 1000, `remaining ${lease.remainingMs} ms after renewals`);
    const lostAt = new Promise<number>((resolve) => lease.onLost(() => resolve(Date.now())));
    const remainingAtPause = lease.remainingMs;
    const pausedAt = Date.now();
    await etcd.pause();
    const lost = await lostAt;
    assert.equal(lease.isLost, true);
    assert.equal(lease.remainingMs, 0);
    const after = lost - pausedAt;
    assert.ok(after <= remainingAtPause + 200, `lost ${after} ms after the pause, remaining was ${remainingAtPause} ms`);
    assert.ok(after >= 1000, `not lost early (${after} ms)`);
    await assert.rejects(store.put('/brokers/1', b('zombie'), lease.id), MetadataLeaseNotFoundError);
    await etcd.resume();
    const other = await open();
    await waitFor(async () => (await other.get('/brokers/1')) === null, 5000, 'the lease keys to go after resume', 50);
  });

  test('a lease revoked behind our back (keepalive TTL 0) fires onLost within a renewal period', async (t) => {
    const { etcd, store } = await etcdAndStore(t);
    const lease = await store.grantLease(3000);
    await store.put('/k', b(''), lease.id);
    const reasons: string[] = [];
    lease.onLost((r) => reasons.push(r));
    const raw = new Etcd3({ hosts: etcd.endpoint });
    t.after(async () => raw.close());
    await raw.leaseClient.leaseRevoke({ ID: lease.id });
    const t0 = Date.now();
    await waitFor(() => reasons.length > 0, 3000, 'onLost', 10);
    assert.deepEqual(reasons, ['expired']);
    assert.ok(Date.now() - t0 < 1200, `noticed after ${Date.now() - t0} ms`);
    assert.equal(await store.get('/k'), null);
  });

  test('open fails fast and typed when etcd is not there; bad endpoints are refused', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await assert.rejects(EtcdMetadataStore.open({ endpoints: [`http://127.0.0.1:${port}`], requestTimeoutMs: 500 }), MetadataUnavailableError);
    assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
    await assert.rejects(EtcdMetadataStore.open({ endpoints: ['127.0.0.1:2379'] }), MetadataLimitError);
    await assert.rejects(EtcdMetadataStore.open({ endpoints: [] }), MetadataLimitError);
  });

  test('authentication: a wrong password is a typed error that never shows it; the right one works', async (t) => {
    const etcd = await startEtcd(t);
    const raw = new Etcd3({ hosts: etcd.endpoint });
    await raw.role('root').create();
    const root = await raw.user('root').create('s3cret-root-pw');
    await root.addRole('root');
    await raw.auth.authEnable();
    raw.close();
    const wrong = 'wrong-pw-XYZ';
    await assert.rejects(EtcdMetadataStore.open({ endpoints: [etcd.endpoint], username: 'root', password: wrong, requestTimeoutMs: 2000 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'METADATA_AUTH', err.message);
      assert.ok(!err.message.includes(wrong) && !String(err.stack).includes(wrong), 'the password is not in the error');
      return true;
    });
    const store = await EtcdMetadataStore.open({ endpoints: [etcd.endpoint], username: 'root', password: 's3cret-root-pw' });
    t.after(() => store.close());
    await store.put('/a', b('1'));
    const w = collect();
    store.watch('/a', 0, w.onEvent, (e) => assert.fail(e));
    await store.put('/a', b('2'));
    await w.until(1);
    const lease = await store.grantLease(1000);
    await lease.keepAliveOnce();
    await lease.revoke();
  });

  test('an exception in a watch callback goes to onWatchError and the watch goes on', async (t) => {
    const thrown: unknown[] = [];
    const { store } = await etcdAndStore(t, { onWatchError: (err) => thrown.push(err) });
    const seen: number[] = [];
    store.watch('/x/', 0, (e) => { seen.push(e.kv.modRevision); if (seen.length === 1) throw new Error('callback bug'); });
    const first = await store.put('/x/1', b('1'));
    const second = await store.put('/x/2', b('2'));
    await waitFor(() => seen.length === 2, 5000, 'both events', 10);
    assert.deepEqual(seen, [first, second]);
    assert.equal(thrown.length, 1);
    assert.match((thrown[0] as Error).message, /callback bug/);
  });

  test('latency against the local etcd (put and txn p50/p99)', async (t) => {
    const { store } = await etcdAndStore(t);
    const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
    const measure = async (n: number, op: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> => {
      const lat: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await op(i);
        lat.push(performance.now() - t0);
      }
      lat.sort((x, y) => x - y);
      return { p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
    };
    const value = Buffer.alloc(100, 1);
    await measure(50, (i) => store.put(`/warm/${i}`, value));
    const put = await measure(1000, (i) => store.put(`/lat/${i % 100}`, value));
    await store.put('/cas', b('0'));
    const txn = await measure(1000, async (i) => {
      const r = await store.txn([{ key: '/cas', target: 'value', op: '==', value: b(String(i)) }], [{ type: 'put', key: '/cas', value: b(String(i + 1)) }]);
      assert.ok(r.succeeded);
    });
    const get = await measure(1000, (i) => store.get(`/lat/${i % 100}`));
    t.diagnostic(`put p50 ${put.p50.toFixed(2)} ms p99 ${put.p99.toFixed(2)} ms; txn (compare+put) p50 ${txn.p50.toFixed(2)} ms p99 ${txn.p99.toFixed(2)} ms; get p50 ${get.p50.toFixed(2)} ms p99 ${get.p99.toFixed(2)} ms`);
    assert.ok(put.p50 < 50 && txn.p50 < 50, 'a loopback etcd answers in milliseconds');
  });
});
