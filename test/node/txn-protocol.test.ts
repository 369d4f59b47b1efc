// The transaction protocol request by request against a real broker process, as a client library
// would drive it: InitProducerId -> AddPartitionsToTxn -> Produce -> EndTxn, and what a late or a
// zombie request gets (KIP-890 verification, fencing), with the partition's LSO checked each time.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';

const broker = new BrokerProcess({ config: { 'num.partitions': '2' } });
let conn: RawKafkaConnection;
before(async () => {
  await broker.start();
  conn = await RawKafkaConnection.connect(broker.bootstrap);
  const created = await conn.request(ApiKey.CreateTopics, 5, { topics: [{ name: 'tp', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
});
after(async () => { conn?.close(); await broker.dispose(); });

const init = (transactionalId: string, producerId = -1n, producerEpoch = -1) =>
  conn.request(ApiKey.InitProducerId, 4, { transactionalId, transactionTimeoutMs: 60_000, producerId, producerEpoch });
const addPartitions = (transactionalId: string, producerId: bigint, producerEpoch: number, partitions: number[], topic = 'tp') =>
  conn.request(ApiKey.AddPartitionsToTxn, 3, { v3AndBelowTransactionalId: transactionalId, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: [{ name: topic, partitions }] });
const endTxn = (transactionalId: string, producerId: bigint, producerEpoch: number, committed: boolean) =>
  conn.request(ApiKey.EndTxn, 3, { transactionalId, producerId, producerEpoch, committed });
const produce = (transactionalId: string | null, partition: number, pid: bigint, epoch: number, seq: number, values: string[], transactional = true) =>
  conn.request(ApiKey.Produce, 9, {
    transactionalId, acks: -1, timeoutMs: 5000,
    topicData: [{ name: 'tp', partitionData: [{ index: partition, records: buildRecordBatch(values.map((v) => ({ value: Buffer.from(v) })), { producerId: pid, producerEpoch: epoch, baseSequence: seq, isTransactional: transactional }) }] }],
  }).then((r) => r.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: bigint });
const lso = async (partition: number) => (await conn.request(ApiKey.ListOffsets, 7, {
  replicaId: -1, isolationLevel: 1, topics: [{ name: 'tp', partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }],
})).topics[0].partitions[0].offset as bigint;
const hw = async (partition: number) => (await conn.request(ApiKey.ListOffsets, 7, {
  replicaId: -1, isolationLevel: 0, topics: [{ name: 'tp', partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }],
})).topics[0].partitions[0].offset as bigint;

test('FindCoordinator key type 1 names this broker; an empty transactional id is INVALID_REQUEST', async () => {
  const r = await conn.request(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['t-1', ''] });
  assert.equal(r.coordinators[0].errorCode, ErrorCode.NONE);
  assert.equal(r.coordinators[0].port, broker.port);
  assert.equal(r.coordinators[1].errorCode, ErrorCode.INVALID_REQUEST);
});

test('a produce that arrives after its transaction ended cannot open one nobody ends (KIP-890)', async () => {
  const { producerId: pid, producerEpoch: epoch, errorCode } = await init('late-1');
  assert.equal(errorCode, ErrorCode.NONE);
  // Not added to the transaction: refused, nothing written.
  const hw0 = await hw(0);
  assert.equal((await produce('late-1', 0, pid, epoch, 0, ['x'])).errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(await hw(0), hw0, 'nothing appended');
  assert.equal((await addPartitions('late-1', pid, epoch, [0])).resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, ErrorCode.NONE);
  const first = await produce('late-1', 0, pid, epoch, 0, ['a', 'b']);
  assert.equal(first.errorCode, ErrorCode.NONE);
  assert.equal(await lso(0), first.baseOffset, 'the open transaction holds the LSO at its first offset');
  assert.equal((await endTxn('late-1', pid, epoch, true)).errorCode, ErrorCode.NONE);
  assert.equal(await lso(0), await hw(0), 'committed: the LSO is the high watermark');
  // The next batch in sequence, but its transaction is over and the partition was not added again.
  const late = await produce('late-1', 0, pid, epoch, 2, ['late']);
  assert.equal(late.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(await lso(0), await hw(0), 'the LSO did not get stuck behind a hanging transaction');
  // A retried EndTxn of the same result is fine; the other result is not.
  assert.equal((await endTxn('late-1', pid, epoch, true)).errorCode, ErrorCode.NONE);
  assert.equal((await endTxn('late-1', pid, epoch, false)).errorCode, ErrorCode.INVALID_TXN_STATE);
});

test('a zombie: the old epoch\'s produce, AddPartitions and EndTxn are refused after a new InitProducerId', async () => {
  const old = await init('zombie-1');
  assert.equal((await addPartitions('zombie-1', old.producerId, old.producerEpoch, [1])).resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, ErrorCode.NONE);
  const written = await produce('zombie-1', 1, old.producerId, old.producerEpoch, 0, ['zombie']);
  assert.equal(written.errorCode, ErrorCode.NONE);
  assert.equal(await lso(1), written.baseOffset);
  const fresh = await init('zombie-1');
  assert.equal(fresh.errorCode, ErrorCode.NONE);
  assert.equal(fresh.producerId, old.producerId);
  assert.ok(fresh.producerEpoch > old.producerEpoch, 'the epoch went up');
  assert.equal(await lso(1), await hw(1), 'the new producer\'s InitProducerId aborted the zombie\'s transaction');
  const aborted = await conn.request(ApiKey.Fetch, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1, rackId: '',
    topics: [{ topic: 'tp', partitions: [{ partition: 1, currentLeaderEpoch: -1, fetchOffset: written.baseOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
  });
  assert.deepEqual(aborted.responses[0].partitions[0].abortedTransactions, [{ producerId: old.producerId, firstOffset: written.baseOffset }]);
  // Every request of the old epoch is refused.
  assert.equal((await produce('zombie-1', 1, old.producerId, old.producerEpoch, 1, ['late'])).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal((await addPartitions('zombie-1', old.producerId, old.producerEpoch, [0])).resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal((await endTxn('zombie-1', old.producerId, old.producerEpoch, true)).errorCode, ErrorCode.PRODUCER_FENCED);
  // KIP-360: the old producer may not claim the id back with its stale epoch.
  assert.equal((await init('zombie-1', old.producerId, 999)).errorCode, ErrorCode.PRODUCER_FENCED);
});

test('bad input: unknown topics, missing transactions, mismatched producer ids, a timeout above the maximum', async () => {
  const t = await init('bad-1');
  const unknown = await conn.request(ApiKey.AddPartitionsToTxn, 3, {
    v3AndBelowTransactionalId: 'bad-1', v3AndBelowProducerId: t.producerId, v3AndBelowProducerEpoch: t.producerEpoch,
    v3AndBelowTopics: [{ name: 'tp', partitions: [0] }, { name: 'no-such-topic', partitions: [0] }],
  });
  const codes = unknown.resultsByTopicV3AndBelow.map((x: { resultsByPartition: { partitionErrorCode: number }[] }) => x.resultsByPartition[0].partitionErrorCode);
  assert.deepEqual(codes, [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assert.equal((await endTxn('bad-1', t.producerId, t.producerEpoch, true)).errorCode, ErrorCode.INVALID_TXN_STATE, 'EndTxn without a transaction');
  assert.equal((await endTxn('bad-1', t.producerId + 1000n, t.producerEpoch, true)).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal((await endTxn('never-initialised', 5n, 0, true)).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  const tooLong = await conn.request(ApiKey.InitProducerId, 4, { transactionalId: 'bad-2', transactionTimeoutMs: 900_001, producerId: -1n, producerEpoch: -1 });
  assert.equal(tooLong.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  assert.equal((await produce(null, 0, t.producerId, t.producerEpoch, 0, ['no id'])).errorCode, ErrorCode.INVALID_RECORD, 'a transactional batch without a transactional id');
  // Still serving, data intact.
  const plain = await produce(null, 0, -1n, -1, -1, ['plain'], false);
  assert.equal(plain.errorCode, ErrorCode.NONE);
  assert.equal(await lso(0), await hw(0));
});
