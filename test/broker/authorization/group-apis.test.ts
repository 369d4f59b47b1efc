/**
 * ACLs of the consumer-group APIs and FindCoordinator, over the wire against an in-process broker
 * with a TestAuthorizer: the group is checked first (GROUP_AUTHORIZATION_FAILED, nothing changes),
 * then each topic (TOPIC_AUTHORIZATION_FAILED per partition, whether the topic exists or not).
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
  await env.createTopic('in', 2);
  await env.createTopic('hidden');
});
after(async () => { await env?.close(); });
beforeEach(() => env.revokeAll());

type Codes = { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
const codes = (topics: Codes) => topics.map((t) => [t.name, t.partitions.map((p) => p.errorCode)]);

const commit = (groupId: string, topics: { name: string; partitions: number[] }[]) => env.conn.request(ApiKey.OffsetCommit, 8, {
  groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n,
  topics: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((partitionIndex) => ({ partitionIndex, committedOffset: 5n, committedLeaderEpoch: -1, committedMetadata: null })) })),
});
const fetchOffsets = (groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null) =>
  env.conn.request(ApiKey.OffsetFetch, 7, { groupId, topics, requireStable: false });
/** The offsets committed, read with every operation granted. */
const committed = (groupId: string, topic: string) => env.asSuper(async () => (await fetchOffsets(groupId, [{ name: topic, partitionIndexes: [0] }])).topics[0].partitions[0].committedOffset);

test('FindCoordinator: DESCRIBE on the group (key type 0) or the transactional id (key type 1)', async () => {
  const v3 = await env.conn.request(ApiKey.FindCoordinator, 3, { key: 'g1', keyType: 0 });
  assert.equal(v3.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  assert.equal(v3.nodeId, -1);
  const v4 = await env.conn.request(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['tx-a', 'tx-b'] });
  assert.deepEqual(v4.coordinators.map((c: { errorCode: number }) => c.errorCode), [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
  env.grant('READ', 'GROUP', 'g1');
  env.grant('WRITE', 'TRANSACTIONAL_ID', 'tx-b');
  assert.equal((await env.conn.request(ApiKey.FindCoordinator, 3, { key: 'g1', keyType: 0 })).errorCode, ErrorCode.NONE);
  const ok = await env.conn.request(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['tx-a', 'tx-b'] });
  assert.deepEqual(ok.coordinators.map((c: { errorCode: number }) => c.errorCode), [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.NONE]);
});

test('JoinGroup, SyncGroup, Heartbeat, LeaveGroup: READ on the group', async () => {
  const join = (memberId: string) => env.conn.request(ApiKey.JoinGroup, 5, {
    groupId: 'members', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null,
    protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
  });
  const refused = await join('');
  assert.equal(refused.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  assert.equal(refused.memberId, '');
  assert.equal((await env.conn.request(ApiKey.SyncGroup, 3, { groupId: 'members', generationId: 1, memberId: 'm', groupInstanceId: null, assignments: [] })).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  assert.equal((await env.conn.request(ApiKey.Heartbeat, 3, { groupId: 'members', generationId: 1, memberId: 'm', groupInstanceId: null })).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  assert.equal((await env.conn.request(ApiKey.LeaveGroup, 3, { groupId: 'members', members: [{ memberId: 'm', groupInstanceId: null }] })).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const listed = await env.asSuper(() => env.conn.request(ApiKey.ListGroups, 4, { statesFilter: [] }));
  assert.equal(listed.groups.some((g: { groupId: string }) => g.groupId === 'members'), false, 'the refused join made no group');

  env.grant('DESCRIBE', 'GROUP', 'members');
  assert.equal((await join('')).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED, 'DESCRIBE is not READ');
  env.grant('READ', 'GROUP', 'members');
  const first = await join('');
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const joined = await join(first.memberId);
  assert.equal(joined.errorCode, ErrorCode.NONE);
  const sync = await env.conn.request(ApiKey.SyncGroup, 3, { groupId: 'members', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, assignments: [] });
  assert.equal(sync.errorCode, ErrorCode.NONE);
  assert.equal((await env.conn.request(ApiKey.Heartbeat, 3, { groupId: 'members', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null })).errorCode, ErrorCode.NONE);
  const left = await env.conn.request(ApiKey.LeaveGroup, 3, { groupId: 'members', members: [{ memberId: joined.memberId, groupInstanceId: null }] });
  assert.equal(left.errorCode, ErrorCode.NONE);
});

test('OffsetCommit: READ on the group, then READ on each topic (a missing one refused alike)', async () => {
  const refused = await commit('c1', [{ name: 'in', partitions: [0, 1] }]);
  assert.deepEqual(codes(refused.topics), [['in', [ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.GROUP_AUTHORIZATION_FAILED]]]);
  assert.equal(await committed('c1', 'in'), -1n);

  env.grant('READ', 'GROUP', 'c1');
  env.grant('DESCRIBE', 'TOPIC', 'hidden');
  env.grant('READ', 'TOPIC', 'gone');
  const mixed = await commit('c1', [{ name: 'in', partitions: [0] }, { name: 'hidden', partitions: [0] }, { name: 'nowhere', partitions: [0] }, { name: 'gone', partitions: [0] }]);
  assert.deepEqual(codes(mixed.topics), [
    ['in', [ErrorCode.TOPIC_AUTHORIZATION_FAILED]], ['hidden', [ErrorCode.TOPIC_AUTHORIZATION_FAILED]],
    ['nowhere', [ErrorCode.TOPIC_AUTHORIZATION_FAILED]], ['gone', [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
  ]);
  assert.equal(await committed('c1', 'in'), -1n);

  env.grant('READ', 'TOPIC', 'in');
  const ok = await commit('c1', [{ name: 'in', partitions: [0, 1] }, { name: 'hidden', partitions: [0] }]);
  assert.deepEqual(codes(ok.topics), [['in', [ErrorCode.NONE, ErrorCode.NONE]], ['hidden', [ErrorCode.TOPIC_AUTHORIZATION_FAILED]]]);
  assert.equal(await committed('c1', 'in'), 5n);
  assert.equal(await committed('c1', 'hidden'), -1n);
});

test('OffsetFetch: DESCRIBE on the group, then on each topic; "all topics" leaves the refused ones out (v7 and v8)', async () => {
  await env.asSuper(() => commit('f1', [{ name: 'in', partitions: [0] }, { name: 'hidden', partitions: [0] }]));
  const refused = await fetchOffsets('f1', [{ name: 'in', partitionIndexes: [0] }]);
  assert.equal(refused.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  assert.deepEqual(refused.topics, []);
  const v1 = await env.conn.request(ApiKey.OffsetFetch, 1, { groupId: 'f1', topics: [{ name: 'in', partitionIndexes: [0] }] });
  assert.deepEqual(codes(v1.topics), [['in', [ErrorCode.GROUP_AUTHORIZATION_FAILED]]], 'v0-1 carry the error per partition');

  env.grant('DESCRIBE', 'GROUP', 'f1');
  env.grant('DESCRIBE', 'TOPIC', 'in');
  const named = await fetchOffsets('f1', [{ name: 'in', partitionIndexes: [0] }, { name: 'hidden', partitionIndexes: [0] }]);
  assert.equal(named.errorCode, ErrorCode.NONE);
  assert.deepEqual(named.topics.map((t: { name: string; partitions: { committedOffset: bigint; errorCode: number }[] }) => [t.name, t.partitions[0].committedOffset, t.partitions[0].errorCode]),
    [['in', 5n, ErrorCode.NONE], ['hidden', -1n, ErrorCode.TOPIC_AUTHORIZATION_FAILED]]);
  const all = await fetchOffsets('f1', null);
  assert.deepEqual(all.topics.map((t: { name: string }) => t.name), ['in']);

  const v8 = await env.conn.request(ApiKey.OffsetFetch, 8, {
    groups: [{ groupId: 'f1', topics: null }, { groupId: 'f2', topics: [{ name: 'in', partitionIndexes: [0] }] }], requireStable: false,
  });
  assert.deepEqual(v8.groups.map((g: { groupId: string; errorCode: number; topics: { name: string }[] }) => [g.groupId, g.errorCode, g.topics.map((t) => t.name)]),
    [['f1', ErrorCode.NONE, ['in']], ['f2', ErrorCode.GROUP_AUTHORIZATION_FAILED, []]]);
});

test('DescribeGroups, ListGroups: DESCRIBE on the group (or the cluster, to list them all); authorized operations when asked', async () => {
  await env.asSuper(async () => { await commit('d1', [{ name: 'in', partitions: [0] }]); await commit('d2', [{ name: 'in', partitions: [0] }]); });
  const list = async () => (await env.conn.request(ApiKey.ListGroups, 4, { statesFilter: [] })).groups.map((g: { groupId: string }) => g.groupId).sort();
  assert.deepEqual(await list(), []);
  env.grant('READ', 'GROUP', 'd1');
  assert.deepEqual(await list(), ['d1']);
  env.grant('DESCRIBE', 'CLUSTER', 'kafka-cluster');
  assert.ok((await list()).includes('d2'));

  const described = await env.conn.request(ApiKey.DescribeGroups, 5, { groups: ['d1', 'd2'], includeAuthorizedOperations: true });
  assert.deepEqual(described.groups.map((g: { groupId: string; errorCode: number }) => [g.groupId, g.errorCode]), [['d1', ErrorCode.NONE], ['d2', ErrorCode.GROUP_AUTHORIZATION_FAILED]]);
  assert.equal(described.groups[0].authorizedOperations, (1 << AclOperation.READ) | (1 << AclOperation.DESCRIBE));
  assert.equal(described.groups[1].authorizedOperations, -2147483648);
  const unasked = await env.conn.request(ApiKey.DescribeGroups, 5, { groups: ['d1'], includeAuthorizedOperations: false });
  assert.equal(unasked.groups[0].authorizedOperations, -2147483648);
});

test('DeleteGroups: DELETE on the group', async () => {
  await env.asSuper(() => commit('x1', [{ name: 'in', partitions: [0] }]));
  env.grant('READ', 'GROUP', 'x1');
  const refused = await env.conn.request(ApiKey.DeleteGroups, 2, { groupsNames: ['x1', 'nogroup'] });
  assert.deepEqual(refused.results.map((r: { groupId: string; errorCode: number }) => [r.groupId, r.errorCode]),
    [['x1', ErrorCode.GROUP_AUTHORIZATION_FAILED], ['nogroup', ErrorCode.GROUP_AUTHORIZATION_FAILED]]);
  assert.equal(await committed('x1', 'in'), 5n, 'not deleted');
  env.grant('DELETE', 'GROUP', 'x1');
  const ok = await env.conn.request(ApiKey.DeleteGroups, 2, { groupsNames: ['x1'] });
  assert.deepEqual(ok.results.map((r: { errorCode: number }) => r.errorCode), [ErrorCode.NONE]);
  assert.equal(await committed('x1', 'in'), -1n);
});

test('OffsetDelete: DELETE on the group, READ on each topic', async () => {
  await env.asSuper(() => commit('o1', [{ name: 'in', partitions: [0] }, { name: 'hidden', partitions: [0] }]));
  const del = () => env.conn.request(ApiKey.OffsetDelete, 0, { groupId: 'o1', topics: [{ name: 'in', partitions: [{ partitionIndex: 0 }] }, { name: 'hidden', partitions: [{ partitionIndex: 0 }] }] });
  env.grant('READ', 'GROUP', 'o1');
  env.grant('READ', 'TOPIC', 'in');
  const refused = await del();
  assert.equal(refused.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
  assert.equal(await committed('o1', 'in'), 5n);
  env.grant('DELETE', 'GROUP', 'o1');
  const ok = await del();
  assert.equal(ok.errorCode, ErrorCode.NONE);
  assert.deepEqual(codes(ok.topics), [['in', [ErrorCode.NONE]], ['hidden', [ErrorCode.TOPIC_AUTHORIZATION_FAILED]]]);
  assert.equal(await committed('o1', 'in'), -1n);
  assert.equal(await committed('o1', 'hidden'), 5n, 'the refused topic keeps its offset');
});
