// The log cleaner in an etcd cluster: each compacted partition is cleaned by its leader only;
// after its leader is SIGKILLed and the partition fails over, the new leader cleans it too
// (planning with what the old leader's passes left in metadata), and every key reads back at its
// latest value.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { startEtcd } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';
import { VolumeCluster } from '../failover/volume-cluster.js';

const clusters: VolumeCluster[] = [];
after(async () => { for (const c of clusters) await c.dispose(); });

const cleanedLines = (logs: string, partition: number) =>
  logs.split('\n').filter((l) => l.includes('"msg":"cleaned partition"') && l.includes(`"partition":${partition},`));

test('compacted partitions are cleaned by their leaders, and by the new leader after a failover', { timeout: 150_000 }, async (t) => {
  const etcd = await startEtcd(t);
  const work = mkdtempSync(join(tmpdir(), 'ferry-compaction-cluster-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const cluster = new VolumeCluster({
    name: 'compaction', racks: ['a', 'b'], etcd, objectStore: { 'object.store.path': join(work, 'objects') },
    config: { 'upload.interval.ms': '200', 'compaction.interval.ms': '300', 'log.cleaner.backoff.ms': '300', 'object.gc.grace.ms': '2000', 'group.initial.rebalance.delay.ms': '0' },
  });
  clusters.push(cluster);
  await cluster.start();
  await waitFor(async () => (await cluster.metadata('x')).controllerId >= 0, 20_000, 'a controller');
  const topic = 'kv-cluster';
  const kafka = new Kafka({ brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 200 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, configEntries: [
    { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.ms', value: '100' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' },
  ] }] });
  await waitFor(async () => { const l = await cluster.leaders(topic); return l.length === 2 && l.includes(1) && l.includes(2); }, 30_000, 'one partition led by each broker');
  const leaders = await cluster.leaders(topic);
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const latest = new Map<string, string>();
  const write = async (round: number) => {
    const messages = [];
    for (let k = 0; k < 100; k++) { const key = `k${k}`, value = `r${round}-${key}`; messages.push({ key, value, partition: k % 2 }); latest.set(key, value); }
    await producer.send({ topic, messages });
  };
  for (let r = 0; r < 10; r++) await write(r);
  // Each broker cleans the partition it leads, and never the other one.
  for (const p of [0, 1]) {
    const owner = cluster.broker(leaders[p]!);
    const other = cluster.broker(3 - leaders[p]!);
    await waitFor(() => cleanedLines(owner.logs, p).length > 0, 30_000, `partition ${p} cleaned by its leader ${leaders[p]}`);
    assert.equal(cleanedLines(other.logs, p).length, 0, `partition ${p} is not cleaned by broker ${3 - leaders[p]!}`);
  }

  // Kill the leader of partition 1; its partition moves to the survivor, which then cleans it.
  const victimId = leaders[1]!;
  const survivor = cluster.broker(3 - victimId);
  await cluster.broker(victimId).kill();
  await waitFor(async () => (await cluster.leaders(topic).catch(() => [])).every((l) => l === 3 - victimId), 60_000, 'both partitions led by the survivor');
  const before = cleanedLines(survivor.logs, 1).length;
  for (let r = 10; r < 15; r++) await write(r);
  await waitFor(() => cleanedLines(survivor.logs, 1).length > before, 40_000, 'the new leader cleans the moved partition');
  assert.doesNotMatch(survivor.logs, /cleaning pass lost a race[^\n]*"partition":1/, 'the new leader planned with live objects only');
  await producer.disconnect();
  await admin.disconnect();

  // Read everything back: each key once per partition below the cleaned point, at its latest value.
  const consumer = kafka.consumer({ groupId: 'compaction-cluster-check' });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const table = new Map<string, string>();
  let records = 0;
  await consumer.run({ eachMessage: async ({ message }) => { records++; table.set(message.key!.toString(), message.value!.toString()); } });
  await waitFor(() => table.size === latest.size && [...latest].every(([k, v]) => table.get(k) === v), 30_000, () => `every key at its latest value (${table.size} keys)`);
  await consumer.disconnect();
  assert.ok(records < 15 * 100, `the cleaned log is smaller than what was written (${records} records read)`);
});
