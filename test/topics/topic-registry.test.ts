import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { TopicRegistry, validateTopicName, type TopicResult, type TopicInfo } from '../../src/topics/topic-registry.js';
import { tempStore } from '../cluster/temp-store.js';

function ok<T>(r: TopicResult<T>): T {
  assert.ok(r.ok, r.ok ? '' : `${r.error}: ${r.message}`);
  return r.value;
}

describe('TopicRegistry', () => {
  test('create, get by name and id, list, partition records', async (t) => {
    const { store } = await tempStore(t);
    const reg = new TopicRegistry(store, { clusterName: 'test', nodeId: 7, now: () => 1234 });
    const a = ok(await reg.create('orders', 3, { 'retention.ms': '1000' }));
    assert.match(a.id, /^[0-9a-f]{32}$/);
    assert.deepEqual([a.name, a.partitions, a.configs, a.createdMs], ['orders', 3, { 'retention.ms': '1000' }, 1234]);
    ok(await reg.create('audit', 1));
    assert.deepEqual((await reg.list()).map((x) => x.name), ['audit', 'orders']);
    const byName = await reg.get('orders');
    assert.deepEqual(byName, a);
    assert.deepEqual(await reg.getById(a.id), a);
    assert.equal(await reg.get('missing'), null);
    assert.equal(await reg.getById('00'.repeat(16)), null);
    assert.equal(await reg.getById('not-an-id'), null);
    assert.deepEqual(await reg.partitions(a.id), [0, 1, 2].map((p) => ({ partition: p, leader: 7, leaderEpoch: 0 })));
    assert.deepEqual(await reg.getPartition(a.id, 1), { partition: 1, leader: 7, leaderEpoch: 0 });
    // Keys follow DESIGN §5.
    assert.ok(await store.get('/ferry/test/topics/orders'));
    assert.ok(await store.get(`/ferry/test/partitions/${a.id}/2`));
    assert.deepEqual(JSON.parse((await store.get(`/ferry/test/partitions/${a.id}/2`))!.value.toString()), { leader: 7, leaderEpoch: 0 });
  });

  test('typed errors: exists, bad name, partitions, replication factor, config', async (t) => {
    const { store } = await tempStore(t);
    const reg = new TopicRegistry(store, { clusterName: 'test', nodeId: 1 });
    ok(await reg.create('t', 1));
    const cases: [Promise<TopicResult<TopicInfo>>, string, number][] = [
      [reg.create('t', 1), 'TOPIC_ALREADY_EXISTS', 36],
      [reg.create('bad/name', 1), 'INVALID_TOPIC_EXCEPTION', 17],
      [reg.create('x', 0), 'INVALID_PARTITIONS', 37],
      [reg.create('x', 1, {}, { replicationFactor: 3 }), 'INVALID_REPLICATION_FACTOR', 38],
      [reg.create('x', 1, { 'retention.ms': 'soon' }), 'INVALID_CONFIG', 40],
      [reg.create('x', 1, { 'nope.nope': '1' }), 'INVALID_CONFIG', 40],
      [reg.delete('x'), 'UNKNOWN_TOPIC_OR_PARTITION', 3],
      [reg.addPartitions('t', 1), 'INVALID_PARTITIONS', 37],
      [reg.addPartitions('x', 5), 'UNKNOWN_TOPIC_OR_PARTITION', 3],
      [reg.alterConfigs('x', {}), 'UNKNOWN_TOPIC_OR_PARTITION', 3],
    ];
    for (const [p, error, code] of cases) {
      const r = await p;
      assert.equal(r.ok, false);
      if (!r.ok) assert.deepEqual([r.error, r.errorCode], [error, code], r.message);
    }
    const rf = await reg.create('rf', 1, {}, { replicationFactor: -1 });
    assert.ok(rf.ok, 'replication factor -1 means the broker default');
  });

  test('validateOnly changes nothing', async (t) => {
    const { store } = await tempStore(t);
    const reg = new TopicRegistry(store, { clusterName: 'test', nodeId: 1 });
    ok(await reg.create('v', 2, {}, { validateOnly: true }));
    assert.equal(await reg.get('v'), null);
    ok(await reg.create('v', 2));
    const before = await store.revision();
    ok(await reg.addPartitions('v', 4, { validateOnly: true }));
    ok(await reg.alterConfigs('v', { 'retention.ms': '5' }, { validateOnly: true }));
    assert.equal(await store.revision(), before);
  });

  test('concurrent creators of one name: exactly one wins, the others get TOPIC_ALREADY_EXISTS', async (t) => {
    const { store } = await tempStore(t);
    const regs = Array.from({ length: 8 }, (_, i) => new TopicRegistry(store, { clusterName: 'test', nodeId: i }));
    for (const partitions of [4, 300]) {
      const name = `race-${partitions}`;
      const results = await Promise.all(regs.map((r) => r.create(name, partitions)));
      const winners = results.filter((r) => r.ok);
      assert.equal(winners.length, 1, `${partitions} partitions`);
      assert.ok(results.every((r) => r.ok || r.error === 'TOPIC_ALREADY_EXISTS'));
      const topic = (await regs[0]!.get(name))!;
      assert.equal(topic.id, (winners[0] as { value: TopicInfo }).value.id);
      assert.equal((await regs[0]!.partitions(topic.id)).length, partitions);
    }
    // The losers' partition records were removed: only the winners' ids remain.
    const ids = new Set((await store.list('/ferry/test/partitions/')).map((kv) => kv.key.split('/')[4]));
    assert.equal(ids.size, 2);
  });

  test('a topic with more partitions than one transaction holds', async (t) => {
    const { store } = await tempStore(t);
    const reg = new TopicRegistry(store, { clusterName: 'test', nodeId: 1 });
    const topic = ok(await reg.create('wide', 1000));
    assert.equal((await reg.partitions(topic.id)).length, 1000);
    const grown = ok(await reg.addPartitions('wide', 1300));
    assert.equal(grown.partitions, 1300);
    assert.equal((await reg.partitions(topic.id)).length, 1300);
  });

  test('delete removes the topic, its id index and partitions; the name can be reused', async (t) => {
    const { store } = await tempStore(t);
    const reg = new TopicRegistry(store, { clusterName: 'test', nodeId: 1 });
    const first = ok(await reg.create('d', 5));
    ok(await reg.delete('d'));
    assert.equal(await reg.get('d'), null);
    assert.equal(await reg.getById(first.id), null);
    assert.deepEqual(await reg.partitions(first.id), []);
    const second = ok(await reg.create('d', 1));
    assert.notEqual(second.id, first.id);
    assert.equal(await reg.getById(first.id), null);
  });

  test('addPartitions and config changes survive restart; concurrent config changes both apply', async (t) => {
    const ctx = await tempStore(t);
    let reg = new TopicRegistry(ctx.store, { clusterName: 'test', nodeId: 1 });
    ok(await reg.create('c', 2, { 'cleanup.policy': 'delete' }));
    ok(await reg.addPartitions('c', 4));
    await Promise.all([
      reg.incrementalAlterConfigs('c', [{ name: 'retention.ms', op: 'set', value: '100' }]),
      reg.incrementalAlterConfigs('c', [{ name: 'cleanup.policy', op: 'append', value: 'compact' }]),
      reg.incrementalAlterConfigs('c', [{ name: 'max.message.bytes', op: 'set', value: '2000' }]),
    ]);
    const store = await ctx.reopen();
    reg = new TopicRegistry(store, { clusterName: 'test', nodeId: 1 });
    const c = (await reg.get('c'))!;
    assert.equal(c.partitions, 4);
    assert.deepEqual(c.configs, { 'cleanup.policy': 'delete,compact', 'max.message.bytes': '2000', 'retention.ms': '100' });
    const replaced = ok(await reg.alterConfigs('c', { 'segment.bytes': '1000' }));
    assert.deepEqual(replaced.configs, { 'segment.bytes': '1000' }, 'AlterConfigs replaces all topic configs');
    const bad = await reg.incrementalAlterConfigs('c', [{ name: 'retention.ms', op: 'set', value: 'x' }]);
    assert.ok(!bad.ok && bad.error === 'INVALID_CONFIG');
  });

  test('topic names follow Kafka rules', () => {
    assert.equal(validateTopicName('a.b_c-D9'), null);
    for (const bad of ['', '.', '..', 'a b', 'ä', 'x'.repeat(250), 'a/b']) assert.notEqual(validateTopicName(bad), null, bad);
    assert.equal(validateTopicName('x'.repeat(249)), null);
  });
});
