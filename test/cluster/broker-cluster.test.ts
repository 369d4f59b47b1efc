/**
 * Three broker processes on a real etcd (racks a, b, c; one shared fs object store standing in for
 * S3): every broker's Metadata shows all brokers and the same leaders, spread one third each;
 * kcat produces through the leaders; SIGTERM on one broker moves its partitions away gracefully
 * (upload, commit, release; nothing copied between brokers) and every message is still there.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { requireTool } from '../helpers/require-tool.js';
import { runChecked } from '../helpers/run-process.js';
import { waitFor } from '../helpers/wait.js';
import { ApiKey } from '../../src/protocol/messages/index.js';

const shared = mkdtempSync(join(tmpdir(), 'ferry-cluster-objects-'));
const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.dispose();
  rmSync(shared, { recursive: true, force: true });
});

async function metadata(b: BrokerProcess, topic: string) {
  const c = await RawKafkaConnection.connect(b.bootstrap);
  try {
    return await c.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  } finally { c.close(); }
}

const leadersOf = (md: any) => md.topics[0].partitions.map((p: any) => p.leaderId as number);

test('three brokers on etcd: shared metadata, spread leaders, graceful SIGTERM hand-over, nothing lost', { timeout: 150_000 }, async (t) => {
  const kcat = requireTool('kcat');
  const etcd = await startEtcd(t);
  for (const [i, rack] of ['a', 'b', 'c'].entries()) {
    const b = new BrokerProcess({
      config: {
        'metadata.backend': 'etcd', 'etcd.endpoints': etcd.endpoint, 'cluster.name': 'cl3', 'node.id': String(i + 1), rack,
        'object.store.path': shared, 'broker.session.timeout.ms': '3000', 'upload.interval.ms': '500',
      },
    });
    brokers.push(b);
    await b.start();
  }
  await waitFor(async () => (await metadata(brokers[0], 'x')).brokers.length === 3, 15_000, 'all three brokers registered');

  const c = await RawKafkaConnection.connect(brokers[0].bootstrap);
  const created = await c.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'orders', numPartitions: 6, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  c.close();
  assert.equal(created.topics[0].errorCode, 0);

  // The controller spreads leadership: two partitions each, and every broker tells the same story.
  await waitFor(async () => {
    const views = await Promise.all(brokers.map((b) => metadata(b, 'orders')));
    const first = JSON.stringify(leadersOf(views[0]));
    if (!views.every((v) => JSON.stringify(leadersOf(v)) === first && v.brokers.length === 3)) return false;
    const counts = [1, 2, 3].map((id) => leadersOf(views[0]).filter((l: number) => l === id).length);
    return counts.every((n) => n === 2);
  }, 20_000, 'leaders spread 2/2/2 and agreed on by every broker');
  const md = await metadata(brokers[1], 'orders');
  assert.deepEqual(md.brokers.map((b: any) => b.rack).sort(), ['a', 'b', 'c']);
  assert.ok([1, 2, 3].includes(md.controllerId));

  const lines = Array.from({ length: 3000 }, (_, i) => `k${i}:value-${i}-${'x'.repeat(100)}`);
  await runChecked(kcat, ['-b', brokers[0].bootstrap, '-t', 'orders', '-P', '-K:', '-X', 'acks=all'], { input: lines.join('\n') + '\n', timeoutMs: 60_000 });

  // Graceful stop of broker 3: its partitions are uploaded, released and taken over by 1 and 2.
  assert.equal(await brokers[2].stop(), 0);
  const handovers = [...brokers[2].logs.matchAll(/"ms":(\d+),"msg":"partition handed over"/g)].map((m) => Number(m[1]));
  assert.equal(handovers.length, 2, 'broker 3 handed over its two partitions');
  t.diagnostic(`graceful move: writes refused for ${handovers.join(', ')} ms per partition on the old leader (settle + upload + release); bytes copied between brokers: 0`);
  await waitFor(async () => {
    const l = leadersOf(await metadata(brokers[0], 'orders'));
    return l.every((x: number) => x === 1 || x === 2);
  }, 20_000, 'broker 3 leads nothing');

  const more = Array.from({ length: 300 }, (_, i) => `m${i}:after-${i}`);
  await runChecked(kcat, ['-b', brokers[0].bootstrap, '-t', 'orders', '-P', '-K:', '-X', 'acks=all'], { input: more.join('\n') + '\n', timeoutMs: 60_000 });
  const out = await runChecked(kcat, ['-b', brokers[0].bootstrap, '-t', 'orders', '-C', '-e', '-o', 'beginning', '-f', '%k:%s\n'], { timeoutMs: 60_000 });
  const got = out.stdout.toString('utf8').split('\n').filter(Boolean).sort();
  assert.deepEqual(got, [...lines, ...more].sort(), 'every message, once, after the hand-over');
});
