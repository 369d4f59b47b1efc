/**
 * ACLs of the data and metadata APIs, over the wire against an in-process broker whose authorizer
 * is a TestAuthorizer: without the operation Kafka checks, the request is refused with Kafka's
 * error and nothing changes; with it, the request works. Refusals come before existence checks.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../../src/protocol/record-batch.js';
import { AclOperation } from '../../../src/security/types.js';
import { internalSession } from '../../../src/server/session.js';
import type { RequestContext } from '../../../src/server/handler-registry.js';
import { pino } from 'pino';
import { startAuthzEnv, type AuthzEnv } from './authz-env.js';

let env: AuthzEnv;
const ZERO_UUID = '0'.repeat(32);

before(async () => {
  env = await startAuthzEnv();
  await env.createTopic('orders', 2);
  await env.createTopic('secret');
  await env.asSuper(() => env.produce('orders', ['a', 'b']));
});
after(async () => { await env?.close(); });
beforeEach(() => env.revokeAll());

function fetchReq(topic: string, extra: Record<string, unknown> = {}) {
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: '', ...extra,
  };
}

const listOffsets = (topic: string, partitions: number[] = [0]) => env.conn.request(ApiKey.ListOffsets, 7, {
  replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n })) }],
});

test('Produce: WRITE on the topic; refused partitions are not written, and a missing topic is refused the same way', async () => {
  const denied = await env.produce('orders', ['x']);
  assert.equal(denied.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal(await env.highWatermark('orders'), 2n, 'nothing written');
  const missing = await env.produce('nowhere', ['x']);
  assert.equal(missing.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'not UNKNOWN_TOPIC_OR_PARTITION: no probing');
  assert.equal(env.topicExists('nowhere'), false, 'not auto-created');

  env.grant('READ', 'TOPIC', 'orders');
  assert.equal((await env.produce('orders', ['x'])).errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'READ does not imply WRITE');
  env.grant('WRITE', 'TOPIC', 'orders');
  const ok = await env.produce('orders', ['x']);
  assert.equal(ok.errorCode, ErrorCode.NONE);
  assert.equal(ok.baseOffset, 2n);

  // WRITE without CREATE: the unknown topic is not auto-created.
  env.grant('WRITE', 'TOPIC', 'fresh');
  assert.equal((await env.produce('fresh', ['x'])).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(env.topicExists('fresh'), false);
});

test('Produce: transactional batches need WRITE on the transactional id, for the whole request', async () => {
  env.grant('WRITE', 'TOPIC', 'orders');
  const records = buildRecordBatch([{ value: Buffer.from('t'), timestamp: 1n }], { producerId: 77n, producerEpoch: 0, baseSequence: 0, isTransactional: true });
  const r = await env.conn.request(ApiKey.Produce, 9, {
    transactionalId: 'tx-1', acks: -1, timeoutMs: 5000,
    topicData: [{ name: 'orders', partitionData: [{ index: 0, records }, { index: 1, records }] }],
  });
  assert.deepEqual(r.responses[0].partitionResponses.map((p: { errorCode: number }) => p.errorCode),
    [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
  assert.equal(await env.highWatermark('orders'), 3n);
});

test('Fetch: READ on the topic; missing topics refused alike; a follower needs CLUSTER_ACTION', async () => {
  const denied = await env.conn.request(ApiKey.Fetch, 11, fetchReq('orders'));
  assert.equal(denied.responses[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal(denied.responses[0].partitions[0].records.length, 0, 'no records');
  const missing = await env.conn.request(ApiKey.Fetch, 11, fetchReq('nowhere'));
  assert.equal(missing.responses[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);

  env.grant('DESCRIBE', 'TOPIC', 'orders');
  assert.equal((await env.conn.request(ApiKey.Fetch, 11, fetchReq('orders'))).responses[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'DESCRIBE is not READ');
  env.grant('READ', 'TOPIC', 'orders');
  const ok = await env.conn.request(ApiKey.Fetch, 11, fetchReq('orders'));
  assert.equal(ok.responses[0].partitions[0].errorCode, ErrorCode.NONE);
  assert.ok(ok.responses[0].partitions[0].records.length > 0);
  assert.equal((await env.conn.request(ApiKey.Fetch, 11, fetchReq('nowhere'))).responses[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  env.grant('READ', 'TOPIC', 'nowhere');
  assert.equal((await env.conn.request(ApiKey.Fetch, 11, fetchReq('nowhere'))).responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

  const follower = await env.conn.request(ApiKey.Fetch, 11, fetchReq('orders', { replicaId: 2 }));
  assert.equal(follower.responses[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'READ is not enough for a replica');
  env.grant('CLUSTER_ACTION', 'CLUSTER', 'kafka-cluster');
  assert.equal((await env.conn.request(ApiKey.Fetch, 11, fetchReq('orders', { replicaId: 2 }))).responses[0].partitions[0].errorCode, ErrorCode.NONE);
});

test('Fetch sessions: partitions already in the session are checked again on every request', async () => {
  env.grant('READ', 'TOPIC', 'orders');
  const full = await env.conn.request(ApiKey.Fetch, 12, { ...fetchReq('orders'), sessionEpoch: 0 });
  assert.equal(full.errorCode, ErrorCode.NONE);
  assert.ok(full.sessionId > 0);
  env.revokeAll();
  const inc = await env.conn.request(ApiKey.Fetch, 12, { ...fetchReq('orders'), sessionId: full.sessionId, sessionEpoch: 1, topics: [] });
  assert.equal(inc.responses[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
});

test('ListOffsets and OffsetForLeaderEpoch: DESCRIBE on the topic (or CLUSTER_ACTION for the epochs)', async () => {
  assert.equal((await listOffsets('orders')).topics[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal((await listOffsets('nowhere')).topics[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const epochs = () => env.conn.request(ApiKey.OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] });
  assert.equal((await epochs()).topics[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  env.grant('CLUSTER_ACTION', 'CLUSTER', 'kafka-cluster');
  assert.equal((await epochs()).topics[0].partitions[0].errorCode, ErrorCode.NONE);
  env.revokeAll();
  env.grant('DESCRIBE', 'TOPIC', 'orders');
  const ok = (await listOffsets('orders')).topics[0].partitions[0];
  assert.equal(ok.errorCode, ErrorCode.NONE);
  assert.ok(ok.offset >= 2n);
  assert.equal((await epochs()).topics[0].partitions[0].errorCode, ErrorCode.NONE);
});

test('one request asks the authorizer once per topic, however many partitions it names', async () => {
  env.grant('DESCRIBE', 'TOPIC', 'orders');
  const before = env.authorizer.calls;
  const r = await listOffsets('orders', Array.from({ length: 1000 }, (_, i) => i));
  assert.equal(r.topics[0].partitions.length, 1000);
  assert.equal(env.authorizer.calls - before, 1);
});

test('DescribeProducers: READ on the topic', async () => {
  const ask = async () => (await env.conn.request(ApiKey.DescribeProducers, 0, { topics: [{ name: 'orders', partitionIndexes: [0] }] })).topics[0].partitions[0];
  env.grant('DESCRIBE', 'TOPIC', 'orders');
  assert.equal((await ask()).errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  env.grant('READ', 'TOPIC', 'orders');
  assert.equal((await ask()).errorCode, ErrorCode.NONE);
});

test('InitProducerId (idempotent): IDEMPOTENT_WRITE on the cluster, or WRITE on some topic (KIP-679)', async () => {
  const init = () => env.conn.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  const denied = await init();
  assert.equal(denied.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  assert.equal(denied.producerId, -1n);
  env.grant('WRITE', 'TOPIC', 'orders');
  assert.equal((await init()).errorCode, ErrorCode.NONE);
  env.revokeAll();
  env.grant('IDEMPOTENT_WRITE', 'CLUSTER', 'kafka-cluster');
  const ok = await init();
  assert.equal(ok.errorCode, ErrorCode.NONE);
  assert.ok(ok.producerId >= 0n);
});

test('Metadata: all topics lists only the describable ones; named ones are refused alike whether they exist or not', async () => {
  const md = (topics: { name: string | null; topicId?: string }[] | null, extra: Record<string, unknown> = {}) =>
    env.conn.request(ApiKey.Metadata, 12, { topics: topics && topics.map((t) => ({ topicId: ZERO_UUID, ...t })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false, ...extra });
  assert.deepEqual((await md(null)).topics, [], 'nothing describable');
  env.grant('READ', 'TOPIC', 'orders');
  const all = await md(null);
  assert.deepEqual(all.topics.map((t: { name: string }) => t.name), ['orders']);

  const named = await md([{ name: 'orders' }, { name: 'secret' }, { name: 'nowhere' }]);
  assert.deepEqual(named.topics.map((t: { name: string; errorCode: number }) => [t.name, t.errorCode]), [
    ['orders', ErrorCode.NONE], ['secret', ErrorCode.TOPIC_AUTHORIZATION_FAILED], ['nowhere', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
  ]);
  assert.equal(named.topics[1].topicId, ZERO_UUID, 'no id given away for a refused name');
  assert.deepEqual(named.topics[1].partitions, []);

  // By id: the id is no secret, the name is.
  const secretId = env.broker.context.topics.byName('secret')!.topicId;
  const byId = await md([{ name: null, topicId: secretId }]);
  assert.equal(byId.topics[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal(byId.topics[0].name, null);

  // v8+: the topic's authorized operations when asked (READ implies DESCRIBE).
  const ops = await md([{ name: 'orders' }], { includeTopicAuthorizedOperations: true });
  assert.equal(ops.topics[0].topicAuthorizedOperations, (1 << AclOperation.READ) | (1 << AclOperation.DESCRIBE));
  assert.equal((await md([{ name: 'orders' }])).topics[0].topicAuthorizedOperations, -2147483648, 'not asked');
  const v10 = await env.conn.request(ApiKey.Metadata, 10, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: false });
  assert.equal(v10.clusterAuthorizedOperations, 0, 'no DESCRIBE on the cluster');
  env.grant('ALTER', 'CLUSTER', 'kafka-cluster');
  const v10ok = await env.conn.request(ApiKey.Metadata, 10, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: false });
  assert.equal(v10ok.clusterAuthorizedOperations, (1 << AclOperation.ALTER) | (1 << AclOperation.DESCRIBE));
});

test('Metadata auto-creation needs CREATE on the cluster or the topic', async () => {
  const md = (name: string) => env.conn.request(ApiKey.Metadata, 12, { topics: [{ topicId: ZERO_UUID, name }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
  env.grant('DESCRIBE', 'TOPIC', 'auto-a');
  const refused = await md('auto-a');
  assert.equal(refused.topics[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal(env.topicExists('auto-a'), false, 'not created');
  env.grant('CREATE', 'TOPIC', 'auto-a');
  assert.equal((await md('auto-a')).topics[0].errorCode, ErrorCode.NONE);
  assert.equal(env.topicExists('auto-a'), true);
  env.grant('DESCRIBE', 'TOPIC', 'auto-b');
  env.grant('CREATE', 'CLUSTER', 'kafka-cluster');
  assert.equal((await md('auto-b')).topics[0].errorCode, ErrorCode.NONE);
  assert.equal(env.topicExists('auto-b'), true);
});

test("the principal checked is the request session's (an in-process call as User:alice)", async () => {
  env.authorizer.grant('User:alice', 'DESCRIBE', 'TOPIC', 'secret');
  const metadata = env.broker.context.registry.list().find((r) => r.apiKey === ApiKey.Metadata)!;
  const ctx: RequestContext = {
    header: { apiKey: ApiKey.Metadata, apiVersion: 12, correlationId: 1, clientId: 'test' }, connectionId: 0, remoteAddress: '127.0.0.1',
    session: { ...internalSession(), principal: { type: 'User', name: 'alice' } }, log: pino({ level: 'silent' }), signal: new AbortController().signal,
  };
  const asAlice = await metadata.handler(ctx, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }) as { topics: { name: string }[] };
  assert.deepEqual(asAlice.topics.map((t) => t.name), ['secret']);
  const anonymous = await env.conn.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.deepEqual(anonymous.topics, [], "alice's grant is not ANONYMOUS's");
});
