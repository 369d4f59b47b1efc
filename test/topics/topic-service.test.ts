/**
 * TopicService (src/topics/topic-service.ts): the handlers' synchronous view of topics over the
 * registry, and the partition logs that go with them. On a local metadata store in a temp dir;
 * two services on one store stand for two brokers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { TopicService } from '../../src/topics/topic-service.js';
import { LogManager, type WalAppender } from '../../src/log/log-manager.js';
import { wrapStore } from '../../src/node/cluster-metadata.js';
import { loadConfig } from '../../src/ops/config.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import type { MetadataStore } from '../../src/cluster/metadata-store.js';
import { tempStore } from '../cluster/temp-store.js';

const silent = pino({ level: 'silent' });

const noWal: WalAppender = { limits: { recordBytesMax: 1 << 20 }, append: async () => { throw new Error('no appends in these tests'); } };

async function service(store: MetadataStore, argv: string[] = []) {
  const meta = await wrapStore(store, { clusterName: 'topics-test', nodeId: 1 }, silent);
  const topics = await TopicService.load(meta, { numPartitions: 3, config: loadConfig({ argv, env: {}, cwd: '/' }) }, silent);
  const logs = new LogManager(noWal);
  await topics.attachLogs(logs);
  return { meta, topics, logs };
}

function kafkaError(code: number) {
  return (err: unknown) => {
    assert.ok(err instanceof KafkaError, `a KafkaError, got ${err}`);
    assert.equal(err.code, code);
    return true;
  };
}

test('create: by name and id, effective configs, a partition log per partition; -1 partitions takes the broker default', async (t) => {
  const { store } = await tempStore(t);
  const { topics, logs } = await service(store, ['--message.max.bytes=5000']);
  const orders = await topics.create('orders', 2, [{ name: 'retention.ms', value: '1000' }, { name: 'message.timestamp.type', value: 'LogAppendTime' }], false);
  assert.equal(topics.byName('orders'), orders);
  assert.equal(topics.byId(orders.topicId), orders);
  assert.deepEqual(orders.configs, { 'retention.ms': '1000', 'message.timestamp.type': 'LogAppendTime' });
  assert.equal(orders.retentionMs, 1000);
  assert.equal(orders.logAppendTime, true);
  assert.equal(orders.maxMessageBytes, 5000, 'the broker default applies where the topic sets nothing');
  assert.equal(orders.deletePolicy, true);
  assert.ok(logs.get(orders.topicId, 0) && logs.get(orders.topicId, 1));
  assert.equal(logs.get(orders.topicId, 2), undefined);
  const dflt = await topics.create('defaulted', -1, [], false);
  assert.equal(dflt.partitionCount, 3);
  assert.deepEqual(topics.list().map((x) => x.name), ['defaulted', 'orders'], 'sorted by name');
});

test('create refuses duplicates, repeated config keys and bad values with Kafka error codes; validateOnly changes nothing', async (t) => {
  const { store } = await tempStore(t);
  const { topics, logs } = await service(store);
  await topics.create('t', 1, [], false);
  await assert.rejects(topics.create('t', 1, [], false), kafkaError(ErrorCode.TOPIC_ALREADY_EXISTS));
  await assert.rejects(topics.create('u', 1, [{ name: 'retention.ms', value: '1' }, { name: 'retention.ms', value: '2' }], false), kafkaError(ErrorCode.INVALID_CONFIG));
  await assert.rejects(topics.create('u', 1, [{ name: 'cleanup.policy', value: 'sometimes' }], false), kafkaError(ErrorCode.INVALID_CONFIG));
  await assert.rejects(topics.create('u', 0, [], false), kafkaError(ErrorCode.INVALID_PARTITIONS));
  const checked = await topics.create('v', 4, [], true);
  assert.equal(checked.partitionCount, 4);
  assert.equal(topics.byName('v'), undefined);
  assert.equal(logs.get(checked.topicId, 0), undefined);
  assert.deepEqual(topics.list().map((x) => x.name), ['t']);
});

test('auto-creation: concurrent callers share one creation; an existing topic is returned as is', async (t) => {
  const { store } = await tempStore(t);
  const { topics } = await service(store);
  const [a, b] = await Promise.all([topics.autoCreate('auto'), topics.autoCreate('auto')]);
  assert.ok(a && a === b);
  assert.equal(a.partitionCount, 3);
  assert.equal(await topics.autoCreate('auto'), a);
});

test('an auto-creation that loses to another broker is no error: null (the client retries), and a refresh shows the winner\'s topic', async (t) => {
  const { store } = await tempStore(t);
  const one = await service(store);
  const two = await service(store);
  const created = await one.topics.create('raced', 1, [], false);
  // `two` has not refreshed: it tries to create, the registry says it exists.
  assert.equal(two.topics.byName('raced'), undefined);
  assert.equal(await two.topics.autoCreate('raced'), null, 'not in its view yet: null, the client retries');
  await two.topics.refresh();
  assert.equal(two.topics.byName('raced')?.topicId, created.topicId);
});

test('delete: the view, the logs and the partition state go, listeners are told; disabled by delete.topic.enable=false', async (t) => {
  const { store } = await tempStore(t);
  const { meta, topics, logs } = await service(store);
  const t1 = await topics.create('doomed', 2, [], false);
  await topics.advanceLogStart(t1, 0, 0);
  const removed: string[][] = [];
  topics.onTopicsRemoved(async (ts) => { removed.push(ts.map((x) => x.name)); });
  topics.onTopicsRemoved(async () => { throw new Error('a failing listener is logged, not passed on'); });
  const out = await topics.delete('doomed');
  assert.equal(out.topicId, t1.topicId);
  assert.equal(topics.byName('doomed'), undefined);
  assert.equal(topics.byId(t1.topicId), undefined);
  assert.equal(logs.get(t1.topicId, 0), undefined);
  assert.deepEqual(removed, [['doomed']]);
  assert.deepEqual([...(await meta.logStarts(t1.topicId))], []);
  await assert.rejects(topics.delete('doomed'), kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));

  const { store: store2 } = await tempStore(t);
  const locked = await service(store2, ['--delete.topic.enable=false']);
  await locked.topics.create('kept', 1, [], false);
  await assert.rejects(locked.topics.delete('kept'), kafkaError(ErrorCode.TOPIC_DELETION_DISABLED));
  assert.ok(locked.topics.byName('kept'));
});

test('addPartitions and alterConfigs update the view and the logs; validateOnly does not', async (t) => {
  const { store } = await tempStore(t);
  const { topics, logs } = await service(store);
  const t1 = await topics.create('grow', 1, [], false);
  await topics.addPartitions('grow', 3, true);
  assert.equal(topics.byName('grow')!.partitionCount, 1);
  await topics.addPartitions('grow', 3, false);
  assert.equal(topics.byName('grow')!.partitionCount, 3);
  assert.ok(logs.get(t1.topicId, 2));
  await assert.rejects(topics.addPartitions('grow', 2, false), kafkaError(ErrorCode.INVALID_PARTITIONS));

  await topics.alterConfigs('grow', [{ name: 'max.message.bytes', op: 'set', value: '2048' }], false, false);
  const grown = topics.byName('grow')!;
  assert.equal(grown.maxMessageBytes, 2048);
  await topics.alterConfigs('grow', [{ name: 'cleanup.policy', op: 'set', value: 'compact' }], true, false);
  const replaced = topics.byName('grow')!;
  assert.deepEqual(replaced.configs, { 'cleanup.policy': 'compact' }, 'replace-all (AlterConfigs) drops what is not given');
  assert.equal(replaced.deletePolicy, false);
  await topics.alterConfigs('grow', [{ name: 'cleanup.policy', op: 'set', value: 'delete' }], true, true);
  assert.equal(topics.byName('grow')!.deletePolicy, false, 'validateOnly');
  const described = new Map(topics.describeConfigs(replaced, ['cleanup.policy', 'retention.ms']).map((c) => [c.name, c.value]));
  assert.deepEqual([...described.keys()].sort(), ['cleanup.policy', 'retention.ms']);
  assert.equal(described.get('cleanup.policy'), 'compact');
});

test('advanceLogStart is durable in metadata before the log moves, never backwards, and is applied again after a restart', async (t) => {
  const temp = await tempStore(t);
  const first = await service(temp.store);
  const topic = await first.topics.create('starts', 1, [], false);
  const log = first.logs.get(topic.topicId, 0)!.log;
  log.addObjectBlocks([{ objectId: 'o', objectKey: 'o', objectSize: 1, baseOffset: 0, endOffset: 10, maxTimestamp: 0, position: 0, size: 1 }]);
  assert.equal(await first.topics.advanceLogStart(topic, 0, 4), 4);
  assert.equal(log.logStartOffset, 4);
  assert.equal((await first.meta.logStarts(topic.topicId)).get(0), 4);
  assert.equal(await first.topics.advanceLogStart(topic, 0, 2), 4, 'never backwards');
  assert.equal((await first.meta.logStarts(topic.topicId)).get(0), 4);
  await assert.rejects(first.topics.advanceLogStart(topic, 5, 1), kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));

  const store = await temp.reopen();
  const again = await service(store);
  const log2 = again.logs.get(topic.topicId, 0)!.log;
  log2.addObjectBlocks([{ objectId: 'o', objectKey: 'o', objectSize: 1, baseOffset: 0, endOffset: 10, maxTimestamp: 0, position: 0, size: 1 }]);
  await again.topics.applyPartitionState();
  assert.equal(log2.logStartOffset, 4);
});

test('refresh follows topics created and deleted by another broker', async (t) => {
  const { store } = await tempStore(t);
  const one = await service(store);
  const two = await service(store);
  const created = await one.topics.create('shared', 2, [], false);
  await two.topics.refresh();
  assert.equal(two.topics.byName('shared')?.topicId, created.topicId);
  assert.ok(two.logs.get(created.topicId, 0) === undefined, 'refresh alone creates no logs (partitions follow leadership or attachLogs)');
  const seen: string[] = [];
  two.topics.onTopicsRemoved(async (ts) => { seen.push(...ts.map((x) => x.name)); });
  await one.topics.delete('shared');
  await two.topics.refresh();
  assert.equal(two.topics.byName('shared'), undefined);
  assert.deepEqual(seen, ['shared']);
});
