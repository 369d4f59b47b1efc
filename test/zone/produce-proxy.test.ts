/**
 * The zone-local produce proxy against its failure modes, on two in-process brokers (racks a and
 * b, real etcd, a shared fs object store wrapped to inject PUT delays and failures): pipelined
 * produces keep their order across flushes whose PUTs finish out of order; a failed PUT is a
 * retriable KAFKA_STORAGE_ERROR and writes nothing; a full proxy buffer answers REQUEST_TIMED_OUT;
 * the leader refuses a staged range whose CRC does not match; leftover staging objects go.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startEtcd } from '../helpers/etcd.js';
import { startBroker } from '../broker/in-process-broker.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { waitFor } from '../helpers/wait.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { runJson } from '../helpers/run-process.js';
import { fileURLToPath } from 'node:url';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { decodeResponseFrame } from '../helpers/raw-kafka.js';
import type { ObjectStore } from '../../src/objects/object-store.js';
import { FsObjectStore } from '../../src/objects/fs-object-store.js';
import { StagingJanitor } from '../../src/broker/staging-janitor.js';
import { crc32c } from '@node-rs/crc32';
import type { Broker } from '../../src/node/broker.js';

const shared = mkdtempSync(join(tmpdir(), 'ferry-proxy-objects-'));
const ZONE_A = 'proxy-test;ferry_az=a';

/** What the proxy's object store does to staging PUTs. */
const faults = { delayMs: () => 0, fail: false, hang: null as Promise<void> | null };
function faulty(store: ObjectStore): ObjectStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'put') return Reflect.get(target, prop, receiver);
      return async (key: string, body: Buffer | readonly Buffer[], options?: object) => {
        if (key.includes('/staging/')) {
          if (faults.hang) await faults.hang;
          const d = faults.delayMs();
          if (d > 0) await new Promise((r) => setTimeout(r, d));
          if (faults.fail) throw Object.assign(new Error('injected PUT failure'), { retriable: true });
        }
        return target.put(key, body, options as never);
      };
    },
  });
}

/** The leader's object store: GETs of keys with '/slow-' take 300 ms. */
function slowGets(store: ObjectStore): ObjectStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'get') return Reflect.get(target, prop, receiver);
      return async (key: string, range?: never) => {
        if (key.includes('/slow-')) await new Promise((r) => setTimeout(r, 300));
        return target.get(key, range);
      };
    },
  });
}

let proxy: { broker: Broker; bootstrap: string; cleanup: () => Promise<void> };
let leader: { broker: Broker; bootstrap: string; cleanup: () => Promise<void> };
let partition = -1;
const stops: (() => Promise<void>)[] = [];

before(async () => {
  const etcd = await startEtcd({ after: (fn) => { stops.push(fn); } });
  const common = { 'metadata.backend': 'etcd', 'etcd.endpoints': etcd.endpoint, 'cluster.name': 'px', 'object.store.path': shared, 'broker.session.timeout.ms': '3000', 'upload.interval.ms': '500', 'ferry.proxy.linger.ms': '2', 'ferry.proxy.buffer.bytes': '65536' };
  proxy = await startBroker({ ...common, 'node.id': '1', rack: 'a' }, undefined, { wrapObjectStore: faulty });
  leader = await startBroker({ ...common, 'node.id': '2', rack: 'b' }, undefined, { wrapObjectStore: slowGets });
  const c = await RawKafkaConnection.connect(proxy.bootstrap);
  try {
    await waitFor(async () => (await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).brokers.length === 2, 15_000, 'both brokers registered');
    const created = await c.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'px', numPartitions: 4, replicationFactor: -1, assignments: [], configs: [{ name: 'ferry.produce.routing', value: 'zone-local' }] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0);
    // A partition broker 2 (rack b) leads, which a rack-a client writes through broker 1.
    await waitFor(async () => {
      const md = await c.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: 'px' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      const p = md.topics[0].partitions.find((x: any) => x.leaderId === 2);
      partition = p?.partitionIndex ?? -1;
      return partition >= 0;
    }, 20_000, 'a partition led by broker 2');
    const zoned = await c.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: 'px' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, 10_000, ZONE_A);
    assert.equal(zoned.topics[0].partitions[partition].leaderId, 1, 'rack a is told broker 1 leads it');
  } finally { c.close(); }
});

after(async () => {
  await proxy?.cleanup();
  await leader?.cleanup();
  for (const stop of stops) await stop();
  rmSync(shared, { recursive: true, force: true });
});

const produceBody = (records: Buffer) => ({ transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: 'px', partitionData: [{ index: partition, records }] }] });
const batch = (i: number, bytes = 100) => buildRecordBatch([{ key: null, value: Buffer.from(`${String(i).padStart(6, '0')}${'v'.repeat(bytes)}`) }]);

test('pipelined produces through the proxy keep their order when PUTs finish out of order', async () => {
  faults.delayMs = () => Math.floor(Math.random() * 15);
  const c = await RawKafkaConnection.connect(proxy.bootstrap);
  try {
    const ids: number[] = [];
    for (let i = 0; i < 60; i++) ids.push(await c.send(ApiKey.Produce, 9, produceBody(batch(i)), ZONE_A));
    const offsets: bigint[] = [];
    for (const id of ids) {
      const frame = await c.readFrame(20_000);
      const res: any = decodeResponseFrame(ApiKey.Produce, 9, frame!, id);
      const p = res.responses[0].partitionResponses[0];
      assert.equal(p.errorCode, 0, p.errorMessage ?? 'no error');
      offsets.push(p.baseOffset);
    }
    for (let i = 1; i < offsets.length; i++) assert.equal(offsets[i], offsets[i - 1]! + 1n, 'offsets follow the send order, densely');
  } finally {
    faults.delayMs = () => 0;
    c.close();
  }
});

test('a failed staging PUT is a retriable KAFKA_STORAGE_ERROR and writes nothing', async () => {
  const c = await RawKafkaConnection.connect(proxy.bootstrap);
  try {
    const end = async () => (await c.request(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'px', partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }] }, 10_000, ZONE_A)).topics[0].partitions[0];
    const before = await end();
    assert.equal(before.errorCode, 0, 'ListOffsets through the proxy');
    faults.fail = true;
    const failed = await c.request(ApiKey.Produce, 9, produceBody(batch(1)), 10_000, ZONE_A);
    assert.equal(failed.responses[0].partitionResponses[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    faults.fail = false;
    assert.equal((await end()).offset, before.offset, 'nothing written');
    const ok = await c.request(ApiKey.Produce, 9, produceBody(batch(2)), 10_000, ZONE_A);
    assert.equal(ok.responses[0].partitionResponses[0].errorCode, 0);
    assert.equal(ok.responses[0].partitionResponses[0].baseOffset, before.offset, 'the retry lands at the next offset: no hole');
  } finally {
    faults.fail = false;
    c.close();
  }
});

test('a full proxy buffer answers REQUEST_TIMED_OUT; the rest goes through once the store answers', async () => {
  let release!: () => void;
  faults.hang = new Promise<void>((r) => { release = r; });
  const c = await RawKafkaConnection.connect(proxy.bootstrap);
  try {
    // 2 x 65536 bytes may wait; 5 batches of 40 KB do not fit.
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await c.send(ApiKey.Produce, 9, produceBody(batch(i, 40_000)), ZONE_A));
    await new Promise((r) => setTimeout(r, 200));
    release();
    faults.hang = null;
    const codes: number[] = [];
    for (const id of ids) {
      const res: any = decodeResponseFrame(ApiKey.Produce, 9, (await c.readFrame(20_000))!, id);
      codes.push(res.responses[0].partitionResponses[0].errorCode);
    }
    assert.ok(codes.includes(ErrorCode.REQUEST_TIMED_OUT), `some refused: ${codes}`);
    assert.ok(codes.includes(ErrorCode.NONE), `some written: ${codes}`);
    assert.ok(codes.every((x) => x === ErrorCode.NONE || x === ErrorCode.REQUEST_TIMED_OUT), `${codes}`);
  } finally {
    release();
    faults.hang = null;
    c.close();
  }
});

test('the leader refuses a staged range whose CRC-32C does not match', async () => {
  const store = new FsObjectStore({ root: shared });
  const key = 'px/staging/9/crc-test';
  const bytes = batch(7);
  await store.put(key, bytes);
  const c = await RawKafkaConnection.connect(leader.bootstrap);
  try {
    const res = await c.request(ApiKey.FerryProxyProduce, 0, {
      proxyId: 9, clientId: 'x', produceVersion: 9, transactionalId: null, acks: -1, timeoutMs: 5000, objectKey: key,
      topics: [{ name: 'px', partitions: [{ index: partition, position: 0n, length: bytes.length, crc: 12345 }] }],
    });
    assert.equal(res.errorCode, ErrorCode.CORRUPT_MESSAGE);
    const missing = await c.request(ApiKey.FerryProxyProduce, 0, {
      proxyId: 9, clientId: 'x', produceVersion: 9, transactionalId: null, acks: -1, timeoutMs: 5000, objectKey: 'px/staging/9/none',
      topics: [{ name: 'px', partitions: [{ index: partition, position: 0n, length: 10, crc: 0 }] }],
    });
    assert.equal(missing.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    // A reference outside the staging prefix (another object of the bucket) is refused unread.
    const foreign = await c.request(ApiKey.FerryProxyProduce, 0, {
      proxyId: 9, clientId: 'x', produceVersion: 9, transactionalId: null, acks: -1, timeoutMs: 5000, objectKey: 'px/o/00/some-object',
      topics: [{ name: 'px', partitions: [{ index: partition, position: 0n, length: 10, crc: 0 }] }],
    });
    assert.equal(foreign.errorCode, ErrorCode.INVALID_REQUEST);
    // Internal APIs are served but never advertised.
    const versions = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    assert.ok(!versions.apiKeys.some((k: any) => k.apiKey >= 30000));
  } finally { c.close(); }
});

test('a transactional librdkafka producer through the proxy: committed records read once, aborted ones never', { timeout: 120_000 }, async () => {
  const python = requirePythonModules('confluent_kafka');
  const res = await runJson(python, [fileURLToPath(new URL('./ck_txn_zone.py', import.meta.url)), '--bootstrap', proxy.bootstrap, '--topic', 'px', '--partition', String(partition), '--count', '200'], { timeoutMs: 100_000 });
  const committed = res.read.filter((v: string) => v.startsWith('c-'));
  assert.equal(committed.length, 200, 'every committed record once');
  assert.deepEqual(committed, [...committed].sort(), 'in order');
  assert.equal(res.read.filter((v: string) => v.startsWith('a-')).length, 0, 'no aborted record');
});

test('the leader appends a proxy\'s references in the order they came, whichever GET finishes first', async () => {
  const store = new FsObjectStore({ root: shared });
  const first = batch(100), second = batch(101);
  await store.put('px/staging/9/slow-1', first);
  await store.put('px/staging/9/fast-2', second);
  const ref = (key: string, bytes: Buffer) => ({
    proxyId: 9, clientId: 'x', produceVersion: 9, transactionalId: null, acks: -1, timeoutMs: 5000, objectKey: key,
    topics: [{ name: 'px', partitions: [{ index: partition, position: 0n, length: bytes.length, crc: crc32c(bytes) | 0 }] }],
  });
  const c = await RawKafkaConnection.connect(leader.bootstrap);
  try {
    const a = await c.send(ApiKey.FerryProxyProduce, 0, ref('px/staging/9/slow-1', first));
    const b = await c.send(ApiKey.FerryProxyProduce, 0, ref('px/staging/9/fast-2', second));
    const ra: any = decodeResponseFrame(ApiKey.FerryProxyProduce, 0, (await c.readFrame(10_000))!, a);
    const rb: any = decodeResponseFrame(ApiKey.FerryProxyProduce, 0, (await c.readFrame(10_000))!, b);
    const pa = ra.responses[0].partitions[0], pb = rb.responses[0].partitions[0];
    assert.equal(pa.errorCode, 0);
    assert.equal(pb.errorCode, 0);
    assert.equal(pb.baseOffset, pa.baseOffset + 1n, 'the slow first reference is appended first');
  } finally { c.close(); }
});

test('the staging janitor deletes only staging objects older than the retention', async () => {
  const store = new FsObjectStore({ root: shared });
  await store.put('px/staging/5/old-one', Buffer.from('x'));
  const janitor = new StagingJanitor(store, 'px/staging/', 60_000, pino({ level: 'silent' }), () => Date.now() + 120_000);
  assert.ok(await janitor.runOnce() >= 1);
  const left: string[] = [];
  for await (const o of store.list('px/staging/')) left.push(o.key);
  assert.deepEqual(left, []);
  const fresh = new StagingJanitor(store, 'px/staging/', 60_000, pino({ level: 'silent' }));
  await store.put('px/staging/5/new-one', Buffer.from('x'));
  assert.equal(await fresh.runOnce(), 0);
  await store.delete(['px/staging/5/new-one']);
});
