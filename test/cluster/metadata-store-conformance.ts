// The MetadataStore semantics every backend must have (etcd's), as one suite run against each:
//   runMetadataStoreConformance('LocalMetadataStore', open, cleanup)   (local-metadata-store.test.ts)
//   runMetadataStoreConformance('EtcdMetadataStore', open, cleanup)    (etcd-metadata-store.test.ts)
// `open` must give a fresh, empty store (revision 1, like a new etcd); `cleanup` closes it and
// removes whatever backs it. Backend-specific behaviour (files, crash recovery, etcd faults) is
// tested beside each backend.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MetadataLeaseNotFoundError, MetadataLimitError, MetadataStoreClosedError, compareKeys, type Compare, type MetadataStore, type Op,
  type WatchEvent,
} from '../../src/cluster/metadata-store.js';
import { waitFor } from '../helpers/wait.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

export interface ConformanceOptions {
  /** A lease TTL the backend honours as given (etcd: whole seconds, at least 1 s). */
  shortLeaseTtlMs: number;
}

/** Collects watch events; until(n) waits for n of them. */
export function collect(timeoutMs = 5000): { events: WatchEvent[]; onEvent: (e: WatchEvent) => void; until(n: number): Promise<void> } {
  const events: WatchEvent[] = [];
  let wake: (() => void) | null = null;
  return {
    events,
    onEvent: (e) => { events.push(e); wake?.(); },
    async until(n) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${events.length} of ${n} events`);
        await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
      }
    },
  };
}

/** The full state as comparable plain data. */
async function dump(store: MetadataStore, prefix = ''): Promise<{ revision: number; kvs: [string, string, number, number, number][] }> {
  const { kvs, revision } = await store.listWithRevision(prefix);
  return { revision, kvs: kvs.map((kv) => [kv.key, kv.value.toString('hex'), kv.createRevision, kv.modRevision, kv.version]) };
}

export function runMetadataStoreConformance(
  name: string,
  open: () => Promise<MetadataStore>,
  cleanup: (store: MetadataStore) => Promise<void>,
  options: ConformanceOptions = { shortLeaseTtlMs: 60 },
): void {
  const fresh = async (t: { after(fn: () => Promise<void>): void }): Promise<MetadataStore> => {
    const store = await open();
    t.after(() => cleanup(store));
    return store;
  };

  describe(`${name} conformance: keys, revisions, transactions`, () => {
    test('revisions, versions, createRevision and deletes', async (t) => {
      const store = await fresh(t);
      assert.equal(await store.revision(), 1, 'an empty store is at revision 1, like etcd');
      assert.equal(await store.get('/a'), null);
      assert.equal(await store.put('/a', b('1')), 2);
      assert.equal(await store.put('/a', b('2')), 3);
      const a = await store.get('/a');
      assert.deepEqual([a?.value.toString(), a?.createRevision, a?.modRevision, a?.version], ['2', 2, 3, 2]);
      assert.equal(a?.leaseId, undefined);
      assert.equal(await store.delete('/missing'), 3, 'deleting a missing key changes nothing');
      assert.equal(await store.delete('/a'), 4);
      assert.equal(await store.get('/a'), null);
      assert.equal(await store.put('/a', b('3')), 5);
      const again = await store.get('/a');
      assert.deepEqual([again?.createRevision, again?.version], [5, 1], 'version restarts after delete');
      assert.equal(await store.revision(), 5);
    });

    test('list returns keys with the prefix in UTF-8 byte order', async (t) => {
      const store = await fresh(t);
      const keys = ['/p/b', '/p/a', '/p/\u{1F600}', '/p/\uFFFD', '/p/a/x', '/q', '/p', '/p/Z'];
      for (const k of keys) await store.put(k, b(k));
      const listed = (await store.list('/p/')).map((kv) => kv.key);
      const expected = keys.filter((k) => k.startsWith('/p/')).sort((x, y) => Buffer.compare(b(x), b(y)));
      assert.deepEqual(listed, expected);
      assert.equal(listed.at(-1), '/p/\u{1F600}', 'the 4-byte UTF-8 character sorts after U+FFFD');
      assert.deepEqual((await store.list('')).map((kv) => kv.key), [...keys].sort(compareKeys), 'the empty prefix lists everything');
      const { kvs, revision } = await store.listWithRevision('/none/');
      assert.deepEqual([kvs, revision], [[], 9]);
    });

    test('txn compares: create-if-absent, modRevision, version, value; failure branch', async (t) => {
      const store = await fresh(t);
      const create = () => store.txn([{ key: '/t', target: 'createRevision', op: '==', value: 0 }], [{ type: 'put', key: '/t', value: b('v1') }], [{ type: 'put', key: '/lost', value: b('x') }]);
      const first = await create();
      assert.deepEqual(first, { succeeded: true, revision: 2 });
      const second = await create();
      assert.deepEqual(second, { succeeded: false, revision: 3 }, 'failure ops ran and bumped the revision');
      assert.equal((await store.get('/lost'))?.value.toString(), 'x');

      const mod = (await store.get('/t'))!.modRevision;
      assert.equal((await store.txn([{ key: '/t', target: 'modRevision', op: '==', value: mod }], [{ type: 'put', key: '/t', value: b('v2') }])).succeeded, true);
      assert.equal((await store.txn([{ key: '/t', target: 'modRevision', op: '==', value: mod }], [{ type: 'put', key: '/t', value: b('v3') }])).succeeded, false, 'stale modRevision');
      assert.equal((await store.txn([{ key: '/t', target: 'version', op: '==', value: 2 }], [])).succeeded, true);
      assert.equal((await store.txn([{ key: '/t', target: 'version', op: '>', value: 2 }], [])).succeeded, false);
      assert.equal((await store.txn([{ key: '/t', target: 'value', op: '==', value: b('v2') }], [])).succeeded, true);
      assert.equal((await store.txn([{ key: '/t', target: 'value', op: '<', value: b('v3') }], [])).succeeded, true);
      assert.equal((await store.txn([{ key: '/t', target: 'value', op: '>', value: b('v3') }], [])).succeeded, false);
      assert.equal((await store.txn([{ key: '/t', target: 'value', op: '!=', value: b('v2') }], [])).succeeded, false);
      assert.equal((await store.txn([{ key: '/t', target: 'createRevision', op: '<', value: 3 }], [])).succeeded, true);
      assert.equal((await store.txn([{ key: '/t', target: 'modRevision', op: '!=', value: mod }], [])).succeeded, true);
      // Missing key: value compares are always false (even !=), other targets compare as 0.
      assert.equal((await store.txn([{ key: '/none', target: 'value', op: '!=', value: b('a') }], [])).succeeded, false);
      assert.equal((await store.txn([{ key: '/none', target: 'version', op: '==', value: 0 }], [])).succeeded, true);
      assert.equal((await store.txn([{ key: '/none', target: 'modRevision', op: '<', value: 1 }], [])).succeeded, true);
      // All compares must hold.
      assert.equal((await store.txn([
        { key: '/t', target: 'version', op: '==', value: 2 },
        { key: '/none', target: 'version', op: '!=', value: 0 },
      ], [{ type: 'put', key: '/never', value: b('') }])).succeeded, false);
      assert.equal(await store.get('/never'), null);
    });

    test('a txn is one revision; deletePrefix removes the range', async (t) => {
      const store = await fresh(t);
      for (const k of ['/d/1', '/d/2', '/d/3', '/e']) await store.put(k, b(k));
      const r = await store.txn([], [{ type: 'deletePrefix', prefix: '/d/' }, { type: 'put', key: '/f', value: b('f') }, { type: 'delete', key: '/e' }]);
      assert.deepEqual(r, { succeeded: true, revision: 6 });
      assert.deepEqual((await store.list('/')).map((kv) => [kv.key, kv.modRevision]), [['/f', 6]]);
      const noop = await store.txn([], [{ type: 'deletePrefix', prefix: '/d/' }]);
      assert.equal(noop.revision, 6, 'a txn that changes nothing keeps the revision');
      const failedNoop = await store.txn([{ key: '/f', target: 'version', op: '==', value: 9 }], [{ type: 'delete', key: '/f' }]);
      assert.deepEqual(failedNoop, { succeeded: false, revision: 6 });
    });

    test('limits: value size, op count, duplicate and overlapping keys, compare types', async (t) => {
      const store = await fresh(t);
      await assert.rejects(store.put('/big', Buffer.alloc(1.5 * 1024 * 1024 + 1)), MetadataLimitError);
      await store.put('/max', Buffer.alloc(1.5 * 1024 * 1024 - 4));
      const ops = Array.from({ length: 129 }, (_, i) => ({ type: 'put' as const, key: `/k${i}`, value: b('') }));
      await assert.rejects(store.txn([], ops), /129 success ops, more than 128/);
      await store.txn([], ops.slice(0, 128));
      await assert.rejects(store.txn([], [{ type: 'put', key: '/x', value: b('1') }, { type: 'put', key: '/x', value: b('2') }]), /puts \/x twice/);
      await assert.rejects(store.txn([], [{ type: 'put', key: '/x/1', value: b('1') }, { type: 'deletePrefix', prefix: '/x/' }]), /both puts and deletes/);
      await assert.rejects(store.txn([{ key: '/x', target: 'value', op: '==', value: 1 }], []), /needs a Buffer/);
      await assert.rejects(store.txn([{ key: '/x', target: 'version', op: '==', value: b('1') }], []), /needs an integer/);
      await assert.rejects(store.put('', b('')), /non-empty/);
      await assert.rejects(store.get('/' + 'k'.repeat(5000)), MetadataLimitError);
      await assert.rejects(store.txn([], [
        { type: 'put', key: '/half1', value: Buffer.alloc(800 * 1024) }, { type: 'put', key: '/half2', value: Buffer.alloc(800 * 1024) },
      ]), /exceeds/);
      assert.equal(await store.revision(), 3, 'rejected requests change nothing');
    });

    test('limits: an unknown compare target or a branch that is not a list is refused, not evaluated (etcd cannot express either)', async (t) => {
      const store = await fresh(t);
      await store.put('/y', b('1'));
      const bogus = { key: '/y', target: 'lease', op: '==', value: 0 } as unknown as Compare;
      await assert.rejects(store.txn([bogus], [{ type: 'put', key: '/y', value: b('2') }]), (err: Error) => err instanceof MetadataLimitError && /unknown compare target lease/.test(err.message));
      await assert.rejects(store.txn([], { type: 'put', key: '/y', value: b('2') } as unknown as Op[]), (err: Error) => err instanceof MetadataLimitError && /success ops must be an array/.test(err.message));
      await assert.rejects(store.txn([], [], null as unknown as Op[]), (err: Error) => err instanceof MetadataLimitError && /failure ops must be an array/.test(err.message));
      assert.equal((await store.get('/y'))?.value.toString(), '1');
      assert.equal(await store.revision(), 2, 'rejected requests change nothing');
    });

    test('inputs are copied: reusing the caller buffer does not change stored values', async (t) => {
      const store = await fresh(t);
      const buf = b('abc');
      const p = store.put('/c', buf);
      buf.write('xyz');
      await p;
      assert.equal((await store.get('/c'))?.value.toString(), 'abc');
      const ops = [{ type: 'put' as const, key: '/d', value: b('def') }];
      const q = store.txn([], ops);
      ops[0]!.value.write('uvw');
      await q;
      assert.equal((await store.get('/d'))?.value.toString(), 'def');
    });

    test('concurrent compare-and-swap increments never lose an update', async (t) => {
      const store = await fresh(t);
      await store.put('/counter', b('0'));
      let conflicts = 0;
      const increment = async (): Promise<void> => {
        for (;;) {
          const kv = (await store.get('/counter'))!;
          const next = b(String(Number(kv.value.toString()) + 1));
          const r = await store.txn([{ key: '/counter', target: 'modRevision', op: '==', value: kv.modRevision }], [{ type: 'put', key: '/counter', value: next }]);
          if (r.succeeded) return;
          conflicts++;
        }
      };
      await Promise.all(Array.from({ length: 50 }, increment));
      assert.equal((await store.get('/counter'))?.value.toString(), '50');
      assert.ok(conflicts > 0, 'the test really raced');
    });

    test('a closed store rejects every call with a typed error', async () => {
      const store = await open();
      await store.put('/a', b('1'));
      await cleanup(store);
      await assert.rejects(store.get('/a'), MetadataStoreClosedError);
      await assert.rejects(store.put('/a', b('2')), MetadataStoreClosedError);
      await assert.rejects(store.txn([], []), MetadataStoreClosedError);
      await assert.rejects(store.grantLease(1000), MetadataStoreClosedError);
      await assert.rejects(store.revision(), MetadataStoreClosedError);
      await store.close(); // idempotent
    });
  });

  describe(`${name} conformance: watches`, () => {
    test('live events in revision order, filtered by prefix', async (t) => {
      const store = await fresh(t);
      const w = collect();
      const cancel = store.watch('/w/', 0, w.onEvent);
      await store.put('/w/a', b('1'));
      await store.put('/other', b('x'));
      await store.txn([], [{ type: 'put', key: '/w/b', value: b('2') }, { type: 'delete', key: '/w/a' }]);
      await w.until(3);
      assert.deepEqual(w.events.map((e) => [e.type, e.kv.key, e.kv.modRevision]), [['put', '/w/a', 2], ['put', '/w/b', 4], ['delete', '/w/a', 4]]);
      const [put, , del] = w.events;
      assert.deepEqual([put!.kv.value.toString(), put!.kv.createRevision, put!.kv.version], ['1', 2, 1]);
      assert.deepEqual([del!.kv.value.length, del!.kv.version], [0, 0], 'a delete event has version 0 and no value');
      cancel();
      await store.put('/w/c', b('3'));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(w.events.length, 3, 'no events after cancel');
    });

    test('watch from an older revision replays history in order', async (t) => {
      const store = await fresh(t);
      for (let i = 0; i < 5; i++) await store.put(`/h/${i}`, b(String(i)));
      const w = collect();
      store.watch('/h/', 4, w.onEvent, (err) => assert.fail(err));
      await w.until(3);
      await store.put('/h/9', b('9'));
      await w.until(4);
      assert.deepEqual(w.events.map((e) => e.kv.modRevision), [4, 5, 6, 7]);
      assert.deepEqual(w.events.map((e) => e.kv.key), ['/h/2', '/h/3', '/h/4', '/h/9']);
    });

    test('listWithRevision + watch(revision + 1) sees every later change exactly once', async (t) => {
      const store = await fresh(t);
      const writers = Array.from({ length: 30 }, (_, i) => store.put(`/s/${i}`, b(String(i))));
      await Promise.resolve();
      const { kvs, revision } = await store.listWithRevision('/s/');
      const w = collect();
      store.watch('/s/', revision + 1, w.onEvent);
      await Promise.all(writers);
      await w.until(30 - kvs.length);
      const seen = new Set([...kvs.map((kv) => kv.key), ...w.events.map((e) => e.kv.key)]);
      assert.equal(seen.size, 30);
      assert.equal(kvs.length + w.events.length, 30);
    });
  });

  describe(`${name} conformance: leases`, () => {
    test('revoke deletes bound keys and tells listeners', async (t) => {
      const store = await fresh(t);
      const lease = await store.grantLease(10_000);
      assert.ok(lease.ttlMs >= 10_000);
      const reasons: string[] = [];
      lease.onLost((r) => reasons.push(r));
      await store.put('/brokers/1', b('me'), lease.id);
      await store.txn([], [{ type: 'put', key: '/brokers/1/extra', value: b('x'), leaseId: lease.id }]);
      await store.put('/unbound', b('u'));
      assert.equal((await store.get('/brokers/1'))?.leaseId, lease.id);
      await lease.keepAliveOnce();
      const w = collect();
      store.watch('/brokers/', 0, w.onEvent);
      await lease.revoke();
      await lease.revoke(); // idempotent
      assert.deepEqual(reasons, ['revoked']);
      assert.equal(lease.isLost, true);
      assert.deepEqual((await store.list('/')).map((kv) => kv.key), ['/unbound']);
      await w.until(2);
      assert.deepEqual(w.events.map((e) => e.type), ['delete', 'delete']);
      assert.equal(w.events[0]!.kv.modRevision, w.events[1]!.kv.modRevision, 'one revision deletes all keys of the lease');
      await assert.rejects(store.put('/x', b(''), lease.id), MetadataLeaseNotFoundError);
      await assert.rejects(store.txn([], [{ type: 'put', key: '/x', value: b(''), leaseId: lease.id }]), MetadataLeaseNotFoundError);
      await assert.rejects(lease.keepAliveOnce(), MetadataLeaseNotFoundError);
      const late: string[] = [];
      lease.onLost((r) => late.push(r));
      await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(late, ['revoked'], 'a listener added after the loss still hears of it');
    });

    test('a lease not kept alive expires and its keys go; an auto-kept one stays', async (t) => {
      const store = await fresh(t);
      const ttl = options.shortLeaseTtlMs;
      // The TTL runs from the grant (not from after the puts below, which a loaded machine slows).
      const granted = Date.now();
      const manual = await store.grantLease(ttl, { autoKeepAlive: false });
      const auto = await store.grantLease(ttl);
      await store.put('/m', b(''), manual.id);
      await store.put('/a', b(''), auto.id);
      const reasons: string[] = [];
      manual.onLost((r) => reasons.push(r));
      const t0 = Date.now();
      await waitFor(() => reasons.length > 0, ttl * 4 + 2000, 'the manual lease to expire', 10);
      assert.ok(Date.now() - granted >= ttl * 0.9, `not before its TTL (expired ${Date.now() - granted} ms after the grant; TTL ${ttl} ms)`);
      assert.deepEqual(reasons, ['expired']);
      await waitFor(async () => (await store.get('/m')) === null, 3000, 'the key of the expired lease to go', 20);
      // Stay past several TTLs: the auto-kept lease and its key remain.
      await new Promise((r) => setTimeout(r, Math.max(250, ttl * 2.5 - (Date.now() - t0))));
      assert.notEqual(await store.get('/a'), null);
      assert.equal(auto.isLost, false);
      await assert.rejects(store.put('/m2', b(''), manual.id), MetadataLeaseNotFoundError);
    });

    test('putting a key again without the lease unbinds it', async (t) => {
      const store = await fresh(t);
      const lease = await store.grantLease(10_000);
      await store.put('/k', b('1'), lease.id);
      await store.put('/k', b('2'));
      assert.equal((await store.get('/k'))?.leaseId, undefined);
      await lease.revoke();
      assert.equal((await store.get('/k'))?.value.toString(), '2');
    });

    test('an unknown lease id is refused', async (t) => {
      const store = await fresh(t);
      await assert.rejects(store.put('/k', b(''), '123456789'), MetadataLeaseNotFoundError);
      await assert.rejects(store.grantLease(0), MetadataLimitError);
      assert.equal(await store.revision(), 1);
    });
  });

  describe(`${name} conformance: against a model`, () => {
    type Cmd =
      | { t: 'put'; key: string; value: string }
      | { t: 'del'; key: string }
      | { t: 'delp'; prefix: string }
      | { t: 'cas'; key: string; expectVersion: number; value: string };
    const key = fc.constantFrom('/a', '/a/1', '/a/2', '/b', '/b/1', '/\u00e9', '/\u{1F600}');
    const cmd: fc.Arbitrary<Cmd> = fc.oneof(
      fc.record({ t: fc.constant('put' as const), key, value: fc.string({ maxLength: 8 }) }),
      fc.record({ t: fc.constant('del' as const), key }),
      fc.record({ t: fc.constant('delp' as const), prefix: fc.constantFrom('/a', '/a/', '/b', '/') }),
      fc.record({ t: fc.constant('cas' as const), key, expectVersion: fc.integer({ min: 0, max: 3 }), value: fc.string({ maxLength: 8 }) }),
    );

    test('random command sequences match a plain Map model (each run under its own prefix)', async (t) => {
      const store = await fresh(t);
      let run = 0;
      await fc.assert(fc.asyncProperty(fc.array(cmd, { maxLength: 40 }), async (cmds) => {
        const root = `/run${run++}`;
        const model = new Map<string, { value: string; createRevision: number; modRevision: number; version: number }>();
        let revision = await store.revision();
        const put = (k: string, v: string): void => {
          const prior = model.get(k);
          model.set(k, { value: v, createRevision: prior?.createRevision ?? revision, modRevision: revision, version: (prior?.version ?? 0) + 1 });
        };
        for (const c of cmds) {
          if (c.t === 'put') { revision++; put(c.key, c.value); assert.equal(await store.put(root + c.key, b(c.value)), revision); }
          if (c.t === 'del') { if (model.delete(c.key)) revision++; assert.equal(await store.delete(root + c.key), revision); }
          if (c.t === 'delp') {
            const gone = [...model.keys()].filter((k) => k.startsWith(c.prefix));
            if (gone.length) revision++;
            for (const k of gone) model.delete(k);
            assert.equal((await store.txn([], [{ type: 'deletePrefix', prefix: root + c.prefix }])).revision, revision);
          }
          if (c.t === 'cas') {
            const ok = (model.get(c.key)?.version ?? 0) === c.expectVersion;
            if (ok) { revision++; put(c.key, c.value); }
            const r = await store.txn([{ key: root + c.key, target: 'version', op: '==', value: c.expectVersion }], [{ type: 'put', key: root + c.key, value: b(c.value) }]);
            assert.deepEqual(r, { succeeded: ok, revision });
          }
        }
        const expected = {
          revision,
          kvs: [...model.entries()].sort(([x], [y]) => compareKeys(x, y))
            .map(([k, v]): [string, string, number, number, number] => [root + k, b(v.value).toString('hex'), v.createRevision, v.modRevision, v.version]),
        };
        assert.deepEqual(await dump(store, `${root}/`), expected);
      }), { numRuns: 40 });
    });
  });
}

