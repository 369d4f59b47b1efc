// Broker settings that clients can observe: auto.create.topics.enable=false and num.partitions.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireTool } from '../helpers/require-tool.js';
import { runChecked } from '../helpers/run-process.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';

const UNKNOWN_TOPIC_OR_PARTITION = 3;

describe('auto.create.topics.enable=false, num.partitions=3', { timeout: 60_000 }, () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = new BrokerProcess({ config: { 'auto.create.topics.enable': 'false', 'num.partitions': '3' } });
    await broker.start();
  });
  after(async () => { await broker?.dispose(); });

  test('Metadata and Produce for an unknown topic answer UNKNOWN_TOPIC_OR_PARTITION and create nothing', async () => {
    const c = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const md = await c.request(ApiKey.Metadata, 9, { topics: [{ name: 'no-such-topic' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
      assert.equal(md.topics[0].errorCode, UNKNOWN_TOPIC_OR_PARTITION);
      const produced = await c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'no-such-topic', partitionData: [{ index: 0, records: buildRecordBatch([{ value: Buffer.from('x') }]) }] }] });
      assert.equal(produced.responses[0].partitionResponses[0].errorCode, UNKNOWN_TOPIC_OR_PARTITION);
      const kcat = requireTool('kcat');
      const res = await runChecked(kcat, ['-b', broker.bootstrap, '-L', '-J'], { timeoutMs: 20_000 });
      assert.ok(!JSON.parse(res.stdout.toString('utf8')).topics.some((t: any) => t.topic === 'no-such-topic'), 'not created');
    } finally { c.close(); }
  });

  test('CreateTopics without a partition count uses num.partitions', async () => {
    const c = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const res = await c.request(ApiKey.CreateTopics, 5, { topics: [{ name: 'defaulted', numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
      assert.equal(res.topics[0].errorCode, 0, String(res.topics[0].errorMessage));
      assert.equal(res.topics[0].numPartitions, 3);
      const md = await c.request(ApiKey.Metadata, 9, { topics: [{ name: 'defaulted' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      assert.equal(md.topics[0].partitions.length, 3);
    } finally { c.close(); }
  });
});
