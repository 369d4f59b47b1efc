// kafkajs fetchTopicOffsetsByTimestamp after deleteTopicRecords (issue 11): the answer is the first
// offset at or above the log start whose timestamp is at or after the target, from the log cache,
// after a SIGKILL restart (WAL replay), and from objects after a clean stop uploaded and the cache
// holds nothing (cache.max.bytes=0).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule } from '../helpers/require-tool.js';

describe('kafkajs offsets by timestamp after DeleteRecords', { timeout: 120_000 }, () => {
  let broker: BrokerProcess;
  let kjs: typeof KafkaJs;

  before(async () => {
    kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    // Uploads only on a clean stop; nothing stays cached once uploaded.
    broker = new BrokerProcess({ config: { 'upload.interval.ms': '3600000', 'cache.max.bytes': '0' } });
    await broker.start();
  });
  after(async () => { await broker?.dispose(); });

  const withAdmin = async <T>(f: (admin: KafkaJs.Admin) => Promise<T>): Promise<T> => {
    const kafka = new kjs.Kafka({ clientId: 'ts-dr', brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    try { return await f(admin); } finally { await admin.disconnect(); }
  };
  const offsetAt = async (admin: KafkaJs.Admin, ts: number) => (await admin.fetchTopicOffsetsByTimestamp('ts-dr', ts))[0]!.offset;

  test('first offset >= log start with timestamp >= target: cache, WAL replay, objects', { timeout: 100_000 }, async () => {
    const t0 = Date.now() - 30_000;
    const now = Date.now();
    await withAdmin(async (admin) => {
      await admin.createTopics({ topics: [{ topic: 'ts-dr', numPartitions: 1 }], waitForLeaders: true });
      const kafka = new kjs.Kafka({ clientId: 'ts-dr-p', brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      // One batch of five (offsets 0..4, t0 .. t0+4 s), then one of three (5..7, t0+10 s ..).
      await producer.send({ topic: 'ts-dr', acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ value: `a${i}`, timestamp: String(t0 + i * 1000) })) });
      await producer.send({ topic: 'ts-dr', acks: -1, messages: Array.from({ length: 3 }, (_, i) => ({ value: `b${i}`, timestamp: String(t0 + 10_000 + i * 1000) })) });
      await producer.disconnect();
      assert.equal(await offsetAt(admin, now - 60_000), '0');
      await admin.deleteTopicRecords({ topic: 'ts-dr', partitions: [{ partition: 0, offset: '2' }] });
    });

    const expectAfterDelete = async (where: string) => withAdmin(async (admin) => {
      const [p] = await admin.fetchTopicOffsets('ts-dr');
      assert.equal(p!.low, '2', `${where}: log start`);
      assert.equal(p!.high, '8', `${where}: high watermark`);
      assert.equal(await offsetAt(admin, now - 60_000), '2', `${where}: before every record -> the log start`);
      assert.equal(await offsetAt(admin, t0 + 2500), '3', `${where}: inside the first batch`);
      assert.equal(await offsetAt(admin, t0 + 5000), '5', `${where}: the second batch`);
      // kafkajs shows "no such offset" (-1) as the high watermark.
      assert.equal(await offsetAt(admin, t0 + 60_000), '8', `${where}: after every record`);
    });
    await expectAfterDelete('cache');
    await broker.kill();
    await broker.start();
    await expectAfterDelete('after SIGKILL (WAL replay)');
    // A clean stop uploads everything; the restarted broker replays nothing and caches nothing.
    assert.equal(await broker.stop(), 0);
    await broker.start();
    const recovered = broker.logs.split('\n').filter((l) => l.includes('"msg":"WAL recovered"')).at(-1)!;
    assert.equal(JSON.parse(recovered).batches, 0, 'nothing replayed: the reads below come from objects');
    await expectAfterDelete('from objects');
  });
});
