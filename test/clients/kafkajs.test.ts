// kafkajs 2.x (pure JavaScript client) against a real Ferry broker process.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { waitFor } from '../helpers/wait.js';

describe('kafkajs against a Ferry broker', { timeout: 150_000 }, () => {
  let broker: BrokerProcess;
  let kafka: KafkaJs.Kafka;
  let kjs: typeof KafkaJs;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    broker = new BrokerProcess();
    await broker.start();
    kafka = new kjs.Kafka({ clientId: 'ferry-kafkajs-test', brokers: [broker.bootstrap], logLevel: kjs.logLevel.ERROR, retry: { retries: 5, initialRetryTime: 100 } });
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await broker?.dispose();
  });

  test('admin: createTopics, fetchTopicMetadata, describeConfigs, alterConfigs', { timeout: 30_000 }, async () => {
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const created = await admin.createTopics({ topics: [{ topic: 'kjs-a', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '600000' }] }], waitForLeaders: true });
    assert.equal(created, true);
    assert.equal(await admin.createTopics({ topics: [{ topic: 'kjs-a', numPartitions: 3 }] }), false, 'existing topic is not created again');
    const md = await admin.fetchTopicMetadata({ topics: ['kjs-a'] });
    assert.equal(md.topics.length, 1);
    assert.deepEqual(md.topics[0]!.partitions.map((p) => p.partitionId).sort(), [0, 1, 2]);
    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 1);
    assert.equal(`${cluster.brokers[0]!.host}:${cluster.brokers[0]!.port}`, broker.bootstrap);
    for (const p of md.topics[0]!.partitions) assert.equal(p.leader, cluster.brokers[0]!.nodeId);
    const topics = await admin.listTopics();
    assert.ok(topics.includes('kjs-a'));

    const describe = async () => {
      const res = await admin.describeConfigs({ resources: [{ type: kjs.ConfigResourceTypes.TOPIC, name: 'kjs-a' }], includeSynonyms: false });
      assert.equal(res.resources[0]!.errorCode, 0);
      return new Map(res.resources[0]!.configEntries.map((e) => [e.configName, e]));
    };
    const c1 = await describe();
    assert.equal(c1.get('retention.ms')?.configValue, '600000');
    assert.equal(c1.get('retention.ms')?.isDefault, false);
    assert.equal(c1.get('cleanup.policy')?.configValue, 'delete');
    assert.equal(c1.get('cleanup.policy')?.isDefault, true);
    assert.ok(c1.has('max.message.bytes') && c1.has('segment.bytes') && c1.has('retention.bytes'));
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: kjs.ConfigResourceTypes.TOPIC, name: 'kjs-a', configEntries: [{ name: 'retention.ms', value: '1200000' }] }] });
    assert.equal((await describe()).get('retention.ms')?.configValue, '1200000');
  });

  test('producer and a consumer group of two: every message once, then listGroups/describeGroups', { timeout: 60_000 }, async () => {
    const producer = kafka.producer({ createPartitioner: kjs.Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const count = 300;
    const acked = new Map<string, string>();
    for (let chunk = 0; chunk < count; chunk += 50) {
      const messages = Array.from({ length: 50 }, (_, j) => {
        const i = chunk + j;
        return { key: `k${i}`, value: Buffer.from(`value-${i}-${'x'.repeat(i % 50)}`), headers: { n: String(i) } };
      });
      const meta = await producer.send({ topic: 'kjs-a', acks: -1, messages });
      for (const m of meta) assert.equal(m.errorCode, 0);
    }
    // Offsets per partition: the sum of the acknowledged batches' sizes equals `count`.
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const offsets = await admin.fetchTopicOffsets('kjs-a');
    assert.equal(offsets.reduce((n, o) => n + Number(o.high), 0), count);

    const groupId = 'kjs-group';
    const seen = new Map<string, number>();
    const members: KafkaJs.Consumer[] = [];
    for (let m = 0; m < 2; m++) {
      const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 10_000 });
      await consumer.connect();
      cleanups.push(() => consumer.disconnect());
      await consumer.subscribe({ topic: 'kjs-a', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          const i = Number(message.headers!.n!.toString());
          assert.equal(message.key!.toString(), `k${i}`);
          assert.equal(message.value!.toString(), `value-${i}-${'x'.repeat(i % 50)}`);
          const id = `${partition}:${message.offset}`;
          seen.set(id, (seen.get(id) ?? 0) + 1);
          acked.set(`k${i}`, id);
        },
      });
      members.push(consumer);
    }
    await waitFor(() => acked.size === count, 40_000, () => `consumed ${acked.size} of ${count}`);
    assert.equal(seen.size, count, 'distinct partition:offset pairs');

    const groups = await admin.listGroups();
    assert.ok(groups.groups.some((g) => g.groupId === groupId && g.protocolType === 'consumer'), JSON.stringify(groups));
    await waitFor(async () => {
      const d = await admin.describeGroups([groupId]);
      return d.groups[0]!.state === 'Stable' && d.groups[0]!.members.length === 2;
    }, 20_000, 'group Stable with 2 members');
    const d = await admin.describeGroups([groupId]);
    const g = d.groups[0]!;
    assert.equal((g as unknown as { errorCode: number }).errorCode, 0);
    assert.equal(g.protocolType, 'consumer');
    const assigned = g.members.flatMap((m) => kjs.AssignerProtocol.MemberAssignment.decode(m.memberAssignment)!.assignment['kjs-a'] ?? []);
    assert.deepEqual(assigned.sort(), [0, 1, 2], 'the 3 partitions are split between the 2 members');

    for (const c of members) await c.disconnect();
    // Committed offsets reached the end of each partition.
    const committed = await admin.fetchOffsets({ groupId, topics: ['kjs-a'] });
    const ends = new Map(offsets.map((o) => [o.partition, o.high]));
    for (const p of committed[0]!.partitions) assert.equal(p.offset, ends.get(p.partition), `committed offset of partition ${p.partition}`);
  });

  test('admin: deleteTopics', { timeout: 30_000 }, async () => {
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'kjs-del', numPartitions: 1 }], waitForLeaders: true });
    await admin.deleteTopics({ topics: ['kjs-del'], timeout: 10_000 });
    await waitFor(async () => !(await admin.listTopics()).includes('kjs-del'), 10_000, 'topic gone from listTopics');
    await assert.rejects(admin.deleteTopics({ topics: ['kjs-never'], timeout: 5_000 }), (e: any) => /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION/i.test(String(e?.message) + JSON.stringify(e?.errors ?? e?.originalError ?? '')) || e?.type === 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  test('admin: createPartitions, deleteTopicRecords (log start offset), deleteGroups', { timeout: 40_000 }, async () => {
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'kjs-dr', numPartitions: 1 }], waitForLeaders: true });
    await admin.createPartitions({ topicPartitions: [{ topic: 'kjs-dr', count: 2 }] });
    await waitFor(async () => (await admin.fetchTopicMetadata({ topics: ['kjs-dr'] })).topics[0]!.partitions.length === 2, 10_000, 'two partitions');
    const producer = kafka.producer({ createPartitioner: kjs.Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({ topic: 'kjs-dr', acks: -1, messages: Array.from({ length: 100 }, (_, i) => ({ partition: 0, value: `dr-${i}` })) });
    const [p1] = await producer.send({ topic: 'kjs-dr', acks: -1, messages: [{ partition: 1, value: 'on the new partition' }] });
    assert.equal(p1!.errorCode, 0);
    assert.equal(p1!.partition, 1);

    await admin.deleteTopicRecords({ topic: 'kjs-dr', partitions: [{ partition: 0, offset: '60' }] });
    const offsets = await admin.fetchTopicOffsets('kjs-dr');
    const p0 = offsets.find((o) => o.partition === 0)!;
    assert.equal(p0.low, '60', 'log start offset moved');
    assert.equal(p0.high, '100');
    const consumer = kafka.consumer({ groupId: 'kjs-dr-g', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: 'kjs-dr', fromBeginning: true });
    const got: Array<[number, string, string]> = [];
    await consumer.run({ eachMessage: async ({ partition, message }) => { got.push([partition, message.offset, message.value!.toString()]); } });
    await waitFor(() => got.length >= 41, 30_000, () => `consumed ${got.length} of 41`);
    const fromP0 = got.filter(([p]) => p === 0);
    assert.equal(fromP0[0]![1], '60', 'consumption starts at the new log start offset');
    assert.equal(fromP0[0]![2], 'dr-60');
    assert.equal(fromP0.length, 40);
    await consumer.disconnect();

    const res = await admin.deleteGroups(['kjs-dr-g']);
    assert.equal(res[0]!.errorCode, 0);
    assert.ok(!(await admin.listGroups()).groups.some((g) => g.groupId === 'kjs-dr-g'), 'group deleted');
    const committed = await admin.fetchOffsets({ groupId: 'kjs-dr-g', topics: ['kjs-dr'] });
    for (const p of committed[0]!.partitions) assert.equal(p.offset, '-1', 'no committed offsets after deleteGroups');
  });
});
