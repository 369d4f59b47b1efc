// The fault-injecting wrapper: seeded schedules replay exactly, each fault kind does what it
// says (lost acks leave the object written, partial deletes delete a prefix, corrupt gets flip a
// byte), outages and pauses, and a retry loop over a flaky store loses nothing.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultyObjectStore, InjectedFault } from '../../src/objects/faulty-object-store.js';
import { FsObjectStore } from '../../src/objects/fs-object-store.js';
import { ObjectExistsError, ObjectStoreError } from '../../src/objects/object-store.js';
import { collect } from './object-store-contract.js';

let root: string;
let n = 0;
before(async () => { root = await mkdtemp(join(tmpdir(), 'ferry-faulty-')); });
after(async () => { await rm(root, { recursive: true, force: true }); });
const fresh = () => new FsObjectStore({ root: join(root, String(n++)), fsync: false });

async function outcomes(seed: number): Promise<string[]> {
  const s = new FaultyObjectStore(fresh(), { seed, faults: { put: { fail: 0.3, retriableShare: 0.5 }, get: { fail: 0.3 } } });
  const out: string[] = [];
  for (let i = 0; i < 40; i++) {
    out.push(await s.put(`k${i}`, Buffer.from('x')).then(() => 'ok', (e: ObjectStoreError) => `fail:${e.retriable}`));
    out.push(await s.get(`k${i}`).then(() => 'ok', (e: ObjectStoreError) => e.name));
  }
  return out;
}

describe('FaultyObjectStore', () => {
  test('the same seed gives the same fault schedule; another seed a different one', async () => {
    const a = await outcomes(5);
    assert.deepEqual(await outcomes(5), a);
    assert.notDeepEqual(await outcomes(6), a);
    assert.ok(a.includes('fail:true') && a.includes('fail:false') && a.includes('ok'));
  });

  test('lostAck: the object is written, the caller sees a retriable error, a create-only retry sees ObjectExistsError', async () => {
    const s = new FaultyObjectStore(fresh(), { seed: 1, faults: { put: { lostAck: 1 } } });
    await assert.rejects(s.put('k', Buffer.from('v'), { ifNoneMatch: true }), (e: unknown) => e instanceof InjectedFault && e.retriable);
    s.setFaults('put', undefined);
    await assert.rejects(s.put('k', Buffer.from('v'), { ifNoneMatch: true }), ObjectExistsError);
    assert.equal((await s.get('k')).toString(), 'v');
    assert.equal(s.injected['put:lostAck'], 1);
  });

  test('partial delete removes a prefix of the keys and fails; partial list fails midway', async () => {
    const s = new FaultyObjectStore(fresh(), { seed: 3 });
    const keys = Array.from({ length: 20 }, (_, i) => `d/${String(i).padStart(2, '0')}`);
    for (const k of keys) await s.put(k, Buffer.from(k));
    s.setFaults('delete', { partial: 1 });
    await assert.rejects(s.delete(keys), InjectedFault);
    const left = (await collect(s.list('d/'))).map((o) => o.key);
    assert.deepEqual(left, keys.slice(keys.length - left.length), 'what is left is a suffix');
    s.setFaults('list', { partial: 1 });
    await assert.rejects(collect(s.list('d/')), InjectedFault);
    s.setFaults('list', undefined);
    s.setFaults('delete', undefined);
    await s.delete(keys);
    assert.deepEqual(await collect(s.list('d/')), []);
  });

  test('corrupt get flips exactly one byte; outage fails everything until lifted; failNext counts down', async () => {
    const s = new FaultyObjectStore(fresh(), { seed: 9 });
    const body = Buffer.alloc(1000, 0x55);
    await s.put('c', body);
    s.setFaults('get', { corrupt: 1 });
    const bad = await s.get('c');
    assert.equal([...bad].filter((b, i) => b !== body[i]).length, 1);
    s.setFaults('get', undefined);
    s.outage(true);
    await assert.rejects(s.head('c'), (e: unknown) => e instanceof InjectedFault && e.retriable);
    await assert.rejects(s.put('x', body), InjectedFault);
    s.outage(false);
    s.failNext('head', 2, false);
    await assert.rejects(s.head('c'), (e: unknown) => e instanceof InjectedFault && !e.retriable);
    await assert.rejects(s.head('c'), InjectedFault);
    assert.equal((await s.head('c'))?.size, 1000);
    assert.equal(s.injected.outage, 2);
  });

  test('pause holds calls of one op until resumed; latency delays them', async () => {
    const s = new FaultyObjectStore(fresh(), { seed: 2, faults: { head: { latencyMs: [20, 30] } } });
    await s.put('p', Buffer.from('1'));
    s.pause('get');
    let done = false;
    const g = s.get('p').then((b) => { done = true; return b; });
    const t0 = Date.now();
    await s.head('p');
    assert.ok(Date.now() - t0 >= 19, 'head latency');
    assert.equal(done, false);
    s.resume('get');
    assert.equal((await g).toString(), '1');
  });

  test('a retry loop over a flaky store (30% failures, lost acks) stores every object exactly once', async () => {
    const s = new FaultyObjectStore(fresh(), { seed: 77, faults: { put: { fail: 0.3, lostAck: 0.2 }, get: { fail: 0.3 } } });
    for (let i = 0; i < 100; i++) {
      for (let attempt = 0; ; attempt++) {
        assert.ok(attempt < 50, `seed ${s.seed}: put ${i} never succeeded`);
        try {
          await s.put(`o/${String(i).padStart(3, '0')}`, Buffer.from(`v${i}`), { ifNoneMatch: true });
          break;
        } catch (e) {
          if (e instanceof ObjectExistsError) break; // an earlier attempt's ack was lost
          assert.ok(e instanceof ObjectStoreError && e.retriable);
        }
      }
    }
    s.setFaults('get', undefined);
    const listed = await collect(s.inner.list('o/'));
    assert.equal(listed.length, 100);
    for (let i = 0; i < 100; i += 17) assert.equal((await s.get(`o/${String(i).padStart(3, '0')}`)).toString(), `v${i}`);
    assert.ok((s.injected['put:lostAck'] ?? 0) > 5 && (s.injected['put:fail'] ?? 0) > 10, JSON.stringify(s.injected));
  });
});
