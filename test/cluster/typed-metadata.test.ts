import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProducerIdAllocator } from '../../src/cluster/producer-id-allocator.js';
import { MetadataGroupOffsetStore, type CommittedOffset } from '../../src/cluster/metadata-group-offset-store.js';
import { loadOrCreateClusterId } from '../../src/cluster/cluster-identity.js';
import { MetadataKeys, escapeSegment, unescapeSegment } from '../../src/cluster/metadata-keys.js';
import type { GroupOffsetStore } from '../../src/groups/offset-store.js';
import { deleteTopicOffsetsCase } from './group-offset-store-cases.js';
import { tempStore } from './temp-store.js';

describe('ProducerIdAllocator', () => {
  test('distinct ids under concurrency, blocks of 1000, never reused after restart', async (t) => {
    const ctx = await tempStore(t);
    let alloc = new ProducerIdAllocator(ctx.store, { clusterName: 'test' });
    const ids = await Promise.all(Array.from({ length: 2500 }, () => alloc.next()));
    assert.equal(new Set(ids).size, 2500);
    assert.equal(ids.reduce((m, x) => (x > m ? x : m), 0n), 2499n);
    assert.deepEqual(JSON.parse((await ctx.store.get('/ferry/test/producer-ids'))!.value.toString()), { nextBlockStart: 3000 });
    const store = await ctx.reopen();
    alloc = new ProducerIdAllocator(store, { clusterName: 'test' });
    assert.equal(await alloc.next(), 3000n, 'the unused rest of the last block is skipped');
  });

  test('two allocators (two brokers) on one store never hand out the same id', async (t) => {
    const { store } = await tempStore(t);
    const a = new ProducerIdAllocator(store, { clusterName: 'test', blockSize: 10 });
    const b = new ProducerIdAllocator(store, { clusterName: 'test', blockSize: 10 });
    const ids = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).next()));
    assert.equal(new Set(ids).size, 300);
  });
});

describe('MetadataGroupOffsetStore', () => {
  const offset = (topic: string, partition: number, o: bigint, extra: Partial<CommittedOffset> = {}): CommittedOffset =>
    ({ topic, partition, offset: o, leaderEpoch: -1, metadata: '', commitTimestampMs: 1000, ...extra });

  test('commit, load after restart, delete offsets, delete group', async (t) => {
    const ctx = await tempStore(t);
    // Type-level check: it fits the coordinator's interface.
    const groups: GroupOffsetStore = new MetadataGroupOffsetStore(ctx.store, { clusterName: 'test' });
    await groups.commit('g1', [offset('a', 0, 5n), offset('a', 1, 7n, { leaderEpoch: 3, metadata: 'm' }), offset('b', 0, 2n ** 63n - 1n)]);
    await groups.commit('g1', [offset('a', 0, 6n)]);
    await groups.commit('g/odd%name', [offset('a', 0, 1n)]);
    await groups.commit('g', [offset('a', 0, 2n)]);
    const store = await ctx.reopen();
    const reopened = new MetadataGroupOffsetStore(store, { clusterName: 'test' });
    const all = new Map((await reopened.loadAll()).map((g) => [g.groupId, g.offsets]));
    assert.deepEqual([...all.keys()].sort(), ['g', 'g/odd%name', 'g1']);
    assert.deepEqual(all.get('g1'), [offset('a', 0, 6n), offset('a', 1, 7n, { leaderEpoch: 3, metadata: 'm' }), offset('b', 0, 2n ** 63n - 1n)]);
    await reopened.deleteOffsets('g1', [{ topic: 'a', partition: 1 }, { topic: 'zz', partition: 9 }]);
    await reopened.deleteGroup('g');
    const after = new Map((await reopened.loadAll()).map((g) => [g.groupId, g.offsets]));
    assert.deepEqual([...after.keys()].sort(), ['g/odd%name', 'g1'], 'deleting group g leaves g/odd%name and g1');
    assert.deepEqual(after.get('g1')!.map((o) => [o.topic, o.partition]), [['a', 0], ['b', 0]]);
  });

  test('a commit larger than one transaction lands completely', async (t) => {
    const { store } = await tempStore(t);
    const groups = new MetadataGroupOffsetStore(store, { clusterName: 'test' });
    const many = Array.from({ length: 1000 }, (_, p) => offset('wide', p, BigInt(p), { metadata: 'x'.repeat(2000) }));
    await groups.commit('big', many);
    const loaded = (await groups.loadAll())[0]!;
    assert.equal(loaded.offsets.length, 1000);
    await groups.deleteOffsets('big', many);
    assert.deepEqual(await groups.loadAll(), []);
  });

  test('deleteTopicOffsets: a deleted topic out of every group, by topic id, guarded against a racing commit', async (t) => {
    await deleteTopicOffsetsCase((await tempStore(t)).store, 'test');
  });
});

describe('cluster identity and keys', () => {
  test('created once, Kafka-style, and stable across restarts and racers', async (t) => {
    const ctx = await tempStore(t);
    const ids = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateClusterId(ctx.store, 'test')));
    assert.equal(new Set(ids).size, 1);
    assert.match(ids[0]!, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(Buffer.from(ids[0]!, 'base64url').length, 16);
    const store = await ctx.reopen();
    assert.equal(await loadOrCreateClusterId(store, 'test'), ids[0]);
    assert.notEqual(await loadOrCreateClusterId(store, 'other'), ids[0], 'another cluster name is another cluster');
  });

  test('segment escaping round-trips and keeps prefixes apart', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      assert.equal(unescapeSegment(escapeSegment(s)), s);
      assert.ok(!escapeSegment(s).includes('/'));
    }));
    const keys = new MetadataKeys('c');
    assert.ok(!keys.groupOffset('a/offsets/x', 't', 0).startsWith(keys.groupPrefix('a')));
    assert.equal(keys.topic('t'), '/ferry/c/topics/t');
    assert.throws(() => new MetadataKeys('a/b'), RangeError);
  });
});
