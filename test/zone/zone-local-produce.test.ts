/**
 * Zone-local produce on three broker processes (racks a, b, c; etcd; a shared fs object store):
 * a producer whose client id says ferry_az=a is told that rack a's broker leads every partition of
 * a zone-local topic; that broker stages the batches in the object store and the real leaders
 * append them. Offsets stay dense, an idempotent producer's messages arrive once and in order,
 * ListOffsets through the proxy is the leader's answer, no record byte crosses a rack, and the
 * staging objects are gone afterwards.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { requireTool } from '../helpers/require-tool.js';
import { runChecked } from '../helpers/run-process.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/ports.js';
import { parsePrometheusText } from '../../src/admin/prom-text.js';
import { ApiKey } from '../../src/protocol/messages/index.js';

const shared = mkdtempSync(join(tmpdir(), 'ferry-zone-objects-'));
const brokers: BrokerProcess[] = [];
const metricsPorts: number[] = [];
after(async () => {
  for (const b of brokers) await b.dispose();
  rmSync(shared, { recursive: true, force: true });
});

async function metadata(b: BrokerProcess, topic: string, clientId: string) {
  const c = await RawKafkaConnection.connect(b.bootstrap);
  try {
    return await c.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, 10_000, clientId);
  } finally { c.close(); }
}

async function metricSum(name: string, filter: (labels: Record<string, string>) => boolean = () => true): Promise<number> {
  let sum = 0;
  for (const port of metricsPorts) {
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
    for (const s of parsePrometheusText(text)) if (s.name === name && filter(s.labels)) sum += s.value;
  }
  return sum;
}

test('zone-local produce: the zone broker stages, the leaders append, nothing crosses a rack', { timeout: 180_000 }, async (t) => {
  const kcat = requireTool('kcat');
  const etcd = await startEtcd(t);
  for (const [i, rack] of ['a', 'b', 'c'].entries()) {
    const port = await freePort();
    metricsPorts.push(port);
    const b = new BrokerProcess({
      config: {
        'metadata.backend': 'etcd', 'etcd.endpoints': etcd.endpoint, 'cluster.name': 'zl3', 'node.id': String(i + 1), rack,
        'object.store.path': shared, 'broker.session.timeout.ms': '3000', 'upload.interval.ms': '500',
        'metrics.listener': `127.0.0.1:${port}`,
      },
    });
    brokers.push(b);
    await b.start();
  }
  await waitFor(async () => (await metadata(brokers[0], 'x', 'probe')).brokers.length === 3, 15_000, 'all three brokers registered');
  const c = await RawKafkaConnection.connect(brokers[0].bootstrap);
  const created = await c.request(ApiKey.CreateTopics, 7, {
    topics: [{ name: 'zl', numPartitions: 6, replicationFactor: -1, assignments: [], configs: [{ name: 'ferry.produce.routing', value: 'zone-local' }] }],
    timeoutMs: 5000, validateOnly: false,
  });
  c.close();
  assert.equal(created.topics[0].errorCode, 0);
  await waitFor(async () => {
    const leaders = (await metadata(brokers[0], 'zl', 'probe')).topics[0].partitions.map((p: any) => p.leaderId as number);
    return [1, 2, 3].every((id) => leaders.filter((l: number) => l === id).length === 2);
  }, 20_000, 'leaders spread over the three brokers');

  // Seen from rack a: broker 1 leads everything, at the real leaders' epochs.
  const real = (await metadata(brokers[1], 'zl', 'probe')).topics[0].partitions;
  const zoned = (await metadata(brokers[1], 'zl', 'orders;ferry_az=a')).topics[0].partitions;
  assert.deepEqual(zoned.map((p: any) => p.leaderId), zoned.map(() => 1));
  assert.deepEqual(zoned.map((p: any) => p.leaderEpoch), real.map((p: any) => p.leaderEpoch));
  assert.ok(real.some((p: any) => p.leaderId !== 1), 'some partitions are led outside rack a');
  for (const p of zoned) assert.ok(p.replicaNodes.includes(1) && p.replicaNodes.includes(real[p.partitionIndex].leaderId), 'the zone broker and the leader are listed as replicas');

  // An idempotent librdkafka producer in rack a, through broker 1 only.
  const n = 4000;
  const lines = Array.from({ length: n }, (_, i) => `k${i % 97}:${String(i).padStart(6, '0')}-${'x'.repeat(200)}`);
  try {
    await runChecked(kcat, ['-b', brokers[0].bootstrap, '-t', 'zl', '-P', '-K:', '-X', 'acks=all', '-X', 'enable.idempotence=true', '-X', 'client.id=orders;ferry_az=a', '-X', 'linger.ms=5'],
      { input: lines.join('\n') + '\n', timeoutMs: 30_000 });
  } catch (err) {
    for (const b of brokers) console.log(b.logs.split('\n').filter((l) => /warn|error|proxy|zone/i.test(l)).slice(-15).join('\n'));
    console.log(String((err as any).stderr ?? '').slice(-3000));
    throw err;
  }
  assert.ok(await metricSum('ferry_proxy_staged_objects_total', (l) => l.result === 'ok') > 0, 'broker 1 staged objects');

  // Everything is there once, in order per key's partition, at dense offsets (read from the real leaders).
  const out = await runChecked(kcat, ['-b', brokers[2].bootstrap, '-t', 'zl', '-C', '-e', '-o', 'beginning', '-f', '%p %o %s\n'], { timeoutMs: 60_000 });
  const rows = String(out.stdout).trim().split('\n').map((l) => l.split(' ')).map(([p, o, v]) => ({ p: Number(p), o: Number(o), v: Number(v!.slice(0, 6)) }));
  assert.equal(rows.length, n, 'every message once');
  assert.deepEqual([...new Set(rows.map((r) => r.v))].length, n);
  for (let p = 0; p < 6; p++) {
    const mine = rows.filter((r) => r.p === p);
    mine.forEach((r, i) => assert.equal(r.o, i, `partition ${p}: dense offsets`));
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.v > mine[i - 1]!.v, `partition ${p}: produce order kept`);
  }

  // ListOffsets through the zone broker answers what the leader answers.
  const q = await runChecked(kcat, ['-b', brokers[0].bootstrap, '-X', 'client.id=orders;ferry_az=a', '-Q', ...Array.from({ length: 6 }, (_, p) => ['-t', `zl:${p}:-1`]).flat()], { timeoutMs: 30_000 });
  const ends = [...String(q.stdout).matchAll(/\[(\d+)\] offset (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.equal(ends.length, 6, String(q.stdout));
  for (const [p, end] of ends) assert.equal(end, rows.filter((r) => r.p === p).length, `partition ${p}: end offset through the proxy`);

  // No record byte crossed a rack on the produce side; the proxy counted the client's bytes as same-AZ.
  assert.equal(await metricSum('ferry_cross_az_bytes_total', (l) => l.direction === 'in'), 0);
  assert.ok(await metricSum('ferry_client_bytes_total', (l) => l.direction === 'in' && l.locality === 'same_az') >= n * 200);
  // Staging objects are deleted once answered.
  const staging = join(shared, 'zl3', 'staging');
  await waitFor(() => !existsSync(staging) || readdirSync(staging, { recursive: true }).filter((f) => !String(f).endsWith('/') && /-/.test(String(f))).length === 0, 10_000, 'staging objects deleted');
});
