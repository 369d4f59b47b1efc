/**
 * The broker on a real S3 implementation (Ceph radosgw) and under S3 faults:
 *  - produce, upload, evict, consume from S3 byte-exact, restart from S3 + WAL;
 *  - an S3 outage never blocks produce or cache reads; uploads retry and catch up, losing nothing;
 *  - a slow S3 delays only the fetches that need it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRadosgw, type Radosgw } from '../helpers/radosgw.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { FaultyObjectStore } from '../../src/objects/faulty-object-store.js';
import type { ObjectStore } from '../../src/objects/object-store.js';
import { startBroker } from '../broker/in-process-broker.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { startS3FaultProxy } from '../helpers/s3-fault-proxy.js';
import { kcatRoundTrip, TIGHT_TIER } from './kcat-roundtrip.js';

const MANUAL = { 'upload.interval.ms': '3600000', 'compaction.interval.ms': '3600000', 'retention.check.interval.ms': '3600000' };

let rgw: Radosgw;
let bucketN = 0;
before(async () => { rgw = await startRadosgw(); }, { timeout: 180_000 });
after(async () => { await rgw?.stop(); });

async function s3Config(): Promise<Record<string, string>> {
  const bucket = `ferry-${process.pid}-${bucketN++}`;
  await rgw.createBucket(bucket);
  return {
    'object.store': 's3', 's3.bucket': bucket, 's3.endpoint': rgw.endpoint, 's3.region': rgw.region,
    's3.force.path.style': 'true', 's3.access.key.id': rgw.accessKeyId, 's3.secret.access.key': rgw.secretAccessKey,
  };
}

async function produce(conn: RawKafkaConnection, topic: string, n: number, from = 0) {
  if (from === 0) {
    const c = await conn.request(ApiKey.CreateTopics, 7, { topics: [{ name: topic, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(c.topics[0].errorCode, 0);
  }
  const sent: string[] = [];
  for (let i = from; i < from + n; i++) {
    const batch = buildRecordBatch([{ value: Buffer.alloc(1000, `s3-${i}-`) }]);
    const r = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
    sent.push(batch.subarray(21).toString('hex'));
  }
  return sent;
}

const stored = async (conn: RawKafkaConnection, topic: string) => (await fetchAllBatches(conn, topic, 0)).batches.map((b) => b.bytes.subarray(21).toString('hex'));

test('on radosgw: uploads, reads from S3 after eviction, and a restart read back byte-exact', { timeout: 120_000 }, async () => {
  const cfg = { ...MANUAL, ...(await s3Config()), 'cache.max.bytes': '0' };
  const first = await startBroker(cfg);
  let conn = await RawKafkaConnection.connect(first.bootstrap);
  let sent: string[];
  try {
    sent = await produce(conn, 's3t', 300);
    await first.broker.tier.uploader.trigger('test');
    assert.equal(first.broker.tier.uploader.stats.failures, 0);
    assert.ok(first.broker.tier.uploader.stats.bytes > 300_000);
    assert.deepEqual(await stored(conn, 's3t'), sent, 'served from S3 (the cache holds nothing)');
    assert.ok(first.broker.tier.objectReader.stats.gets > 0);
    sent.push(...await produce(conn, 's3t', 20, 300));
    conn.close();
    await first.broker.stop();
  } catch (err) {
    conn.close();
    await first.cleanup();
    throw err;
  }
  const second = await startBroker(cfg, first.dataDir);
  try {
    conn = await RawKafkaConnection.connect(second.bootstrap);
    assert.deepEqual(await stored(conn, 's3t'), sent);
    conn.close();
  } finally {
    await second.cleanup();
  }
});

test('an S3 outage: produce and cache reads go on, uploads retry, and catch up with nothing lost', { timeout: 60_000 }, async () => {
  let faulty: FaultyObjectStore | undefined;
  const env = await startBroker({ ...MANUAL, ...(await s3Config()) }, undefined, { wrapObjectStore: (s: ObjectStore) => (faulty = new FaultyObjectStore(s, { seed: 7 })) });
  const conn = await RawKafkaConnection.connect(env.bootstrap);
  try {
    const tier = env.broker.tier;
    faulty!.outage(true);
    const sent = await produce(conn, 'outage', 100);
    await tier.uploader.trigger('test');
    assert.ok(tier.uploader.stats.failures >= 1, 'the upload failed during the outage');
    assert.equal(tier.uploader.stats.lastTrimOffset, -1n, 'nothing was trimmed: the WAL still holds everything');
    assert.deepEqual(await stored(conn, 'outage'), sent, 'reads are served from the cache meanwhile');
    sent.push(...await produce(conn, 'outage', 20, 100));
    faulty!.outage(false);
    await tier.uploader.trigger('test');
    assert.ok(tier.uploader.stats.objects >= 1);
    assert.ok(tier.uploader.stats.lastTrimOffset > 0n);
    const st = env.broker.context.logs.get(env.broker.context.topics.byName('outage')!.topicId, 0)!;
    assert.equal(st.log.uploadedEndOffset, 120);
    assert.deepEqual(await stored(conn, 'outage'), sent);
  } finally {
    conn.close();
    await env.cleanup();
  }
});

test('a slow S3 delays only fetches that need it; fetches from the cache answer at once', { timeout: 60_000 }, async () => {
  let faulty: FaultyObjectStore | undefined;
  const env = await startBroker({ ...MANUAL, ...(await s3Config()), 'cache.max.bytes': '0' }, undefined, { wrapObjectStore: (s: ObjectStore) => (faulty = new FaultyObjectStore(s, { seed: 9 })) });
  const conn = await RawKafkaConnection.connect(env.bootstrap);
  const other = await RawKafkaConnection.connect(env.bootstrap);
  try {
    await produce(conn, 'slow', 50);
    await env.broker.tier.uploader.trigger('test');
    await produce(conn, 'slow', 5, 50); // in the cache
    faulty!.pause('get');
    const fetch = (c: RawKafkaConnection, offset: bigint) => c.request(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'slow', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '',
    }, 20_000);
    let coldDone = false;
    const cold = fetch(conn, 0n).then((r) => { coldDone = true; return r; });
    const started = Date.now();
    const hot = await fetch(other, 50n);
    assert.ok(Date.now() - started < 2000, 'the cache fetch did not wait for S3');
    assert.ok(hot.responses[0].partitions[0].records.length > 0);
    assert.equal(coldDone, false, 'the S3 fetch is still waiting');
    faulty!.resume('get');
    const coldResult = await cold;
    assert.ok(coldResult.responses[0].partitions[0].records.length > 0);
  } finally {
    conn.close();
    other.close();
    await env.cleanup();
  }
});

test('through a faulty network to S3 (503 SlowDown, resets, latency): kcat round trip loses nothing', { timeout: 240_000 }, async () => {
  const cfg = await s3Config();
  const proxy = await startS3FaultProxy({ target: rgw.endpoint, seed: 11 });
  proxy.addRule({ op: 'put', probability: 0.2, action: { kind: 'status', status: 503, code: 'SlowDown' } });
  proxy.addRule({ op: 'get', probability: 0.1, action: { kind: 'reset' } });
  proxy.addRule({ op: 'get', probability: 0.05, action: { kind: 'reset-mid-body' } });
  proxy.addRule({ probability: 0.3, action: { kind: 'delay', ms: 30 } });
  const broker = new BrokerProcess({ config: { ...TIGHT_TIER, ...cfg, 's3.endpoint': proxy.endpoint } });
  try {
    await broker.start();
    await kcatRoundTrip(broker, 'tier-s3', 12_000);
    const injected = Object.values(proxy.stats.injected).reduce((a: number, b) => a + (b as number), 0);
    assert.ok(injected > 0, `faults were injected (${JSON.stringify(proxy.stats.injected)})`);
  } finally {
    await broker.dispose();
    await proxy.close();
  }
});
