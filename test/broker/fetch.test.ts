/**
 * The Fetch path against an in-process broker: record bytes go from the log cache to the socket
 * without a copy (the chunks the connection writes are the cache's own buffers), KIP-74's first
 * batch, a long poll that reads again only the partitions it was woken for, and the send-queue
 * claims matching the record bytes a fetch holds.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { pino } from 'pino';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { ApiKey, decodeFetchRequest, encodeFetchRequest, type FetchResponse } from '../../src/protocol/messages/index.js';
import type { RequestHeader } from '../../src/protocol/headers.js';
import type { RequestContext, ResponseBytes } from '../../src/server/handler-registry.js';
import { makeFetchHandler } from '../../src/broker/fetch.js';
import type { PartitionLog } from '../../src/log/partition-log.js';
import { startBroker } from './in-process-broker.js';

let env: Awaited<ReturnType<typeof startBroker>>;
let conn: RawKafkaConnection;
let producer: RawKafkaConnection;

before(async () => {
  env = await startBroker();
  conn = await RawKafkaConnection.connect(env.bootstrap);
  producer = await RawKafkaConnection.connect(env.bootstrap);
});
after(async () => {
  conn?.close();
  producer?.close();
  await env?.cleanup();
});

async function createTopic(name: string, partitions = 1): Promise<string> {
  const r = await conn.request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  assert.equal(r.topics[0].errorCode, 0);
  return env.broker.context.topics.byName(name)!.topicId;
}

function batch(valueBytes: number, count = 1): Buffer {
  return buildRecordBatch(Array.from({ length: count }, (_, i) => ({ value: Buffer.alloc(valueBytes, i + 1) })));
}

async function produce(topic: string, records: Buffer, partition = 0): Promise<void> {
  const r = await producer.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
}

/** `topic` by name; v13+ needs its id as well. */
function fetchReq(topic: string, partitions: { partition: number; fetchOffset: bigint; partitionMaxBytes?: number }[], extra: Record<string, unknown> = {}) {
  const topicId = env.broker.context.topics.byName(topic)!.topicId;
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, topicId, partitions: partitions.map((p) => ({ currentLeaderEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, ...p })) }],
    forgottenTopicsData: [], rackId: '', ...extra,
  };
}

function cachedBatches(topicId: string, partition = 0): Buffer[] {
  const st = env.broker.context.logs.get(topicId, partition);
  assert.ok(st, `partition ${partition} is here`);
  return [...st.log.batchesFrom(0)].map((b) => b.bytes);
}

/** Runs `fn` while recording every chunk the broker's side of a connection writes. */
async function brokerWrites<T>(fn: () => Promise<T>): Promise<{ result: T; chunks: Buffer[] }> {
  const chunks: Buffer[] = [];
  const port = env.broker.address.port;
  const write = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    if (this.localPort === port && Buffer.isBuffer(chunk)) chunks.push(chunk);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof write;
  try {
    return { result: await fn(), chunks };
  } finally {
    Socket.prototype.write = write;
  }
}

const within = (outer: Buffer, inner: Buffer) =>
  outer.buffer === inner.buffer && inner.byteOffset >= outer.byteOffset && inner.byteOffset + inner.length <= outer.byteOffset + outer.length;

test('fetch makes no copy of record bytes: the chunks written to the socket are the log cache\'s own buffers', async () => {
  const topicId = await createTopic('zero-copy');
  // Batches of one produce each (their own WAL entries), small and large ...
  for (const size of [10, 300, 5_000, 40_000]) await produce('zero-copy', batch(size));
  // ... and two batches in one produce (one WAL entry: adjacent in memory).
  await produce('zero-copy', Buffer.concat([batch(200), batch(3_000)]));
  const cached = cachedBatches(topicId);
  assert.equal(cached.length, 6);
  const recordBytes = cached.reduce((n, b) => n + b.length, 0);

  for (const version of [11, 12, 16]) {
    const { result, chunks } = await brokerWrites(() => conn.request(ApiKey.Fetch, version, fetchReq('zero-copy', [{ partition: 0, fetchOffset: 0n }])));
    const records: Buffer = (result as FetchResponse).responses[0]!.partitions[0]!.records!;
    assert.deepEqual(records, Buffer.concat(cached), `v${version}: the consumer got every batch`);
    for (const [i, b] of cached.slice(0, 4).entries()) {
      assert.ok(chunks.includes(b), `v${version}: batch ${i} (${b.length} bytes) went to the socket as the very buffer the cache holds`);
    }
    for (const b of cached.slice(4)) {
      assert.ok(chunks.some((c) => within(c, b)), `v${version}: a batch of a multi-batch entry went out as a view of the cache's memory`);
    }
    const ofCache = chunks.filter((c) => cached.some((b) => within(c, b)));
    assert.equal(ofCache.reduce((n, c) => n + c.length, 0), recordBytes, `v${version}: the cache's chunks are exactly the record bytes`);
    const other = chunks.filter((c) => !ofCache.includes(c)).reduce((n, c) => n + c.length, 0);
    assert.ok(other < 256, `v${version}: only ${other} bytes of frame and fields were written besides them`);
  }
});

test('KIP-74: the first batch comes whole above partition max bytes; later partitions get nothing past the limit', async () => {
  const topicId = await createTopic('kip74', 2);
  await produce('kip74', batch(2_000), 0);
  await produce('kip74', batch(2_000), 0);
  await produce('kip74', batch(2_000), 1);
  const first = cachedBatches(topicId, 0)[0]!;
  const res = await conn.request(ApiKey.Fetch, 12, fetchReq('kip74', [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 100 }, { partition: 1, fetchOffset: 0n, partitionMaxBytes: 100 }]));
  const [p0, p1] = res.responses[0].partitions;
  assert.deepEqual(p0.records, first, 'exactly the first batch, whole, though it is above partitionMaxBytes');
  assert.equal(p1.records.length, 0, 'the next partition stays within its limit');
  const capped = await conn.request(ApiKey.Fetch, 12, fetchReq('kip74', [{ partition: 0, fetchOffset: 0n }], { maxBytes: 10 }));
  assert.deepEqual(capped.responses[0].partitions[0].records, first, 'also above the response maxBytes');
});

/** Counts ReadPath reads per partition while `fn` runs. */
async function countReads<T>(fn: () => Promise<T>): Promise<{ result: T; reads: Map<number, number> }> {
  const path = env.broker.context.reads;
  const read = path.read;
  const reads = new Map<number, number>();
  path.read = function (log: PartitionLog, ...rest: [number, number, boolean]) {
    reads.set(log.partition, (reads.get(log.partition) ?? 0) + 1);
    return read.call(path, log, ...rest);
  };
  try {
    return { result: await fn(), reads };
  } finally {
    path.read = read;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a long poll reads again only the partitions it was woken for', async () => {
  await createTopic('woken', 3);
  await produce('woken', batch(100), 0); // partition 0 has data, not enough for minBytes
  const one = batch(1_000);
  const { result, reads } = await countReads(async () => {
    const pending = conn.request(ApiKey.Fetch, 12, fetchReq('woken', [0, 1, 2].map((partition) => ({ partition, fetchOffset: 0n })), { maxWaitMs: 10_000, minBytes: 2 * one.length }));
    await sleep(200);
    await produce('woken', one, 1); // a wake-up, still below minBytes
    await sleep(200);
    await produce('woken', one, 1); // enough
    return pending;
  });
  const partitions = result.responses[0].partitions;
  assert.equal(partitions[1].records.length, 2 * one.length);
  assert.ok(partitions[0].records.length > 0, 'partition 0 keeps what it read first');
  assert.equal(reads.get(0), 1, 'partition 0 was read once');
  assert.equal(reads.get(2), 1, 'partition 2 was read once');
  assert.equal(reads.get(1), 3, 'partition 1 was read at the start and after each of its two wake-ups');
});

/** A send queue that records what a fetch claims; `room` caps each grant. */
function claims(room = Infinity): ResponseBytes & { held: number } {
  const q = {
    held: 0,
    claim(bytes: number) { const granted = Math.max(0, Math.min(bytes, room)); q.held += granted; return granted; },
    adjust(delta: number) { q.held += delta; },
  };
  return q;
}

function decodedFetch(body: object, version = 12) {
  const w = new Writer(256);
  encodeFetchRequest(w, version, body);
  return decodeFetchRequest(new Reader(w.toBuffer()), version);
}

function contextFor(responseBytes: ResponseBytes, version = 12): RequestContext {
  const header: RequestHeader = { apiKey: ApiKey.Fetch, apiVersion: version, correlationId: 1, clientId: 'test' };
  return { header, connectionId: 0, remoteAddress: '127.0.0.1', log: pino({ level: 'silent' }), signal: new AbortController().signal, responseBytes };
}

const recordBytesOf = (res: { responses?: { partitions?: { records?: unknown }[] }[] }) =>
  (res.responses ?? []).flatMap((t) => t.partitions ?? []).flatMap((p) => (Array.isArray(p.records) ? p.records : [])).reduce((n: number, b: Buffer) => n + b.length, 0);

test('send-queue claims match the record bytes a fetch holds: while parked, after a wake-up, and past a full queue (KIP-74)', async () => {
  const topicId = await createTopic('claims', 2);
  await produce('claims', batch(500), 0);
  const held = cachedBatches(topicId, 0)[0]!.length;
  const q = claims();
  const handler = makeFetchHandler(env.broker.context);
  const req = decodedFetch(fetchReq('claims', [{ partition: 0, fetchOffset: 0n }, { partition: 1, fetchOffset: 0n }], { maxWaitMs: 10_000, minBytes: held + 1 }));
  const pending = handler(contextFor(q), req);
  await sleep(200);
  assert.equal(q.held, held, 'parked: the claim is what partition 0 holds');
  await produce('claims', batch(500), 1);
  const res = await pending;
  assert.equal(q.held, recordBytesOf(res), 'answered: the claim is the record bytes in the response');
  assert.equal(q.held, held + cachedBatches(topicId, 1)[0]!.length);

  const full = claims(0);
  const res2 = await handler(contextFor(full), decodedFetch(fetchReq('claims', [{ partition: 0, fetchOffset: 0n }, { partition: 1, fetchOffset: 0n }])));
  assert.equal(recordBytesOf(res2), held, 'a full send queue still gets the first batch (KIP-74), nothing more');
  assert.equal(full.held, held, 'and that batch is claimed');
});
