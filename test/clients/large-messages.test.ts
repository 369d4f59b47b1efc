// Batches over 1 MiB: a topic's max.message.bytes (16 MiB here) is honoured end to end, beyond
// the broker's message.max.bytes and the WAL's old fixed 1 MiB record limit; above it the broker
// answers MESSAGE_TOO_LARGE. librdkafka (confluent-kafka-python) and kafkajs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule, requirePythonModules } from '../helpers/require-tool.js';
import { runJson } from '../helpers/run-process.js';

const SCRIPT = fileURLToPath(new URL('./py/ck_client.py', import.meta.url));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('messages larger than 1 MiB', { timeout: 180_000 }, () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = new BrokerProcess();
    await broker.start();
  });
  after(async () => { await broker?.dispose(); });

  test('librdkafka: a 10 MB message on a 16 MiB topic round-trips; 20 MB is MSG_SIZE_TOO_LARGE from the broker', { timeout: 120_000 }, async () => {
    const python = requirePythonModules('confluent_kafka');
    const r = await runJson(python, [SCRIPT, 'large', '--bootstrap', broker.bootstrap, '--topic', 'ck-large'], { timeoutMs: 110_000 });
    assert.deepEqual(r.produced.map((p: any) => [p.size, p.error]), [[10_000_000, null], [20_000_000, 'MSG_SIZE_TOO_LARGE'], [5, null]]);
    assert.deepEqual(r.consumed.map((m: any) => [m.offset, m.size]), [[0, 10_000_000], [1, 5]], 'the refused message took no offset');
    assert.equal(r.consumed[0].sha256, r.bigSha256, 'the 10 MB value came back intact');
  });

  test('kafkajs: a 10 MB message on a 16 MiB topic round-trips; 20 MB is refused with MESSAGE_TOO_LARGE', { timeout: 120_000 }, async () => {
    const kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    const kafka = new kjs.Kafka({ clientId: 'ferry-large', brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 } });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    const consumer = kafka.consumer({ groupId: 'kjs-large', maxBytesPerPartition: 1024 * 1024, maxBytes: 32 * 1024 * 1024 });
    await admin.connect();
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'kjs-large', numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(16 * 1024 * 1024) }] }], waitForLeaders: true });
      const big = Buffer.alloc(10_000_000);
      for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
      const [ok] = await producer.send({ topic: 'kjs-large', acks: -1, messages: [{ key: 'big', value: big }] });
      assert.equal(ok.errorCode, 0);
      assert.equal(ok.baseOffset, '0');
      await assert.rejects(
        producer.send({ topic: 'kjs-large', acks: -1, messages: [{ key: 'huge', value: Buffer.alloc(20_000_000, 1) }] }),
        (err: any) => (err.type ?? err.cause?.type) === 'MESSAGE_TOO_LARGE' || /MESSAGE_TOO_LARGE|too large/i.test(String(err)),
      );
      const [small] = await producer.send({ topic: 'kjs-large', acks: -1, messages: [{ key: 'small', value: 'small' }] });
      assert.equal(small.baseOffset, '1', 'the refused message took no offset');

      await consumer.connect();
      await consumer.subscribe({ topic: 'kjs-large', fromBeginning: true });
      const got: { offset: string; size: number; sha: string }[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumed only ${got.length}`)), 60_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            got.push({ offset: message.offset, size: message.value!.length, sha: sha256(message.value!) });
            if (got.length === 2) { clearTimeout(timer); resolve(); }
          },
        });
      });
      assert.deepEqual(got.map((m) => [m.offset, m.size]), [['0', 10_000_000], ['1', 5]]);
      assert.equal(got[0].sha, sha256(big));
    } finally {
      await consumer.disconnect().catch(() => {});
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    }
  });
});
