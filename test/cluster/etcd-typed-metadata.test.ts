// The typed metadata layers (TopicRegistry, ProducerIdAllocator, MetadataGroupOffsetStore) on a
// real etcd: one etcd for the file, a cluster name (key prefix /ferry/<cluster>/) per test.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { TopicRegistry, type TopicInfo, type TopicResult } from '../../src/topics/topic-registry.js';
import { ProducerIdAllocator } from '../../src/cluster/producer-id-allocator.js';
import { MetadataGroupOffsetStore, type CommittedOffset } from '../../src/cluster/metadata-group-offset-store.js';
import { loadOrCreateClusterId } from '../../src/cluster/cluster-identity.js';
import type { GroupOffsetStore } from '../../src/groups/offset-store.js';
import { deleteTopicOffsetsCase } from './group-offset-store-cases.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';

let etcd: EtcdServer;
before(async () => { etcd = await startEtcd(); });
after(async () => { await etcd.stop(); });

async function openStore(t: { after(fn: () => Promise<void>): void }): Promise<EtcdMetadataStore> {
  const store = await EtcdMetadataStore.open({ endpoints: [etcd.endpoint] });
  t.after(() => store.close());
  return store;
}

function ok<T>(r: TopicResult<T>): T {
  assert.ok(r.ok, r.ok ? '' : `${r.error}: ${r.message}`);
  return r.value;
}

describe('TopicRegistry on etcd', () => {
  test('a 300-partition topic: created once among 8 racing brokers, partition records under /ferry/<cluster>/', async (t) => {
    const stores = [await openStore(t), await openStore(t)];
    const regs = Array.from({ length: 8 }, (_, i) => new TopicRegistry(stores[i % 2]!, { clusterName: 'tr300', nodeId: i }));
    const t0 = performance.now();
    const results = await Promise.all(regs.map((r) => r.create('wide', 300, { 'retention.ms': '60000' })));
    const ms = performance.now() - t0;
    const winners = results.filter((r) => r.ok);
    assert.equal(winners.length, 1);
    assert.ok(results.every((r) => r.ok || r.error === 'TOPIC_ALREADY_EXISTS'));
    const topic = (winners[0] as { value: TopicInfo }).value;
    const parts = await regs[3]!.partitions(topic.id);
    assert.equal(parts.length, 300);
    assert.deepEqual(parts.map((p) => p.partition), Array.from({ length: 300 }, (_, i) => i));
    assert.ok(parts.every((p) => p.leaderEpoch === 0));
    const ids = new Set((await stores[0]!.list('/ferry/tr300/partitions/')).map((kv) => kv.key.split('/')[4]));
    assert.deepEqual([...ids], [topic.id], "the losers' partition records were removed");
    assert.deepEqual(await regs[5]!.get('wide'), topic);
    t.diagnostic(`8 racing creates of a 300-partition topic: ${ms.toFixed(0)} ms`);

    // A single creator, for the time of one create.
    const t1 = performance.now();
    ok(await regs[0]!.create('wide2', 300));
    t.diagnostic(`one create of a 300-partition topic: ${(performance.now() - t1).toFixed(0)} ms`);
    const grown = ok(await regs[1]!.addPartitions('wide2', 400));
    assert.equal((await regs[2]!.partitions(grown.id)).length, 400);
    ok(await regs[0]!.delete('wide2'));
    assert.deepEqual(await regs[0]!.partitions(grown.id), []);
  });

  test('concurrent config changes from two brokers both apply', async (t) => {
    const [a, b] = [await openStore(t), await openStore(t)];
    const ra = new TopicRegistry(a, { clusterName: 'trcfg', nodeId: 1 });
    const rb = new TopicRegistry(b, { clusterName: 'trcfg', nodeId: 2 });
    ok(await ra.create('c', 2, { 'cleanup.policy': 'delete' }));
    await Promise.all([
      ra.incrementalAlterConfigs('c', [{ name: 'retention.ms', op: 'set', value: '100' }]),
      rb.incrementalAlterConfigs('c', [{ name: 'cleanup.policy', op: 'append', value: 'compact' }]),
      ra.incrementalAlterConfigs('c', [{ name: 'max.message.bytes', op: 'set', value: '2000' }]),
    ]);
    assert.deepEqual((await rb.get('c'))!.configs, { 'cleanup.policy': 'delete,compact', 'max.message.bytes': '2000', 'retention.ms': '100' });
  });
});

describe('ProducerIdAllocator on etcd', () => {
  test('distinct ids across two brokers under concurrency; a restarted broker never reuses ids', async (t) => {
    const [s1, s2] = [await openStore(t), await openStore(t)];
    const a = new ProducerIdAllocator(s1, { clusterName: 'pid', blockSize: 10 });
    const b = new ProducerIdAllocator(s2, { clusterName: 'pid', blockSize: 10 });
    const ids = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 ? a : b).next()));
    assert.equal(new Set(ids).size, 400);
    const highest = ids.reduce((m, x) => (x > m ? x : m), 0n);
    await s1.close();
    const s3 = await openStore(t);
    const restarted = new ProducerIdAllocator(s3, { clusterName: 'pid', blockSize: 10 });
    assert.ok((await restarted.next()) > highest, 'the restarted allocator starts after every block handed out');
  });

  test('the cluster id is created once across racing brokers', async (t) => {
    const stores = [await openStore(t), await openStore(t)];
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => loadOrCreateClusterId(stores[i % 2]!, 'cid')));
    assert.equal(new Set(ids).size, 1);
  });
});

describe('MetadataGroupOffsetStore on etcd', () => {
  const offset = (topic: string, partition: number, o: bigint, extra: Partial<CommittedOffset> = {}): CommittedOffset =>
    ({ topic, partition, offset: o, leaderEpoch: -1, metadata: '', commitTimestampMs: 1000, ...extra });

  test('commit, load from another broker, delete offsets and groups', async (t) => {
    const [s1, s2] = [await openStore(t), await openStore(t)];
    const groups: GroupOffsetStore = new MetadataGroupOffsetStore(s1, { clusterName: 'gos' });
    await groups.commit('g1', [offset('a', 0, 5n), offset('a', 1, 7n, { leaderEpoch: 3, metadata: 'm' }), offset('b', 0, 2n ** 63n - 1n)]);
    await groups.commit('g1', [offset('a', 0, 6n)]);
    await groups.commit('g/odd%name', [offset('a', 0, 1n)]);
    await groups.commit('g', [offset('a', 0, 2n)]);
    const other = new MetadataGroupOffsetStore(s2, { clusterName: 'gos' });
    const all = new Map((await other.loadAll()).map((g) => [g.groupId, g.offsets]));
    assert.deepEqual([...all.keys()].sort(), ['g', 'g/odd%name', 'g1']);
    assert.deepEqual(all.get('g1'), [offset('a', 0, 6n), offset('a', 1, 7n, { leaderEpoch: 3, metadata: 'm' }), offset('b', 0, 2n ** 63n - 1n)]);
    await other.deleteOffsets('g1', [{ topic: 'a', partition: 1 }, { topic: 'zz', partition: 9 }]);
    await other.deleteGroup('g');
    const after = new Map((await groups.loadAll()).map((g) => [g.groupId, g.offsets]));
    assert.deepEqual([...after.keys()].sort(), ['g/odd%name', 'g1']);
    assert.deepEqual(after.get('g1')!.map((o) => [o.topic, o.partition]), [['a', 0], ['b', 0]]);
  });

  test('a commit larger than one transaction lands completely', async (t) => {
    const store = await openStore(t);
    const groups = new MetadataGroupOffsetStore(store, { clusterName: 'gosbig' });
    const many = Array.from({ length: 1000 }, (_, p) => offset('wide', p, BigInt(p), { metadata: 'x'.repeat(2000) }));
    const t0 = performance.now();
    await groups.commit('big', many);
    t.diagnostic(`commit of 1000 offsets (2 KB metadata each): ${(performance.now() - t0).toFixed(0)} ms`);
    const loaded = (await groups.loadAll())[0]!;
    assert.equal(loaded.offsets.length, 1000);
    assert.deepEqual(loaded.offsets.map((o) => [o.partition, o.offset]).sort((x, y) => Number(x[0]) - Number(y[0])), many.map((o) => [o.partition, o.offset]));
    await groups.deleteOffsets('big', many);
    assert.deepEqual(await groups.loadAll(), []);
  });

  test('deleteTopicOffsets: a deleted topic out of every group, by topic id, guarded against a racing commit', async (t) => {
    await deleteTopicOffsetsCase(await openStore(t), 'gostopic');
  });
});
