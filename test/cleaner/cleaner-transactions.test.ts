// Transactions in a compacted topic: a kafkajs transactional producer commits some transactions
// and aborts others; after cleaning, the aborted records are gone from the log itself (not only
// hidden from read_committed), every key holds its latest committed value for read_committed and
// read_uncommitted consumers alike, and an open transaction holds the cleaner below its first
// offset (the last stable offset) until it ends.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { waitFor, sleep } from '../helpers/wait.js';
import { readRecords } from '../../src/protocol/records.js';
import { BatchView, baseOffsetOf } from '../../src/protocol/record-batch.js';

const broker = new BrokerProcess({ config: { 'upload.interval.ms': '100', 'compaction.interval.ms': '200', 'log.cleaner.backoff.ms': '200', 'object.gc.grace.ms': '1000' } });
after(() => broker.dispose());

const passes = () => broker.logs.split('\n').filter((l) => l.includes('"msg":"cleaned partition"'));
const lastPassEnd = () => { const l = passes().at(-1); return l ? Number(/"mapEnd":(\d+)/.exec(l)![1]) : -1; };

test('aborted transactional records are removed by the cleaner; committed ones keep the latest value per key; an open transaction holds the cleaner back', { timeout: 90_000 }, async () => {
  await broker.start();
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = 'txn-compacted';
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [
    { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.ms', value: '100' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' },
  ] }] });
  const producer = kafka.producer({ transactionalId: 'compacted-txn', idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const expected = new Map<string, string>();
  for (let t = 0; t < 8; t++) {
    const txn = await producer.transaction();
    const messages = Array.from({ length: 10 }, (_, k) => ({ key: `k${k}`, value: `t${t}-k${k}` }));
    await txn.send({ topic, messages });
    if (t % 3 === 2) await txn.abort();
    else { await txn.commit(); for (const m of messages) expected.set(m.key, m.value); }
  }
  // An open transaction at the end: the cleaner must stay below its first offset.
  const open = await producer.transaction();
  await open.send({ topic, messages: [{ key: 'k0', value: 'open-k0' }] });
  // kafkajs' admin lists offsets read_committed: its high is the last stable offset, the open transaction's first offset.
  const openFirst = Number((await admin.fetchTopicOffsets(topic))[0].high);
  assert.equal(openFirst, 88);
  await waitFor(() => passes().length > 0, 30_000, 'a cleaning pass');
  await sleep(1000);
  assert.ok(lastPassEnd() <= openFirst, `the cleaner stays below the open transaction (pass end ${lastPassEnd()}, its first offset ${openFirst})`);
  await open.commit();
  expected.set('k0', 'open-k0');
  const before = passes().length;
  await waitFor(() => passes().length > before && lastPassEnd() > openFirst, 30_000, 'a pass past the committed transaction');

  // In the log itself: no aborted record is left, committed data holds each key once.
  const conn = await RawKafkaConnection.connect(broker.bootstrap);
  const { batches } = await fetchAllBatches(conn, topic, 0);
  conn.close();
  const dataValues: string[] = [];
  let markers = 0;
  for (const b of batches) {
    const v = new BatchView(b.bytes);
    if (v.isControl) { markers++; continue; }
    for (const r of readRecords(b.bytes)) dataValues.push(r.value!.toString());
  }
  assert.ok(dataValues.every((x) => !/^t(2|5)-/.test(x)), `aborted records are gone: ${dataValues.join(',')}`);
  assert.deepEqual([...dataValues].sort(), [...expected.values()].sort(), 'each key once, at its latest committed value');
  assert.ok(markers >= 3, 'the abort markers stay');
  assert.ok(batches.every((b, i) => i === 0 || baseOffsetOf(b.bytes) > baseOffsetOf(batches[i - 1]!.bytes)));

  for (const isolation of ['read_committed', 'read_uncommitted'] as const) {
    const consumer = kafka.consumer({ groupId: `txn-compacted-${isolation}`, readUncommitted: isolation === 'read_uncommitted' });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const table = new Map<string, string>();
    await consumer.run({ eachMessage: async ({ message }) => { table.set(message.key!.toString(), message.value!.toString()); } });
    await waitFor(() => table.size === expected.size && [...expected].every(([k, v]) => table.get(k) === v), 20_000, () => `${isolation}: every key at its latest committed value (${JSON.stringify([...table])})`);
    await consumer.disconnect();
  }
  await producer.disconnect();
  await admin.disconnect();
});
