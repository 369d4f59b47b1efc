// The log end survives cleaning and restarts: a topic switched from delete to compact whose last
// batches hold keyless records (removed by the cleaner) keeps its end offset through a SIGKILL,
// because the pass's last batch stays as an empty batch. Real clients (kcat/librdkafka and
// kafkajs) read the cleaned log, gaps and the empty batch included.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireTool } from '../helpers/require-tool.js';
import { runChecked } from '../helpers/run-process.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/ports.js';
import { ferry } from '../cli/run-cli.js';

const metricsPort = await freePort();
const FAST = { 'upload.interval.ms': '100', 'compaction.interval.ms': '200', 'log.cleaner.backoff.ms': '200', 'object.gc.grace.ms': '1000', 'metrics.listener': `127.0.0.1:${metricsPort}` };
const broker = new BrokerProcess({ config: FAST });
after(() => broker.dispose());

function passesDone(logs: string): number {
  return logs.split('\n').filter((l) => l.includes('"msg":"cleaned partition"')).length;
}

test('cleaning removes keyless records of a topic turned compacted; the end offset survives a SIGKILL; clients read the cleaned log', { timeout: 90_000 }, async () => {
  const kcat = requireTool('kcat');
  await broker.start();
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const admin = kafka.admin();
  await admin.connect();
  const topic = 'was-delete';
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  for (let v = 0; v < 5; v++) await producer.send({ topic, messages: Array.from({ length: 20 }, (_, k) => ({ key: `k${k}`, value: `v${v}` })) });
  // The last batches carry no keys: fine while the topic is delete-only.
  for (let i = 0; i < 3; i++) await producer.send({ topic, messages: [{ value: `keyless-${i}` }, { value: `keyless-${i}b` }] });
  const end = Number((await admin.fetchTopicOffsets(topic))[0].high);
  assert.equal(end, 106);
  await admin.alterConfigs({ resources: [{ type: 2, name: topic, configEntries: [
    { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.ms', value: '100' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' },
  ] }], validateOnly: false });
  // Now keyless records are refused.
  await assert.rejects(producer.send({ topic, messages: [{ value: 'nokey' }] }), (e: Error & { type?: string }) => e.type === 'INVALID_RECORD');
  await waitFor(() => passesDone(broker.logs) >= 1, 30_000, 'a cleaning pass');
  assert.match(broker.logs, /"recordsIn":106,"recordsOut":20/);
  await producer.disconnect();
  await admin.disconnect();

  await broker.kill();
  await broker.start();
  const admin2 = kafka.admin();
  await admin2.connect();
  const offsets = (await admin2.fetchTopicOffsets(topic))[0];
  assert.equal(Number(offsets.high), end, 'the end offset is the same after the restart');
  assert.equal(Number(offsets.low), 0);
  // The next record takes the next offset: nothing is reused.
  const p2 = kafka.producer();
  await p2.connect();
  const [meta] = await p2.send({ topic, messages: [{ key: 'k0', value: 'after-restart' }] });
  assert.equal(Number(meta.baseOffset), end);
  await p2.disconnect();
  await admin2.disconnect();

  // librdkafka: every key once below the cleaned point (at its offset in the last round), then the new record.
  const out = await runChecked(kcat, ['-b', broker.bootstrap, '-t', topic, '-C', '-e', '-o', 'beginning', '-f', '%o %k=%s\n'], { timeoutMs: 30_000 });
  const lines = out.stdout.toString().split('\n').filter(Boolean);
  const expected = [...Array.from({ length: 20 }, (_, k) => `${80 + k} k${k}=v4`), `${end} k0=after-restart`];
  assert.deepEqual(lines, expected);

  // kafkajs reads the same, stepping over the gap and the empty batch at 100..105.
  const consumer = kafka.consumer({ groupId: 'restart-check' });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => { seen.push(`${message.offset} ${message.key}=${message.value}`); } });
  await waitFor(() => seen.length >= expected.length, 20_000, 'kafkajs reads the cleaned log');
  await consumer.disconnect();
  assert.deepEqual(seen, expected);

  // `ferry topics describe --metrics` shows each compacted partition's dirty ratio and cleaner lag.
  const metrics = `http://127.0.0.1:${metricsPort}`;
  await waitFor(async () => (await fetch(`${metrics}/metrics`).then((r) => r.text())).includes(`ferry_cleaner_dirty_ratio{topic="${topic}"`), 10_000, 'the dirty ratio metric');
  const described = await ferry('topics', 'describe', '--topic', topic, '--bootstrap-server', broker.bootstrap, '--metrics', metrics, '--json');
  assert.equal(described.code, 0, described.stderr);
  const [d] = JSON.parse(described.stdout) as { partitions: { dirtyRatio?: number; cleanerLagSeconds?: number }[] }[];
  assert.equal(typeof d.partitions[0].dirtyRatio, 'number');
  assert.ok(d.partitions[0].dirtyRatio! >= 0 && d.partitions[0].dirtyRatio! <= 1);
  const table = await ferry('topics', 'describe', '--topic', topic, '--bootstrap-server', broker.bootstrap, '--metrics', metrics);
  assert.match(table.stdout, /DIRTY RATIO\s+CLEANER LAG/);
});
