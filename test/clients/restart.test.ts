// Durable state across a SIGKILL: topics and their configs, every stored batch byte for byte, group
// offsets with metadata, producer ids (never reused) and idempotent-producer sequences; deleted
// topics stay deleted. Also a graceful SIGTERM stop. Requests are built with the project's codecs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { waitFor } from '../helpers/wait.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { ApiKey } from '../../src/protocol/messages/index.js';

const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;

describe('restart after SIGKILL keeps every piece of durable state', { timeout: 120_000 }, () => {
  let broker: BrokerProcess;
  let kjs: typeof KafkaJs;

  before(async () => {
    kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    broker = new BrokerProcess();
    await broker.start();
  });
  after(async () => { await broker?.dispose(); });

  const withConn = async <T>(f: (c: RawKafkaConnection) => Promise<T>): Promise<T> => {
    const c = await RawKafkaConnection.connect(broker.bootstrap);
    try { return await f(c); } finally { c.close(); }
  };
  const produce = (c: RawKafkaConnection, topic: string, partition: number, records: Buffer) =>
    c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] })
      .then((r) => r.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: bigint });
  const initProducerId = (c: RawKafkaConnection) =>
    c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  const fetchOffsets = (c: RawKafkaConnection, group: string, topic: string) =>
    c.request(ApiKey.OffsetFetch, 7, { groupId: group, topics: [{ name: topic, partitionIndexes: [0, 1, 2] }], requireStable: false })
      .then((r) => r.topics[0].partitions.map((p: any) => ({ p: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata, err: p.errorCode })));

  test('SIGKILL, restart on the same data dir and port: state is as acknowledged', { timeout: 90_000 }, async () => {
    const kafka = new kjs.Kafka({ clientId: 'restart', brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [
      { topic: 'rs-a', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '123456' }, { name: 'cleanup.policy', value: 'delete' }] },
      { topic: 'rs-gone', numPartitions: 1 },
    ], waitForLeaders: true });
    await admin.deleteTopics({ topics: ['rs-gone'] });
    const producer = kafka.producer({ createPartitioner: kjs.Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < 20; i++) {
      await producer.send({ topic: 'rs-a', acks: -1, compression: i % 2 ? kjs.CompressionTypes.GZIP : kjs.CompressionTypes.None, messages: Array.from({ length: 25 }, (_, j) => ({ key: `k${i}-${j}`, value: `v${i}-${j}` })) });
    }
    await producer.disconnect();

    const before = await withConn(async (c) => {
      // Group offsets with metadata (OffsetCommit v8 as a simple committer: generation -1).
      const commit = await c.request(ApiKey.OffsetCommit, 8, { groupId: 'rs-g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'rs-a', partitions: [0, 1, 2].map((p) => ({ partitionIndex: p, committedOffset: BigInt(10 + p), committedLeaderEpoch: -1, committedMetadata: `meta-${p}` })) }] });
      for (const p of commit.topics[0].partitions) assert.equal(p.errorCode, 0);
      // An idempotent producer's first batch on rs-a/0.
      const pid = await initProducerId(c);
      assert.equal(pid.errorCode, 0);
      const batch = buildRecordBatch([{ key: Buffer.from('idem'), value: Buffer.from('once') }], { producerId: pid.producerId, producerEpoch: pid.producerEpoch, baseSequence: 0 });
      const first = await produce(c, 'rs-a', 0, Buffer.from(batch));
      assert.equal(first.errorCode, 0);
      const partitions = await Promise.all([0, 1, 2].map((p) => fetchAllBatches(c, 'rs-a', p)));
      return { pid, batch, firstOffset: first.baseOffset, partitions, offsets: await fetchOffsets(c, 'rs-g', 'rs-a') };
    });
    await admin.disconnect();

    await broker.kill();
    await broker.start();

    await withConn(async (c) => {
      // Every batch, byte for byte, and the same watermarks.
      for (const p of [0, 1, 2]) {
        const after = await fetchAllBatches(c, 'rs-a', p);
        assert.equal(after.highWatermark, before.partitions[p]!.highWatermark, `partition ${p} high watermark`);
        assert.equal(after.logStartOffset, before.partitions[p]!.logStartOffset, `partition ${p} log start offset`);
        assert.equal(after.batches.length, before.partitions[p]!.batches.length, `partition ${p} batch count`);
        after.batches.forEach((b, i) => assert.ok(b.bytes.equals(before.partitions[p]!.batches[i]!.bytes), `partition ${p} batch ${i} identical`));
      }
      assert.ok(before.partitions.some((p) => p.batches.some((b) => b.compression === 1)), 'some batches were gzip');
      // Group offsets and their metadata.
      assert.deepEqual(await fetchOffsets(c, 'rs-g', 'rs-a'), before.offsets);
      assert.deepEqual(before.offsets.map((o: any) => [o.offset, o.metadata]), [[10n, 'meta-0'], [11n, 'meta-1'], [12n, 'meta-2']]);
      // Producer state: the same batch again is a duplicate, answered with its original offset and
      // not stored twice; a gap in sequences is refused.
      const hw = before.partitions[0]!.highWatermark;
      const dup = await produce(c, 'rs-a', 0, Buffer.from(before.batch));
      assert.equal(dup.errorCode, 0, 'a duplicate is acknowledged');
      assert.equal(dup.baseOffset, before.firstOffset, 'with the original offset');
      assert.equal((await fetchAllBatches(c, 'rs-a', 0)).highWatermark, hw, 'and not written again');
      const gap = buildRecordBatch([{ value: Buffer.from('gap') }], { producerId: before.pid.producerId, producerEpoch: before.pid.producerEpoch, baseSequence: 5 });
      assert.equal((await produce(c, 'rs-a', 0, gap)).errorCode, OUT_OF_ORDER_SEQUENCE_NUMBER);
      const next = buildRecordBatch([{ value: Buffer.from('next') }], { producerId: before.pid.producerId, producerEpoch: before.pid.producerEpoch, baseSequence: 1 });
      const nextRes = await produce(c, 'rs-a', 0, next);
      assert.equal(nextRes.errorCode, 0, 'the next sequence is accepted');
      assert.equal(nextRes.baseOffset, hw);
      // Producer ids are never reused.
      const pid2 = await initProducerId(c);
      assert.equal(pid2.errorCode, 0);
      assert.ok(pid2.producerId > before.pid.producerId, `new producer id ${pid2.producerId} > ${before.pid.producerId}`);
    });

    const admin2 = kafka.admin();
    await admin2.connect();
    try {
      const md = await admin2.fetchTopicMetadata({ topics: ['rs-a'] });
      assert.equal(md.topics[0]!.partitions.length, 3);
      const cfg = await admin2.describeConfigs({ resources: [{ type: kjs.ConfigResourceTypes.TOPIC, name: 'rs-a' }], includeSynonyms: false });
      assert.equal(cfg.resources[0]!.configEntries.find((e) => e.configName === 'retention.ms')?.configValue, '123456');
      assert.ok(!(await admin2.listTopics()).includes('rs-gone'), 'a deleted topic stays deleted');
      // A consumer group resumes from the committed offsets.
      const consumer = kafka.consumer({ groupId: 'rs-g', sessionTimeout: 10_000, heartbeatInterval: 500 });
      await consumer.connect();
      await consumer.subscribe({ topic: 'rs-a' });
      const firstSeen = new Map<number, string>();
      await consumer.run({ eachMessage: async ({ partition, message }) => { if (!firstSeen.has(partition)) firstSeen.set(partition, message.offset); } });
      await waitFor(() => firstSeen.size === 3, 30_000, () => `first offsets per partition: ${JSON.stringify([...firstSeen])}`);
      await consumer.disconnect();
      assert.deepEqual([...firstSeen].sort(), [[0, '10'], [1, '11'], [2, '12']]);
    } finally { await admin2.disconnect(); }
  });

  test('a deleted and re-created topic starts empty, before and after a SIGKILL restart', { timeout: 60_000 }, async () => {
    const kafka = new kjs.Kafka({ clientId: 'recreate', brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ createPartitioner: kjs.Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'rs-again', numPartitions: 2 }, { topic: 'rs-dead', numPartitions: 1 }], waitForLeaders: true });
      await producer.send({ topic: 'rs-again', acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ partition: i % 2, value: `old-${i}` })) });
      await producer.send({ topic: 'rs-dead', acks: -1, messages: [{ value: 'dead' }] });
      await admin.deleteTopics({ topics: ['rs-again', 'rs-dead'] });
      await waitFor(async () => { const t = await admin.listTopics(); return !t.includes('rs-again') && !t.includes('rs-dead'); }, 10_000, 'topics deleted');
      await admin.createTopics({ topics: [{ topic: 'rs-again', numPartitions: 1 }], waitForLeaders: true });
      await producer.send({ topic: 'rs-again', acks: -1, messages: [{ partition: 0, value: 'new-0' }] });
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
    const check = async (when: string) => withConn(async (c) => {
      const md = await c.request(ApiKey.Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      const names = md.topics.map((t: any) => t.name);
      assert.ok(!names.includes('rs-dead'), `${when}: a deleted topic does not come back (${names})`);
      const again = md.topics.find((t: any) => t.name === 'rs-again');
      assert.equal(again?.partitions.length, 1, `${when}: the new rs-again has 1 partition`);
      const stored = await fetchAllBatches(c, 'rs-again', 0);
      assert.equal(stored.highWatermark, 1n, `${when}: only the new topic's message`);
      assert.equal(stored.batches.length, 1);
      assert.ok(stored.batches[0]!.bytes.includes(Buffer.from('new-0')), `${when}: and it is the new one`);
    });
    await check('before restart');
    await broker.kill();
    await broker.start();
    await check('after SIGKILL restart');
  });

  test('SIGTERM stops the broker gracefully (exit code 0) and it restarts', { timeout: 30_000 }, async () => {
    assert.equal(await broker.stop(), 0);
    await broker.start();
    await withConn(async (c) => {
      const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' });
      assert.equal(r.errorCode, 0);
      assert.ok((await fetchAllBatches(c, 'rs-a', 0)).highWatermark > 0n);
    });
  });
});
