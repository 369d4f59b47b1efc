/**
 * ACLs of the transaction APIs, over the wire against an in-process broker with a TestAuthorizer:
 * the transactional id first (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), then the group and topics;
 * the broker-to-broker APIs need CLUSTER_ACTION (WriteTxnMarkers: or ALTER) on the cluster.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { startAuthzEnv, type AuthzEnv } from './authz-env.js';

let env: AuthzEnv;
let producer: { producerId: bigint; producerEpoch: number };

before(async () => {
  env = await startAuthzEnv();
  await env.createTopic('pay');
  await env.createTopic('audit');
  await env.createTopic('mark');
});
after(async () => { await env?.close(); });
beforeEach(() => env.revokeAll());

const initTxn = (transactionalId: string) => env.conn.request(ApiKey.InitProducerId, 4, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
const addPartitions = (transactionalId: string, topics: { name: string; partitions: number[] }[]) => env.conn.request(ApiKey.AddPartitionsToTxn, 3, {
  v3AndBelowTransactionalId: transactionalId, v3AndBelowProducerId: producer.producerId, v3AndBelowProducerEpoch: producer.producerEpoch, v3AndBelowTopics: topics,
});
type TopicResults = { name: string; resultsByPartition: { partitionErrorCode: number }[] }[];
const codes = (r: TopicResults) => r.map((t) => [t.name, t.resultsByPartition.map((p) => p.partitionErrorCode)]);
const describe = (ids: string[]) => env.conn.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ids });
/** The transaction's state and topics, read with every operation granted. */
const state = (id: string) => env.asSuper(async () => {
  const s = (await describe([id])).transactionStates[0];
  return { state: s.transactionState as string, topics: s.topics.map((t: { topic: string }) => t.topic).sort() as string[] };
});

test('InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn: WRITE on the transactional id, then the group and topics', async () => {
  const refusedInit = await initTxn('tx-1');
  assert.equal(refusedInit.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  assert.equal(refusedInit.producerId, -1n);
  env.grant('WRITE', 'TRANSACTIONAL_ID', 'tx-1');
  producer = await initTxn('tx-1');
  assert.equal((producer as unknown as { errorCode: number }).errorCode, ErrorCode.NONE);
  env.revokeAll();

  // AddPartitionsToTxn: the id, then every topic; one refused topic adds nothing.
  const noId = await addPartitions('tx-1', [{ name: 'pay', partitions: [0] }]);
  assert.deepEqual(codes(noId.resultsByTopicV3AndBelow), [['pay', [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]]]);
  env.grant('WRITE', 'TRANSACTIONAL_ID', 'tx-1');
  env.grant('WRITE', 'TOPIC', 'pay');
  env.grant('WRITE', 'TOPIC', 'gone');
  const partial = await addPartitions('tx-1', [{ name: 'pay', partitions: [0] }, { name: 'audit', partitions: [0] }, { name: 'gone', partitions: [0] }]);
  assert.deepEqual(codes(partial.resultsByTopicV3AndBelow), [
    ['pay', [ErrorCode.OPERATION_NOT_ATTEMPTED]], ['audit', [ErrorCode.TOPIC_AUTHORIZATION_FAILED]], ['gone', [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
  ]);
  assert.deepEqual((await state('tx-1')).topics, [], 'nothing added');
  env.grant('WRITE', 'TOPIC', 'audit');
  const added = await addPartitions('tx-1', [{ name: 'pay', partitions: [0] }, { name: 'audit', partitions: [0] }]);
  assert.deepEqual(codes(added.resultsByTopicV3AndBelow), [['pay', [ErrorCode.NONE]], ['audit', [ErrorCode.NONE]]]);
  assert.deepEqual(await state('tx-1'), { state: 'Ongoing', topics: ['audit', 'pay'] });

  // AddOffsetsToTxn and TxnOffsetCommit: READ on the group (and TxnOffsetCommit READ on each topic).
  const addOffsets = () => env.conn.request(ApiKey.AddOffsetsToTxn, 3, { transactionalId: 'tx-1', producerId: producer.producerId, producerEpoch: producer.producerEpoch, groupId: 'txg' });
  assert.equal((await addOffsets()).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  env.grant('READ', 'GROUP', 'txg');
  assert.equal((await addOffsets()).errorCode, ErrorCode.NONE);
  const txnCommit = () => env.conn.request(ApiKey.TxnOffsetCommit, 3, {
    transactionalId: 'tx-1', groupId: 'txg', producerId: producer.producerId, producerEpoch: producer.producerEpoch, generationId: -1, memberId: '', groupInstanceId: null,
    topics: [{ name: 'pay', partitions: [{ partitionIndex: 0, committedOffset: 9n, committedLeaderEpoch: -1, committedMetadata: null }] }, { name: 'audit', partitions: [{ partitionIndex: 0, committedOffset: 9n, committedLeaderEpoch: -1, committedMetadata: null }] }],
  });
  env.grant('READ', 'TOPIC', 'pay');
  const committed = await txnCommit();
  assert.deepEqual(committed.topics.map((t: { name: string; partitions: { errorCode: number }[] }) => [t.name, t.partitions[0].errorCode]),
    [['pay', ErrorCode.NONE], ['audit', ErrorCode.TOPIC_AUTHORIZATION_FAILED]]);

  // EndTxn: WRITE on the id; refused, the transaction stays open.
  env.revokeAll();
  const end = () => env.conn.request(ApiKey.EndTxn, 3, { transactionalId: 'tx-1', producerId: producer.producerId, producerEpoch: producer.producerEpoch, committed: true });
  const refusedEnd = await end();
  assert.equal(refusedEnd.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  assert.equal((await state('tx-1')).state, 'Ongoing');
  const refusedCommit = await txnCommit();
  assert.deepEqual(refusedCommit.topics.map((t: { partitions: { errorCode: number }[] }) => t.partitions[0].errorCode), [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
  env.grant('WRITE', 'TRANSACTIONAL_ID', 'tx-1');
  assert.deepEqual((await txnCommit()).topics.map((t: { partitions: { errorCode: number }[] }) => t.partitions[0].errorCode), [ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.GROUP_AUTHORIZATION_FAILED]);
  assert.equal((await end()).errorCode, ErrorCode.NONE);
});

test('DescribeTransactions and ListTransactions: DESCRIBE on the id; only describable topics shown', async () => {
  await env.asSuper(async () => {
    producer = await initTxn('tx-d');
    const r = await addPartitions('tx-d', [{ name: 'pay', partitions: [0] }, { name: 'audit', partitions: [0] }]);
    assert.deepEqual(codes(r.resultsByTopicV3AndBelow), [['pay', [ErrorCode.NONE]], ['audit', [ErrorCode.NONE]]]);
  });
  const refused = (await describe(['tx-d'])).transactionStates[0];
  assert.equal(refused.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  assert.deepEqual(refused.topics, []);
  const listed = async () => (await env.conn.request(ApiKey.ListTransactions, 1, { stateFilters: [], producerIdFilters: [], durationFilter: -1n }))
    .transactionStates.map((t: { transactionalId: string }) => t.transactionalId);
  assert.deepEqual(await listed(), []);

  env.grant('DESCRIBE', 'TRANSACTIONAL_ID', 'tx-d');
  env.grant('DESCRIBE', 'TOPIC', 'pay');
  const shown = (await describe(['tx-d'])).transactionStates[0];
  assert.equal(shown.errorCode, ErrorCode.NONE);
  assert.equal(shown.transactionState, 'Ongoing');
  assert.deepEqual(shown.topics.map((t: { topic: string }) => t.topic), ['pay'], 'audit is hidden');
  assert.deepEqual(await listed(), ['tx-d']);
});

test('From brokers: AddPartitionsToTxn v4+ needs CLUSTER_ACTION; WriteTxnMarkers ALTER or CLUSTER_ACTION on the cluster', async () => {
  const verify = () => env.conn.request(ApiKey.AddPartitionsToTxn, 4, {
    transactions: [{ transactionalId: 'tx-v', producerId: 1n, producerEpoch: 0, verifyOnly: true, topics: [{ name: 'pay', partitions: [0] }] }],
  });
  env.grant('WRITE', 'TRANSACTIONAL_ID', 'tx-v');
  env.grant('WRITE', 'TOPIC', 'pay');
  const refusedVerify = await verify();
  assert.equal(refusedVerify.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  assert.deepEqual(refusedVerify.resultsByTransaction, []);
  env.grant('CLUSTER_ACTION', 'CLUSTER', 'kafka-cluster');
  assert.equal((await verify()).errorCode, ErrorCode.NONE);
  env.revokeAll();

  const markers = () => env.conn.request(ApiKey.WriteTxnMarkers, 1, {
    markers: [{ producerId: 4242n, producerEpoch: 0, transactionResult: false, topics: [{ name: 'mark', partitionIndexes: [0] }], coordinatorEpoch: 0 }],
  });
  env.grant('WRITE', 'TOPIC', 'mark');
  const refused = await markers();
  assert.equal(refused.markers[0].topics[0].partitions[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  assert.equal(await env.highWatermark('mark'), 0n, 'no marker written');
  env.grant('ALTER', 'CLUSTER', 'kafka-cluster');
  assert.equal((await markers()).markers[0].topics[0].partitions[0].errorCode, ErrorCode.NONE);
  assert.equal(await env.highWatermark('mark'), 1n);
});
