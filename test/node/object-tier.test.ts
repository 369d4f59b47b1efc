/**
 * The S3 tier on the embedded fs object store, in process: uploads (PUT -> commit -> WAL trim),
 * reads served from objects once the cache dropped them, restart from objects + WAL, retention,
 * compaction and object GC. Every check compares the bytes clients get back with what was produced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { objectKey, newObjectId } from '../../src/objects/object-format.js';
import { startBroker } from '../broker/in-process-broker.js';
import { filesUnder } from '../helpers/files-under.js';
import { FaultyObjectStore } from '../../src/objects/faulty-object-store.js';
import type { ObjectStore } from '../../src/objects/object-store.js';

// Slow timers: the tests drive uploads, compaction, retention and GC themselves.
const MANUAL = {
  'upload.interval.ms': '3600000', 'compaction.interval.ms': '3600000', 'retention.check.interval.ms': '3600000',
  'object.gc.grace.ms': '0',
};


async function setup(conn: RawKafkaConnection, topic: string, partitions = 1, configs: { name: string; value: string }[] = []) {
  const r = await conn.request(ApiKey.CreateTopics, 7, { topics: [{ name: topic, numPartitions: partitions, replicationFactor: -1, assignments: [], configs }], timeoutMs: 5000, validateOnly: false });
  assert.equal(r.topics[0].errorCode, 0);
}

async function produceMany(conn: RawKafkaConnection, topic: string, count: number, opts: { partition?: number; ts?: number; size?: number } = {}): Promise<Buffer[]> {
  const values: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const value = Buffer.alloc(opts.size ?? 200, `${topic}-${i}-`);
    values.push(value);
    const records = buildRecordBatch([{ value, timestamp: BigInt(opts.ts ?? Date.now()) }]);
    const r = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: opts.partition ?? 0, records }] }] });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
  }
  return values;
}

function valuesOf(batches: { bytes: Buffer }[]): string[] {
  // Each test batch holds one uncompressed record; its value is the last bytes of the batch.
  return batches.map((b) => b.bytes.toString('hex'));
}

test('uploads move data to objects, trim the WAL, and reads come back from objects byte-exact', async () => {
  const env = await startBroker({ ...MANUAL, 'cache.max.bytes': '0' });
  const conn = await RawKafkaConnection.connect(env.bootstrap);
  try {
    await setup(conn, 'up', 2);
    await produceMany(conn, 'up', 50, { partition: 0 });
    await produceMany(conn, 'up', 30, { partition: 1 });
    const before = await fetchAllBatches(conn, 'up', 0);
    assert.equal(before.batches.length, 50);
    const tier = env.broker.tier;
    await tier.uploader.trigger('test');
    assert.equal(tier.uploader.stats.objects, 1, 'both partitions share one stream-set object');
    assert.ok(tier.uploader.stats.lastTrimOffset > 0n, 'the WAL was trimmed after the commit');
    const objects = filesUnder(join(env.dataDir, 'objects'));
    assert.equal(objects.length, 1);
    // The cache holds nothing now (cache.max.bytes=0): these reads come from the object.
    const st = env.broker.context.logs.get(env.broker.context.topics.byName('up')!.topicId, 0)!;
    assert.equal(st.log.sizeBytes, 0);
    assert.equal(st.log.uploadedEndOffset, 50);
    const after = await fetchAllBatches(conn, 'up', 0);
    assert.deepEqual(valuesOf(after.batches), valuesOf(before.batches));
    assert.equal((await fetchAllBatches(conn, 'up', 1)).batches.length, 30);
    // New data after the upload is served from the cache, older from the object, seamlessly.
    await produceMany(conn, 'up', 5, { partition: 0 });
    const mixed = await fetchAllBatches(conn, 'up', 0);
    assert.equal(mixed.batches.length, 55);
    assert.equal(mixed.highWatermark, 55n);
  } finally {
    conn.close();
    await env.cleanup();
  }
});

test('after a restart, uploaded data is read from objects and the WAL replays only the rest', async () => {
  const first = await startBroker({ ...MANUAL });
  const dataDir = first.dataDir;
  let conn = await RawKafkaConnection.connect(first.bootstrap);
  let expected: string[];
  try {
    await setup(conn, 'rs');
    await produceMany(conn, 'rs', 40);
    await first.broker.tier.uploader.trigger('test');
    await produceMany(conn, 'rs', 10);
    expected = valuesOf((await fetchAllBatches(conn, 'rs', 0)).batches);
    conn.close();
    // A clean stop uploads the rest as well.
    await first.broker.stop();
  } catch (err) {
    conn.close();
    await first.cleanup();
    throw err;
  }
  const second = await startBroker({ ...MANUAL }, dataDir);
  try {
    conn = await RawKafkaConnection.connect(second.bootstrap);
    const all = await fetchAllBatches(conn, 'rs', 0);
    assert.equal(all.highWatermark, 50n);
    assert.deepEqual(valuesOf(all.batches), expected);
    const next = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'rs', partitionData: [{ index: 0, records: buildRecordBatch([{ value: Buffer.from('after') }]) }] }] });
    assert.equal(next.responses[0].partitionResponses[0].baseOffset, 50n);
    conn.close();
  } finally {
    await second.cleanup();
  }
});

test('retention.ms and retention.bytes move the log start and release objects; GC deletes them', async () => {
  const env = await startBroker({ ...MANUAL, 'cache.max.bytes': '0' });
  const conn = await RawKafkaConnection.connect(env.bootstrap);
  try {
    const tier = env.broker.tier;
    await setup(conn, 'old', 1, [{ name: 'retention.ms', value: '60000' }]);
    await produceMany(conn, 'old', 10, { ts: Date.now() - 3_600_000 });
    await tier.uploader.trigger('test');
    await produceMany(conn, 'old', 5);
    await tier.uploader.trigger('test');
    await setup(conn, 'big', 1, [{ name: 'retention.bytes', value: '3000' }]);
    for (let i = 0; i < 4; i++) {
      await produceMany(conn, 'big', 10, { size: 300 });
      await tier.uploader.trigger('test');
    }
    const result = await tier.retention.runOnce();
    assert.equal(result.partitionsTrimmed, 2);
    const earliest = async (topic: string) => (await conn.request(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }] })).topics[0].partitions[0].offset;
    assert.equal(await earliest('old'), 10n, 'the expired object is gone; the recent one stays');
    const bigStart = await earliest('big');
    assert.ok(bigStart > 0n && bigStart < 40n, `retention.bytes keeps the newest data (log start ${bigStart})`);
    const below = await conn.request(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'old', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '',
    });
    assert.equal(below.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.ok(result.objectsRemoved >= 2);
    const filesBefore = filesUnder(join(env.dataDir, 'objects')).length;
    const deleted = await tier.gc.runOnce();
    assert.equal(deleted, result.objectsRemoved);
    assert.equal(filesUnder(join(env.dataDir, 'objects')).length, filesBefore - deleted);
  } finally {
    conn.close();
    await env.cleanup();
  }
});

test('compaction turns stream-set objects into stream objects and merges small ones; reads stay byte-exact', async () => {
  const env = await startBroker({ ...MANUAL, 'cache.max.bytes': '0' });
  const conn = await RawKafkaConnection.connect(env.bootstrap);
  try {
    const tier = env.broker.tier;
    await setup(conn, 'cmp', 3);
    for (let round = 0; round < 4; round++) {
      for (let p = 0; p < 3; p++) await produceMany(conn, 'cmp', 5, { partition: p });
      await tier.uploader.trigger('test');
    }
    const before = await Promise.all([0, 1, 2].map(async (p) => valuesOf((await fetchAllBatches(conn, 'cmp', p)).batches)));
    const kinds = () => [...tier.index.all()].map((o) => o.kind).sort();
    assert.deepEqual(kinds(), ['stream-set', 'stream-set', 'stream-set', 'stream-set']);
    let steps = 0;
    for (let i = 0; i < 10 && kinds().some((k) => k === 'stream-set'); i++) steps += await tier.compactor.runOnce();
    assert.ok(steps > 0);
    assert.ok(kinds().every((k) => k === 'stream'), `only stream objects remain: ${kinds()}`);
    // Merging small stream objects leaves one object per partition.
    for (let i = 0; i < 10; i++) if (await tier.compactor.runOnce() === 0) break;
    assert.equal(tier.index.size, 3);
    const after = await Promise.all([0, 1, 2].map(async (p) => valuesOf((await fetchAllBatches(conn, 'cmp', p)).batches)));
    assert.deepEqual(after, before);
    await tier.gc.runOnce();
    assert.equal(filesUnder(join(env.dataDir, 'objects')).length, 3, 'replaced objects are deleted after the grace period');
  } finally {
    conn.close();
    await env.cleanup();
  }
});

test('an object PUT but never committed is garbage, and the GC deletes it', async () => {
  const env = await startBroker({ ...MANUAL });
  try {
    const orphan = join(env.dataDir, 'objects', objectKey('ferry', newObjectId()));
    mkdirSync(dirname(orphan), { recursive: true });
    writeFileSync(orphan, 'left over by an upload that never committed');
    assert.equal(await env.broker.tier.gc.runOnce(), 1);
    assert.equal(filesUnder(join(env.dataDir, 'objects')).length, 0);
  } finally {
    await env.cleanup();
  }
});

test('idempotence survives a restart after the WAL was trimmed: a retried batch is still a duplicate', async () => {
  const first = await startBroker({ ...MANUAL });
  const dataDir = first.dataDir;
  let conn = await RawKafkaConnection.connect(first.bootstrap);
  const send = (c: RawKafkaConnection, pid: bigint, seq: number, value: string) => c.request(ApiKey.Produce, 9, {
    transactionalId: null, acks: -1, timeoutMs: 5000,
    topicData: [{ name: 'idem-up', partitionData: [{ index: 0, records: buildRecordBatch([{ value: Buffer.from(value) }], { producerId: pid, producerEpoch: 0, baseSequence: seq }) }] }],
  }).then((r) => r.responses[0].partitionResponses[0]);
  let pid: bigint;
  try {
    await setup(conn, 'idem-up');
    pid = (await conn.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 })).producerId;
    for (let seq = 0; seq < 3; seq++) assert.equal((await send(conn, pid, seq, `m${seq}`)).errorCode, 0);
    await first.broker.tier.uploader.trigger('test');
    assert.ok(first.broker.tier.uploader.stats.lastTrimOffset > 0n);
    conn.close();
    await first.broker.stop();
  } catch (err) {
    conn.close();
    await first.cleanup();
    throw err;
  }
  const second = await startBroker({ ...MANUAL }, dataDir);
  try {
    conn = await RawKafkaConnection.connect(second.bootstrap);
    const retry = await send(conn, pid, 2, 'm2');
    assert.equal(retry.errorCode, 0);
    assert.equal(retry.baseOffset, 2n, 'the retried batch is answered with its original offset');
    const next = await send(conn, pid, 3, 'm3');
    assert.equal(next.baseOffset, 3n);
    assert.equal((await fetchAllBatches(conn, 'idem-up', 0)).batches.length, 4);
    conn.close();
  } finally {
    await second.cleanup();
  }
});

test('a long object-store outage fills the WAL: produce gets a retriable error, then everything uploads and nothing is lost', async () => {
  let faulty: FaultyObjectStore | undefined;
  const env = await startBroker({ ...MANUAL, 'wal.capacity.bytes': '2097152', 'wal.append.timeout.ms': '200' }, undefined, { wrapObjectStore: (s: ObjectStore) => (faulty = new FaultyObjectStore(s, { seed: 3 })) });
  const conn = await RawKafkaConnection.connect(env.bootstrap);
  try {
    await setup(conn, 'fill');
    faulty!.outage(true);
    const acked = new Map<bigint, string>();
    let refused = 0;
    for (let i = 0; i < 4000 && refused === 0; i++) {
      const batch = buildRecordBatch([{ value: Buffer.alloc(1000, `f${i}`) }]);
      const r = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'fill', partitionData: [{ index: 0, records: batch }] }] });
      const p = r.responses[0].partitionResponses[0];
      if (p.errorCode === 0) acked.set(p.baseOffset, batch.subarray(21).toString('hex'));
      else {
        assert.equal(p.errorCode, ErrorCode.REQUEST_TIMED_OUT, 'a full WAL answers a retriable error');
        refused++;
      }
      if (i % 200 === 199) await env.broker.tier.uploader.trigger('test'); // fails: the store is down
    }
    assert.equal(refused, 1, 'the WAL filled up');
    assert.ok(acked.size > 100, `${acked.size} acknowledged before the WAL filled`);
    // Full: the next produce is refused at once (no second wait for the timeout), and it shows.
    const t0 = Date.now();
    const again = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'fill', partitionData: [{ index: 0, records: buildRecordBatch([{ value: Buffer.from('x') }]) }] }] });
    assert.equal(again.responses[0].partitionResponses[0].errorCode, ErrorCode.REQUEST_TIMED_OUT);
    assert.match(again.responses[0].partitionResponses[0].errorMessage ?? '', /WAL full/);
    assert.ok(Date.now() - t0 < 150, 'a full WAL refuses without waiting');
    const metrics = await env.broker.parts.metrics.scrape();
    assert.match(metrics, /^ferry_wal_full\{[^}]*\} 1$/m);
    assert.match(metrics, /^ferry_uploads_failing\{[^}]*\} 1$/m);
    faulty!.outage(false);
    await env.broker.tier.uploader.trigger('test');
    assert.match(await env.broker.parts.metrics.scrape(), /^ferry_wal_full\{[^}]*\} 0$/m, 'the trim after the upload ended the full state');
    const after = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'fill', partitionData: [{ index: 0, records: buildRecordBatch([{ value: Buffer.from('after') }]) }] }] });
    assert.equal(after.responses[0].partitionResponses[0].errorCode, 0, 'produce works again once uploads caught up');
    // The refusals took no offsets: the first produce after them follows the last acknowledged one.
    assert.equal(after.responses[0].partitionResponses[0].baseOffset, BigInt(acked.size));
    const all = await fetchAllBatches(conn, 'fill', 0);
    const seen = new Map(all.batches.map((b) => [b.baseOffset, b.bytes.subarray(21).toString('hex')]));
    for (const [offset, bytes] of acked) assert.equal(seen.get(offset), bytes);
    assert.deepEqual(all.batches.map((b) => b.baseOffset), Array.from({ length: acked.size + 1 }, (_, i) => BigInt(i)), 'offsets dense');
  } finally {
    conn.close();
    await env.cleanup();
  }
});

test('compaction never lets a new object span offsets another object holds (stream objects between stream-sets)', async () => {
  const env = await startBroker({ ...MANUAL, 'cache.max.bytes': '0', 'upload.stream.split.bytes': '20000' });
  const conn = await RawKafkaConnection.connect(env.bootstrap);
  try {
    const tier = env.broker.tier;
    await setup(conn, 'gap', 2);
    // Partition 0: small, big (its own stream object), small; partition 1 keeps stream-sets shared.
    for (const count of [3, 60, 3]) {
      await produceMany(conn, 'gap', count, { partition: 0, size: 400 });
      await produceMany(conn, 'gap', 2, { partition: 1 });
      await tier.uploader.trigger('test');
    }
    const before = [valuesOf((await fetchAllBatches(conn, 'gap', 0)).batches), valuesOf((await fetchAllBatches(conn, 'gap', 1)).batches)];
    assert.equal(before[0].length, 66);
    assert.ok([...tier.index.all()].some((o) => o.kind === 'stream'), 'the big upload got its own stream object');
    for (let i = 0; i < 10; i++) if (await tier.compactor.runOnce() === 0) break;
    const after = [valuesOf((await fetchAllBatches(conn, 'gap', 0)).batches), valuesOf((await fetchAllBatches(conn, 'gap', 1)).batches)];
    assert.deepEqual(after, before, 'every batch still readable, in order, after compaction');
  } finally {
    conn.close();
    await env.cleanup();
  }
});

test('a failing object-store read answers KAFKA_STORAGE_ERROR for that partition and keeps the connection', async () => {
  let faulty: FaultyObjectStore | undefined;
  const env = await startBroker({ ...MANUAL, 'cache.max.bytes': '0' }, undefined, { wrapObjectStore: (s: ObjectStore) => (faulty = new FaultyObjectStore(s, { seed: 5 })) });
  const conn = await RawKafkaConnection.connect(env.bootstrap);
  try {
    await setup(conn, 'brk');
    await produceMany(conn, 'brk', 10);
    await env.broker.tier.uploader.trigger('test');
    faulty!.outage(true);
    const fetch = () => conn.request(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'brk', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '',
    });
    const failed = await fetch();
    assert.equal(failed.responses[0].partitions[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    faulty!.outage(false);
    const ok = await fetch();
    assert.equal(ok.responses[0].partitions[0].errorCode, 0);
    assert.ok(ok.responses[0].partitions[0].records.length > 0);
  } finally {
    conn.close();
    await env.cleanup();
  }
});

test('memory bounds: an upload is cut into objects of about upload.max.bytes; produce waits while un-uploaded bytes reach the bound', async () => {
  // upload.max.bytes 64 KiB: no early upload is triggered below it, and objects stay near it.
  const env = await startBroker({ ...MANUAL, 'upload.max.bytes': '65536', 'upload.stream.split.bytes': '16384', 'cache.max.bytes': '0' });
  const conn = await RawKafkaConnection.connect(env.bootstrap);
  try {
    const tier = env.broker.tier;
    await setup(conn, 'cut', 3);
    // The early-upload trigger would empty memory before the bound: hold it off to see the bound.
    env.broker.parts.logs.onPendingBytes = null;
    let refused: string | null = null;
    let acked = 0;
    for (let i = 0; i < 400 && !refused; i++) {
      const r = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'cut', partitionData: [{ index: i % 3 === 2 ? 2 : 0, records: buildRecordBatch([{ value: Buffer.alloc(1000, `c${i}`) }]) }] }] });
      const p = r.responses[0].partitionResponses[0];
      if (p.errorCode === 0) acked++;
      else { assert.equal(p.errorCode, ErrorCode.REQUEST_TIMED_OUT); refused = p.errorMessage ?? ''; }
    }
    assert.match(refused ?? 'none', /not yet uploaded reach the memory bound of 131072/);
    assert.ok(acked >= 100 && acked <= 135, `${acked} acknowledged before the bound (2 x upload.max.bytes of ~1 KiB batches)`);
    await tier.uploader.trigger('test');
    const objects = [...tier.index.all()];
    assert.ok(objects.length >= 2, `${objects.length} objects`);
    for (const o of objects) assert.ok(o.size <= 65536 + 8192, `object ${o.id} of ${o.size} bytes`);
    const r = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'cut', partitionData: [{ index: 0, records: buildRecordBatch([{ value: Buffer.from('after') }]) }] }] });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0, 'produce flows again once uploaded');
    const p0 = await fetchAllBatches(conn, 'cut', 0);
    const p2 = await fetchAllBatches(conn, 'cut', 2);
    assert.equal(p0.batches.length + p2.batches.length, acked + 1, 'every acknowledged batch reads back from the objects');
    assert.deepEqual(p0.batches.map((b) => b.baseOffset), p0.batches.map((_, i) => BigInt(i)));
  } finally {
    conn.close();
    await env.cleanup();
  }
});
