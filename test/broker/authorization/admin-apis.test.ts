/**
 * ACLs of the topic and config administration APIs and DescribeCluster, over the wire against an
 * in-process broker with a TestAuthorizer: refused requests change nothing and answer Kafka's
 * error, before any existence check; granted ones work.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { AclOperation } from '../../../src/security/types.js';
import { startAuthzEnv, type AuthzEnv } from './authz-env.js';

let env: AuthzEnv;

before(async () => {
  env = await startAuthzEnv();
  await env.createTopic('keep');
  await env.createTopic('doomed');
  await env.createTopic('grow');
  await env.createTopic('cfg');
  await env.asSuper(() => env.produce('keep', ['a', 'b', 'c']));
});
after(async () => { await env?.close(); });
beforeEach(() => env.revokeAll());

const createTopic = (name: string) => env.conn.request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });

test('CreateTopics: CREATE on the cluster or the topic; configs in the answer need DESCRIBE_CONFIGS', async () => {
  const refused = (await createTopic('new-a')).topics[0];
  assert.equal(refused.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal(env.topicExists('new-a'), false);

  env.grant('CREATE', 'TOPIC', 'new-a');
  const created = (await createTopic('new-a')).topics[0];
  assert.equal(created.errorCode, ErrorCode.NONE);
  assert.equal(env.topicExists('new-a'), true);
  assert.equal(created.topicConfigErrorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'configs are not for it to see');
  assert.deepEqual(created.configs, []);
  assert.equal(created.numPartitions, -1);

  env.grant('CREATE', 'CLUSTER', 'kafka-cluster');
  env.grant('DESCRIBE_CONFIGS', 'TOPIC', 'new-b');
  const full = (await createTopic('new-b')).topics[0];
  assert.equal(full.errorCode, ErrorCode.NONE);
  assert.equal(full.topicConfigErrorCode, ErrorCode.NONE);
  assert.equal(full.numPartitions, 2);
  assert.ok(full.configs.length > 0);
});

test('DeleteTopics: DELETE on the topic; a refused missing topic is TOPIC_AUTHORIZATION_FAILED, not UNKNOWN_TOPIC', async () => {
  const del = (names: string[]) => env.conn.request(ApiKey.DeleteTopics, 5, { topicNames: names, timeoutMs: 5000 });
  const refused = await del(['doomed', 'nowhere']);
  assert.deepEqual(refused.responses.map((r: { errorCode: number }) => r.errorCode), [ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.TOPIC_AUTHORIZATION_FAILED]);
  assert.equal(env.topicExists('doomed'), true);

  // By id (v6): the name of a topic it may not describe is withheld.
  const id = env.broker.context.topics.byName('doomed')!.topicId;
  const byId = await env.conn.request(ApiKey.DeleteTopics, 6, { topics: [{ name: null, topicId: id }], timeoutMs: 5000 });
  assert.equal(byId.responses[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal(byId.responses[0].name, null);
  env.grant('DESCRIBE', 'TOPIC', 'doomed');
  const described = await env.conn.request(ApiKey.DeleteTopics, 6, { topics: [{ name: null, topicId: id }], timeoutMs: 5000 });
  assert.equal(described.responses[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'DESCRIBE is not DELETE');
  assert.equal(env.topicExists('doomed'), true);

  env.grant('DELETE', 'TOPIC', 'doomed');
  env.grant('DELETE', 'TOPIC', 'nowhere');
  const ok = await del(['doomed', 'nowhere']);
  assert.deepEqual(ok.responses.map((r: { errorCode: number }) => r.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assert.equal(env.topicExists('doomed'), false);
});

test('CreatePartitions: ALTER on the topic', async () => {
  const grow = () => env.conn.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'grow', count: 3, assignments: null }], timeoutMs: 5000, validateOnly: false });
  env.grant('DESCRIBE', 'TOPIC', 'grow');
  assert.equal((await grow()).results[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal(env.broker.context.topics.byName('grow')!.partitionCount, 1);
  env.grant('ALTER', 'TOPIC', 'grow');
  assert.equal((await grow()).results[0].errorCode, ErrorCode.NONE);
  assert.equal(env.broker.context.topics.byName('grow')!.partitionCount, 3);
});

test('DeleteRecords: DELETE on the topic', async () => {
  const trim = () => env.conn.request(ApiKey.DeleteRecords, 2, { topics: [{ name: 'keep', partitions: [{ partitionIndex: 0, offset: 2n }] }], timeoutMs: 5000 });
  env.grant('WRITE', 'TOPIC', 'keep');
  const refused = (await trim()).topics[0].partitions[0];
  assert.equal(refused.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal(refused.lowWatermark, -1n);
  const start = await env.asSuper(async () => (await env.conn.request(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'keep', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }] })).topics[0].partitions[0].offset);
  assert.equal(start, 0n, 'log start unchanged');
  env.grant('DELETE', 'TOPIC', 'keep');
  const ok = (await trim()).topics[0].partitions[0];
  assert.equal(ok.errorCode, ErrorCode.NONE);
  assert.equal(ok.lowWatermark, 2n);
});

test('DescribeConfigs: DESCRIBE_CONFIGS on the topic, or on the cluster for the broker', async () => {
  const describe = () => env.conn.request(ApiKey.DescribeConfigs, 4, {
    resources: [{ resourceType: 2, resourceName: 'cfg', configurationKeys: null }, { resourceType: 2, resourceName: 'nowhere', configurationKeys: null }, { resourceType: 4, resourceName: '1', configurationKeys: null }],
    includeSynonyms: false, includeDocumentation: false,
  });
  const refused = await describe();
  assert.deepEqual(refused.results.map((r: { errorCode: number }) => r.errorCode), [ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED]);
  assert.deepEqual(refused.results[0].configs, []);
  env.grant('ALTER_CONFIGS', 'TOPIC', 'cfg'); // implies DESCRIBE_CONFIGS
  env.grant('DESCRIBE_CONFIGS', 'TOPIC', 'nowhere');
  env.grant('DESCRIBE_CONFIGS', 'CLUSTER', 'kafka-cluster');
  const ok = await describe();
  assert.deepEqual(ok.results.map((r: { errorCode: number }) => r.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NONE]);
  assert.ok(ok.results[0].configs.length > 0);
});

test('AlterConfigs and IncrementalAlterConfigs: ALTER_CONFIGS on the topic, or on the cluster for the broker', async () => {
  const retention = () => env.broker.context.topics.describeConfigs(env.broker.context.topics.byName('cfg')!, ['retention.ms'])[0]!.value;
  const before = retention();
  const incremental = () => env.conn.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'cfg', configs: [{ name: 'retention.ms', configOperation: 0, value: '12345' }] }], validateOnly: false });
  const legacy = () => env.conn.request(ApiKey.AlterConfigs, 2, { resources: [{ resourceType: 2, resourceName: 'cfg', configs: [{ name: 'retention.ms', value: '54321' }] }], validateOnly: false });
  env.grant('DESCRIBE_CONFIGS', 'TOPIC', 'cfg');
  assert.equal((await incremental()).responses[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal((await legacy()).responses[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal(retention(), before, 'unchanged');
  const broker = await env.conn.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 4, resourceName: '1', configs: [{ name: 'num.partitions', configOperation: 0, value: '3' }] }], validateOnly: false });
  assert.equal(broker.responses[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);

  env.grant('ALTER_CONFIGS', 'TOPIC', 'cfg');
  assert.equal((await incremental()).responses[0].errorCode, ErrorCode.NONE);
  assert.equal(retention(), '12345');
  assert.equal((await legacy()).responses[0].errorCode, ErrorCode.NONE);
  assert.equal(retention(), '54321');
});

test('DescribeCluster: no ACL to describe; the authorized operations, when asked, need DESCRIBE on the cluster', async () => {
  const describe = (includeClusterAuthorizedOperations: boolean) => env.conn.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations, endpointType: 1 });
  const plain = await describe(false);
  assert.equal(plain.errorCode, ErrorCode.NONE);
  assert.equal(plain.brokers.length, 1);
  assert.equal(plain.clusterAuthorizedOperations, -2147483648);
  assert.equal((await describe(true)).clusterAuthorizedOperations, 0);
  env.grant('DESCRIBE', 'CLUSTER', 'kafka-cluster');
  env.grant('IDEMPOTENT_WRITE', 'CLUSTER', 'kafka-cluster');
  assert.equal((await describe(true)).clusterAuthorizedOperations, (1 << AclOperation.DESCRIBE) | (1 << AclOperation.IDEMPOTENT_WRITE));
});
