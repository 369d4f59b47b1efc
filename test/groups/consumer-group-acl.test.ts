/**
 * ACLs of the KIP-848 APIs over the wire (in-process broker, TestAuthorizer): READ on the group for
 * ConsumerGroupHeartbeat, DESCRIBE on every subscribed topic name, a regex matching only describable
 * topics (consumer-group.test.ts: the v0 wire has no regex); DESCRIBE on the group for ConsumerGroupDescribe, with authorizedOperations on request.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { startAuthzEnv, type AuthzEnv } from '../broker/authorization/authz-env.js';

let env: AuthzEnv;
before(async () => {
  env = await startAuthzEnv();
  await env.createTopic('acl-in', 2);
  await env.createTopic('acl-hidden', 2);
});
after(async () => { await env?.close(); });
beforeEach(() => env.revokeAll());

const join = (groupId: string, names: string[] | null) => env.conn.request(ApiKey.ConsumerGroupHeartbeat, 0, {
  groupId, memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 10_000, subscribedTopicNames: names, topicPartitions: [],
});

test('ConsumerGroupHeartbeat: READ on the group, DESCRIBE on each subscribed topic', async () => {
  assert.equal((await join('cg-acl', ['acl-in'])).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  env.grant('READ', 'GROUP', 'cg-acl');
  const refused = await join('cg-acl', ['acl-in', 'acl-hidden']);
  assert.equal(refused.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  env.grant('DESCRIBE', 'TOPIC', 'acl-in');
  const ok = await join('cg-acl', ['acl-in']);
  assert.equal(ok.errorCode, ErrorCode.NONE, ok.errorMessage);
  assert.equal(ok.assignment.topicPartitions[0].partitions.length, 2);

  // ConsumerGroupDescribe needs DESCRIBE on the group (READ implies it, as in Kafka).
  const denied = await env.conn.request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['cg-other'], includeAuthorizedOperations: true });
  assert.equal(denied.groups[0].errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const d = await env.conn.request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['cg-acl'], includeAuthorizedOperations: true });
  assert.equal(d.groups[0].errorCode, ErrorCode.NONE);
  assert.equal(d.groups[0].members.length, 1);
  assert.ok(d.groups[0].authorizedOperations > 0, 'READ and DESCRIBE bits');
  const without = await env.conn.request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['cg-acl'], includeAuthorizedOperations: false });
  assert.equal(without.groups[0].authorizedOperations, -2147483648);
});

