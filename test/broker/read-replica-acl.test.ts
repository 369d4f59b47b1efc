/**
 * FerryRemoteFetch over the wire on a real (in-process) broker with ACLs on: a principal without
 * CLUSTER_ACTION on the cluster is refused the whole request (CLUSTER_AUTHORIZATION_FAILED); a
 * super user (as the inter-broker principal is) gets the partition's answer; the API is served
 * but not advertised.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { startBroker } from './in-process-broker.js';

function remoteFetch(topicId: string, currentLeaderEpoch = -1) {
  return {
    replicaId: 2, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
    topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch, fetchOffset: 0n, partitionMaxBytes: 1 << 20, tailFrom: -1n, uploadedOnly: false }] }],
  };
}

test('FerryRemoteFetch needs CLUSTER_ACTION on the cluster when ACLs are on', async () => {
  const env = await startBroker({ 'authorizer.class.name': 'ferry' });
  try {
    const conn = await RawKafkaConnection.connect(env.bootstrap);
    try {
      const versions = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
      assert.ok(!versions.apiKeys.some((k: any) => k.apiKey === ApiKey.FerryRemoteFetch), 'not advertised');
      const r = await conn.request(ApiKey.FerryRemoteFetch, 0, remoteFetch('0123456789abcdef0123456789abcdef'));
      assert.equal(r.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      assert.deepEqual(r.responses, []);
    } finally { conn.close(); }
  } finally { await env.cleanup(); }
});

test('FerryRemoteFetch from a principal with CLUSTER_ACTION: the partition\'s state and its data; a newer epoch than the leader\'s is UNKNOWN_LEADER_EPOCH', async () => {
  const env = await startBroker({ 'authorizer.class.name': 'ferry', 'super.users': 'User:ANONYMOUS' });
  try {
    const conn = await RawKafkaConnection.connect(env.bootstrap);
    try {
      const created = await conn.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'rr-acl', numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
      assert.equal(created.topics[0].errorCode, 0);
      const topicId = env.broker.context.topics.byName('rr-acl')!.topicId;
      const r = await conn.request(ApiKey.FerryRemoteFetch, 0, remoteFetch(topicId));
      assert.equal(r.errorCode, 0);
      const p = r.responses[0].partitions[0];
      assert.equal(p.errorCode, 0);
      assert.equal(p.highWatermark, 0n);
      assert.equal(p.serveTo, 0n);
      const epoch = env.broker.context.logs.get(topicId, 0)!.log.leaderEpoch;
      const ahead = await conn.request(ApiKey.FerryRemoteFetch, 0, remoteFetch(topicId, epoch + 1));
      assert.equal(ahead.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    } finally { conn.close(); }
  } finally { await env.cleanup(); }
});
