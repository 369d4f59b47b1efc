/**
 * Broker behaviour that real clients rarely show directly, checked over the wire with the
 * project's codecs against an in-process broker: idempotence, fetch sessions and long polls,
 * offsets by timestamp, DeleteRecords, leader epochs, admin errors, configs, restart.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { startBroker } from './in-process-broker.js';

let env: Awaited<ReturnType<typeof startBroker>>;
let conn: RawKafkaConnection;

before(async () => {
  env = await startBroker();
  conn = await RawKafkaConnection.connect(env.bootstrap);
});
after(async () => {
  conn?.close();
  await env?.cleanup();
});

async function createTopic(name: string, partitions = 1, configs: { name: string; value: string }[] = []) {
  const r = await conn.request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs }], timeoutMs: 5000, validateOnly: false });
  return r.topics[0];
}

function batch(values: string[], opts: { ts?: number; producerId?: bigint; epoch?: number; seq?: number } = {}): Buffer {
  return buildRecordBatch(values.map((v, i) => ({ value: Buffer.from(v), timestamp: BigInt((opts.ts ?? 1_000_000) + i * 10) })), {
    producerId: opts.producerId ?? -1n, producerEpoch: opts.epoch ?? -1, baseSequence: opts.seq ?? -1,
  });
}

async function produce(topic: string, records: Buffer, partition = 0, version = 9) {
  const r = await conn.request(ApiKey.Produce, version, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  return r.responses[0].partitionResponses[0];
}

function fetchReq(topic: string, fetchOffset: bigint, extra: Record<string, unknown> = {}) {
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: '', ...extra,
  };
}

test('idempotent producer: duplicates get the original offset, gaps and unknown producers are refused', async () => {
  await createTopic('idem');
  const init = await conn.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  assert.equal(init.errorCode, 0);
  const pid: bigint = init.producerId;
  const first = await produce('idem', batch(['a', 'b'], { producerId: pid, epoch: 0, seq: 0 }));
  assert.equal(first.errorCode, 0);
  assert.equal(first.baseOffset, 0n);
  const dup = await produce('idem', batch(['a', 'b'], { producerId: pid, epoch: 0, seq: 0 }));
  assert.equal(dup.errorCode, 0);
  assert.equal(dup.baseOffset, 0n, 'a duplicate is acknowledged with its original offset');
  const next = await produce('idem', batch(['c'], { producerId: pid, epoch: 0, seq: 2 }));
  assert.equal(next.baseOffset, 2n);
  const gap = await produce('idem', batch(['e'], { producerId: pid, epoch: 0, seq: 9 }));
  assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const stranger = await produce('idem', batch(['x'], { producerId: pid + 1000n, epoch: 0, seq: 4 }));
  assert.equal(stranger.errorCode, ErrorCode.UNKNOWN_PRODUCER_ID);
  const hwm = await conn.request(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'idem', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
  assert.equal(hwm.topics[0].partitions[0].offset, 3n, 'nothing of the duplicate or the refused batches was written');
  const described = await conn.request(ApiKey.DescribeProducers, 0, { topics: [{ name: 'idem', partitionIndexes: [0] }] });
  const active = described.topics[0].partitions[0].activeProducers;
  assert.equal(active.length, 1);
  assert.equal(active[0].producerId, pid);
  assert.equal(active[0].lastSequence, 2);
});

test('long-poll fetch waits for min bytes and wakes on new data', async () => {
  await createTopic('poll');
  const started = Date.now();
  const pending = conn.request(ApiKey.Fetch, 11, fetchReq('poll', 0n, { maxWaitMs: 5000, minBytes: 1 }));
  const other = await RawKafkaConnection.connect(env.bootstrap);
  try {
    await new Promise((r) => setTimeout(r, 200));
    const p = await other.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'poll', partitionData: [{ index: 0, records: batch(['wake']) }] }] });
    assert.equal(p.responses[0].partitionResponses[0].errorCode, 0);
  } finally {
    other.close();
  }
  const res = await pending;
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 4000, `the fetch was woken by the produce (took ${elapsed} ms)`);
  const part = res.responses[0].partitions[0];
  assert.equal(part.highWatermark, 1n);
  assert.ok(part.records.length > 61);
  const empty = await conn.request(ApiKey.Fetch, 11, fetchReq('poll', 1n, { maxWaitMs: 300, minBytes: 1 }));
  assert.equal(empty.responses[0].partitions[0].records.length, 0);
  const out = await conn.request(ApiKey.Fetch, 11, fetchReq('poll', 7n));
  assert.equal(out.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
});

test('fetch sessions: incremental fetches carry only partitions with news', async () => {
  await createTopic('sess', 2);
  await produce('sess', batch(['p0']), 0);
  await produce('sess', batch(['p1']), 1);
  const full = await conn.request(ApiKey.Fetch, 12, {
    ...fetchReq('sess', 0n), sessionId: 0, sessionEpoch: 0,
    topics: [{ topic: 'sess', partitions: [0, 1].map((p) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })) }],
  });
  assert.equal(full.errorCode, 0);
  assert.ok(full.sessionId > 0);
  assert.equal(full.responses[0].partitions.length, 2);
  // Incremental: the client advances both offsets past what it got; no new data -> nothing to report.
  const inc = await conn.request(ApiKey.Fetch, 12, {
    ...fetchReq('sess', 1n), sessionId: full.sessionId, sessionEpoch: 1,
    topics: [{ topic: 'sess', partitions: [0, 1].map((p) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: 1n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })) }],
  });
  assert.equal(inc.errorCode, 0);
  assert.equal(inc.sessionId, full.sessionId);
  assert.deepEqual(inc.responses.flatMap((t: any) => t.partitions.map((p: any) => p.partitionIndex)), [], 'unchanged partitions are left out');
  await produce('sess', batch(['more']), 1);
  const inc2 = await conn.request(ApiKey.Fetch, 12, { ...fetchReq('sess', 1n), sessionId: full.sessionId, sessionEpoch: 2, topics: [] });
  const parts = inc2.responses.flatMap((t: any) => t.partitions);
  assert.deepEqual(parts.map((p: any) => p.partitionIndex), [1]);
  assert.equal(parts[0].highWatermark, 2n);
  const stale = await conn.request(ApiKey.Fetch, 12, { ...fetchReq('sess', 1n), sessionId: full.sessionId, sessionEpoch: 2, topics: [] });
  assert.equal(stale.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
});

test('ListOffsets: earliest, latest, max timestamp and exact lookup by timestamp', async () => {
  await createTopic('times');
  await produce('times', batch(['a', 'b', 'c'], { ts: 1000 })); // 1000, 1010, 1020 at offsets 0..2
  await produce('times', batch(['d', 'e'], { ts: 5000 })); // 5000, 5010 at offsets 3..4
  const ask = async (timestamp: bigint) => (await conn.request(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'times', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] })).topics[0].partitions[0];
  assert.equal((await ask(-2n)).offset, 0n);
  assert.equal((await ask(-1n)).offset, 5n);
  const max = await ask(-3n);
  assert.equal(max.offset, 4n);
  assert.equal(max.timestamp, 5010n);
  const mid = await ask(1015n);
  assert.equal(mid.offset, 2n, 'the first record at or after the timestamp, inside a batch');
  assert.equal(mid.timestamp, 1020n);
  assert.equal((await ask(4000n)).offset, 3n);
  assert.equal((await ask(9999n)).offset, -1n);
});

test('DeleteRecords moves the log start, and fetches below it are out of range', async () => {
  await createTopic('trunc');
  await produce('trunc', batch(['a', 'b']));
  await produce('trunc', batch(['c', 'd']));
  const r = await conn.request(ApiKey.DeleteRecords, 2, { topics: [{ name: 'trunc', partitions: [{ partitionIndex: 0, offset: 2n }] }], timeoutMs: 5000 });
  assert.equal(r.topics[0].partitions[0].errorCode, 0);
  assert.equal(r.topics[0].partitions[0].lowWatermark, 2n);
  const below = await conn.request(ApiKey.Fetch, 11, fetchReq('trunc', 0n));
  assert.equal(below.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  assert.equal(below.responses[0].partitions[0].logStartOffset, 2n);
  const beyond = await conn.request(ApiKey.DeleteRecords, 2, { topics: [{ name: 'trunc', partitions: [{ partitionIndex: 0, offset: 99n }] }], timeoutMs: 5000 });
  assert.equal(beyond.topics[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
});

test('OffsetForLeaderEpoch answers the end of the epoch', async () => {
  await createTopic('epochs');
  await produce('epochs', batch(['a', 'b', 'c']));
  const r = await conn.request(ApiKey.OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic: 'epochs', partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] }] });
  const p = r.topics[0].partitions[0];
  assert.equal(p.errorCode, 0);
  assert.equal(p.leaderEpoch, 0);
  assert.equal(p.endOffset, 3n);
  const fenced = await conn.request(ApiKey.OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic: 'epochs', partitions: [{ partition: 0, currentLeaderEpoch: 5, leaderEpoch: 0 }] }] });
  assert.equal(fenced.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
});

test('CreateTopics validates names, replication factor, configs and duplicates', async () => {
  assert.equal((await createTopic('ok-topic', 3)).errorCode, 0);
  assert.equal((await createTopic('ok-topic', 3)).errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  assert.equal((await createTopic('bad name!')).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  assert.equal((await createTopic('zero', 0)).errorCode, ErrorCode.INVALID_PARTITIONS);
  const badConfig = await createTopic('cfg', 1, [{ name: 'retention.ms', value: 'soon' }]);
  assert.equal(badConfig.errorCode, ErrorCode.INVALID_CONFIG);
  assert.match(badConfig.errorMessage, /retention\.ms/);
  const unknownKey = await createTopic('cfg2', 1, [{ name: 'no.such.key', value: '1' }]);
  assert.equal(unknownKey.errorCode, ErrorCode.INVALID_CONFIG);
  const rf = await conn.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'rf3', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  assert.equal(rf.topics[0].errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  const md = await conn.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: 'ok-topic' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.equal(md.topics[0].partitions.length, 3);
});

test('configs: describe with sources, alter max.message.bytes, and produce honours it', async () => {
  await createTopic('limits');
  const describe = async () => (await conn.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: 'limits', configurationKeys: null }], includeSynonyms: true, includeDocumentation: true })).results[0];
  const before = await describe();
  assert.equal(before.errorCode, 0);
  const mmb = before.configs.find((c: any) => c.name === 'max.message.bytes');
  assert.equal(mmb.value, '1048588');
  assert.equal(mmb.configSource, 5, 'DEFAULT_CONFIG');
  const alter = await conn.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'limits', configs: [{ name: 'max.message.bytes', configOperation: 0, value: '200' }] }], validateOnly: false });
  assert.equal(alter.responses[0].errorCode, 0);
  const after = (await describe()).configs.find((c: any) => c.name === 'max.message.bytes');
  assert.equal(after.value, '200');
  assert.equal(after.configSource, 1, 'TOPIC_CONFIG');
  const big = await produce('limits', batch(['x'.repeat(500)]));
  assert.equal(big.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  const small = await produce('limits', batch(['y']));
  assert.equal(small.errorCode, 0);
  const brokerCfg = await conn.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '1', configurationKeys: ['num.partitions'] }], includeSynonyms: false, includeDocumentation: false });
  assert.equal(brokerCfg.results[0].configs[0].value, '1');
});

test('LogAppendTime topics stamp the broker time into each batch', async () => {
  await createTopic('lat', 1, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }]);
  const before = Date.now();
  const r = await produce('lat', batch(['a'], { ts: 5 }));
  assert.equal(r.errorCode, 0);
  assert.ok(r.logAppendTimeMs >= BigInt(before));
  const f = await conn.request(ApiKey.Fetch, 11, fetchReq('lat', 0n));
  const records: Buffer = f.responses[0].partitions[0].records;
  assert.equal(records.readBigInt64BE(35), r.logAppendTimeMs, 'maxTimestamp is the append time');
  assert.equal(records.readInt16BE(21) & 0x08, 0x08, 'timestamp type bit set');
});

test('every acknowledged batch and the log start survive a broker restart', async () => {
  const local = await startBroker();
  const dataDir = local.dataDir;
  let c = await RawKafkaConnection.connect(local.bootstrap);
  await c.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'durable', numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  for (let i = 0; i < 20; i++) {
    const r = await c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'durable', partitionData: [{ index: 0, records: batch([`m${i}`]) }] }] });
    assert.equal(r.responses[0].partitionResponses[0].baseOffset, BigInt(i));
  }
  await c.request(ApiKey.DeleteRecords, 2, { topics: [{ name: 'durable', partitions: [{ partitionIndex: 0, offset: 5n }] }], timeoutMs: 5000 });
  c.close();
  await local.broker.stop();
  const again = await startBroker({}, dataDir);
  try {
    c = await RawKafkaConnection.connect(again.bootstrap);
    const f = await c.request(ApiKey.Fetch, 11, fetchReq('durable', 5n));
    const p = f.responses[0].partitions[0];
    assert.equal(p.errorCode, 0);
    assert.equal(p.highWatermark, 20n);
    assert.equal(p.logStartOffset, 5n);
    const next = await c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'durable', partitionData: [{ index: 0, records: batch(['after']) }] }] });
    assert.equal(next.responses[0].partitionResponses[0].baseOffset, 20n);
    c.close();
  } finally {
    await again.cleanup();
  }
});
