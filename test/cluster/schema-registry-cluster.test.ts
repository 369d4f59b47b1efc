/**
 * One schema registry for a whole cluster: two brokers on a real etcd, each serving the REST API.
 * Registrations racing on both brokers get distinct ids, never one id twice; what one broker
 * registers the other reads at once (a write answers after its own broker applied it; the other
 * follows the etcd watch); a record produced to a validated partition on broker B with an id
 * registered on broker A a moment before is accepted (B catches up with the store before it
 * refuses an unknown id). The registry outlives a restart of both brokers: ids continue.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startEtcd } from '../helpers/etcd.js';
import { startBroker } from '../broker/in-process-broker.js';
import { waitFor } from '../helpers/wait.js';

const work = mkdtempSync(join(tmpdir(), 'ferry-sr-cluster-'));
const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const s of stops.reverse()) await s().catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

async function post(url: string, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}
async function get(url: string, path: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url + path);
  return { status: res.status, json: await res.json() };
}
const schema = (name: string) => JSON.stringify({ type: 'record', name, fields: [{ name: 'f', type: 'string' }] });

test('two brokers on etcd share one registry: racing registrations, reads across brokers, validation with an id registered elsewhere, restart', { timeout: 120_000 }, async () => {
  const etcd = await startEtcd();
  stops.push(() => etcd.stop());
  const common = {
    'metadata.backend': 'etcd', 'etcd.endpoints': etcd.endpoint, 'cluster.name': 'registry', 'object.store.path': join(work, 'objects'),
    'broker.session.timeout.ms': '3000', 'schema.registry.listener': '127.0.0.1:0',
  };
  const start = async () => {
    const out = [];
    for (const id of [1, 2]) {
      const b = await startBroker({ ...common, 'node.id': String(id) }, join(work, `b${id}`));
      stops.push(b.cleanup);
      out.push(b);
    }
    return out;
  };
  let brokers = await start();
  const [a, b] = brokers.map((x) => x.broker.parts.schemas.http!.url) as [string, string];

  // 40 registrations, 20 on each broker, all at once.
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => post(i % 2 ? b : a, `/subjects/race-${i}-value/versions`, { schema: schema(`R${i}`) })));
  assert.ok(results.every((r) => r.status === 200), JSON.stringify(results.filter((r) => r.status !== 200)));
  const ids = results.map((r) => r.json.id as number);
  assert.equal(new Set(ids).size, 40, 'every schema its own id');
  // Both brokers agree on every id.
  for (const [i, id] of ids.entries()) {
    for (const url of [a, b]) {
      const r = await waitForStatus(url, `/schemas/ids/${id}`);
      assert.equal(JSON.parse(r.json.schema).name, `R${i}`);
    }
  }
  // The same schema registered on both at once: one id.
  const same = await Promise.all([a, b].map((url) => post(url, '/subjects/same-value/versions', { schema: schema('Same') })));
  assert.equal(same[0]!.json.id, same[1]!.json.id);

  // Validation on broker B of an id registered on A just now.
  const kafka = new Kafka({ clientId: 'sr-cluster', brokers: [brokers[0]!.bootstrap, brokers[1]!.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'validated', numPartitions: 2, configEntries: [{ name: 'confluent.value.schema.validation', value: 'true' }] }] });
  await waitFor(async () => (await admin.fetchTopicMetadata({ topics: ['validated'] })).topics[0]!.partitions.every((p) => p.leader > 0), 20_000, 'leaders');
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const level = await fetch(`${a}/config/validated-value`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ compatibility: 'NONE' }) });
    assert.equal(level.status, 200);
    for (let i = 0; i < 5; i++) {
      // Registered on each broker in turn; produced to both partitions (one led by each broker).
      const reg = await post(i % 2 ? b : a, '/subjects/validated-value/versions', { schema: schema(`V${i}`) });
      assert.equal(reg.status, 200);
      const value = Buffer.alloc(6);
      value.writeInt32BE(reg.json.id, 1);
      await producer.send({ topic: 'validated', messages: [{ partition: 0, value }] });
      await producer.send({ topic: 'validated', messages: [{ partition: 1, value }] });
    }
  } finally {
    await producer.disconnect();
  }

  // Restart both brokers: the registry is in etcd; new ids continue past the old ones.
  for (const x of brokers) await x.cleanup();
  stops.splice(1);
  brokers = await start();
  const url = brokers[1]!.broker.parts.schemas.http!.url;
  assert.equal((await get(url, `/schemas/ids/${ids[0]}`)).status, 200);
  const fresh = await post(url, '/subjects/after-restart-value/versions', { schema: schema('Fresh') });
  assert.ok(fresh.json.id > Math.max(...ids, same[0]!.json.id), `id ${fresh.json.id} after ${Math.max(...ids)}`);
});

async function waitForStatus(url: string, path: string): Promise<{ status: number; json: any }> {
  let last = await get(url, path);
  for (let i = 0; i < 50 && last.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    last = await get(url, path);
  }
  assert.equal(last.status, 200, `${url}${path}: ${JSON.stringify(last.json)}`);
  return last;
}
