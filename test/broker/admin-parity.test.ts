/**
 * The admin APIs of Kafka parity on a single in-process broker, raw requests over the wire with a
 * TestAuthorizer: DescribeTopicPartitions (agrees with Metadata, pages with a cursor),
 * DescribeLogDirs (the WAL volume, partition sizes), ElectLeaders (nothing to elect with one
 * replica), Alter/ListPartitionReassignments (a single node moves nothing) and every error path,
 * ACLs first.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { startAuthzEnv, type AuthzEnv } from './authorization/authz-env.js';
import { apiHarness } from '../helpers/api-harness.js';
import { ALLOW_ALL } from '../../src/security/types.js';
import { makeElectLeadersHandler, ELECT_LEADERS_VERSIONS } from '../../src/broker/elect-leaders.js';
import type { BrokerContext } from '../../src/broker/context.js';

let env: AuthzEnv;
let self: number;

before(async () => {
  env = await startAuthzEnv();
  self = env.broker.context.self.nodeId;
  await env.createTopic('dtp-a', 3);
  await env.createTopic('dtp-b', 2);
  await env.createTopic('dtp-c', 1);
  await env.asSuper(() => env.produce('dtp-a', ['one', 'two', 'three']));
});
after(async () => { await env?.close(); });
beforeEach(() => env.revokeAll());

const dtp = (body: object) => env.conn.request(ApiKey.DescribeTopicPartitions, 0, body);
const names = (r: any) => r.topics.map((t: any) => t.name);

test('ApiVersions advertises the five admin APIs at the versions served', async () => {
  const r = await env.conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
  const v = new Map(r.apiKeys.map((k: any) => [k.apiKey, [k.minVersion, k.maxVersion]]));
  assert.deepEqual(v.get(ApiKey.DescribeTopicPartitions), [0, 0]);
  assert.deepEqual(v.get(ApiKey.DescribeLogDirs), [0, 4]);
  assert.deepEqual(v.get(ApiKey.ElectLeaders), [0, 2]);
  assert.deepEqual(v.get(ApiKey.AlterPartitionReassignments), [0, 0]);
  assert.deepEqual(v.get(ApiKey.ListPartitionReassignments), [0, 0]);
});

test('DescribeTopicPartitions: named topics in name order, the same partitions as Metadata, unknown ones UNKNOWN_TOPIC_OR_PARTITION', async () => {
  env.grant('DESCRIBE', 'TOPIC', '*');
  const r = await dtp({ topics: [{ name: 'dtp-b' }, { name: 'nope' }, { name: 'dtp-a' }], responsePartitionLimit: 100, cursor: null });
  assert.deepEqual(names(r), ['dtp-a', 'dtp-b', 'nope']);
  assert.equal(r.nextCursor, null);
  const md = await env.conn.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: 'dtp-a' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true });
  const a = r.topics[0];
  assert.equal(a.errorCode, ErrorCode.NONE);
  assert.equal(a.topicId, md.topics[0].topicId);
  assert.equal(a.topicAuthorizedOperations, md.topics[0].topicAuthorizedOperations);
  assert.ok(a.topicAuthorizedOperations > 0);
  assert.deepEqual(a.partitions.map((p: any) => [p.partitionIndex, p.leaderId, p.leaderEpoch, p.replicaNodes, p.isrNodes, p.offlineReplicas]),
    md.topics[0].partitions.map((p: any) => [p.partitionIndex, p.leaderId, p.leaderEpoch, p.replicaNodes, p.isrNodes, p.offlineReplicas]));
  assert.deepEqual(a.partitions.map((p: any) => p.leaderId), [self, self, self]);
  assert.deepEqual(a.partitions[0].eligibleLeaderReplicas, []);
  assert.deepEqual(a.partitions[0].lastKnownElr, []);
  assert.equal(r.topics[2].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.deepEqual(r.topics[2].partitions, []);
});

test('DescribeTopicPartitions: all topics paged by responsePartitionLimit, the cursor resumes where the last page stopped', async () => {
  env.grant('DESCRIBE', 'TOPIC', '*');
  const seen: string[] = [];
  const cursors: unknown[] = [];
  let cursor: any = null;
  for (let page = 0; page < 10; page++) {
    const r = await dtp({ topics: [], responsePartitionLimit: 2, cursor });
    const count = r.topics.reduce((n: number, t: any) => n + t.partitions.length, 0);
    assert.ok(count <= 2, `page ${page} holds ${count} partitions`);
    for (const t of r.topics) for (const p of t.partitions) seen.push(`${t.name}-${p.partitionIndex}`);
    cursor = r.nextCursor;
    cursors.push(cursor);
    if (!cursor) break;
  }
  assert.deepEqual(seen, ['dtp-a-0', 'dtp-a-1', 'dtp-a-2', 'dtp-b-0', 'dtp-b-1', 'dtp-c-0']);
  assert.deepEqual(cursors, [{ topicName: 'dtp-a', partitionIndex: 2 }, { topicName: 'dtp-b', partitionIndex: 1 }, null]);
  // A limit of 0 still makes progress (Kafka: at least one); above 2000 it is capped.
  const one = await dtp({ topics: [], responsePartitionLimit: 0, cursor: null });
  assert.deepEqual(one.nextCursor, { topicName: 'dtp-a', partitionIndex: 1 });
  const big = await dtp({ topics: [], responsePartitionLimit: 1_000_000, cursor: { topicName: 'dtp-b', partitionIndex: 0 } });
  assert.deepEqual(names(big), ['dtp-b', 'dtp-c']);
  assert.equal(big.nextCursor, null);
});

test('DescribeTopicPartitions: a cursor outside the requested topics, or negative, is INVALID_REQUEST', async () => {
  env.grant('DESCRIBE', 'TOPIC', '*');
  const r = await dtp({ topics: [{ name: 'dtp-a' }], responsePartitionLimit: 10, cursor: { topicName: 'dtp-b', partitionIndex: 0 } });
  assert.deepEqual(r.topics.map((t: any) => [t.name, t.errorCode]), [['dtp-a', ErrorCode.INVALID_REQUEST]]);
  const neg = await dtp({ topics: [], responsePartitionLimit: 10, cursor: { topicName: 'dtp-a', partitionIndex: -1 } });
  assert.ok(neg.topics.length > 0 && neg.topics.every((t: any) => t.errorCode === ErrorCode.INVALID_REQUEST && t.partitions.length === 0));
  const named = await dtp({ topics: [{ name: 'dtp-a' }], responsePartitionLimit: 10, cursor: { topicName: 'dtp-a', partitionIndex: -1 } });
  assert.equal(named.topics[0].errorCode, ErrorCode.INVALID_REQUEST);
});

test('DescribeTopicPartitions ACLs: undescribable named topics are TOPIC_AUTHORIZATION_FAILED (existing or not), left out of the full list', async () => {
  const r = await dtp({ topics: [{ name: 'dtp-a' }, { name: 'nope' }], responsePartitionLimit: 10, cursor: null });
  assert.deepEqual(r.topics.map((t: any) => [t.name, t.errorCode, t.topicId]), [
    ['dtp-a', ErrorCode.TOPIC_AUTHORIZATION_FAILED, '0'.repeat(32)], ['nope', ErrorCode.TOPIC_AUTHORIZATION_FAILED, '0'.repeat(32)]]);
  assert.deepEqual(names(await dtp({ topics: [], responsePartitionLimit: 10, cursor: null })), []);
  env.grant('DESCRIBE', 'TOPIC', 'dtp-b');
  assert.deepEqual(names(await dtp({ topics: [], responsePartitionLimit: 10, cursor: null })), ['dtp-b']);
});

test('DescribeLogDirs: DESCRIBE on the cluster; one log dir (the WAL directory) with statfs figures and the bytes of each partition', async () => {
  const refused = await env.conn.request(ApiKey.DescribeLogDirs, 4, { topics: null });
  assert.equal(refused.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  assert.deepEqual(refused.results, []);
  assert.deepEqual((await env.conn.request(ApiKey.DescribeLogDirs, 1, { topics: null })).results, [], 'v0-2 have no error code: an empty answer');

  env.grant('DESCRIBE', 'CLUSTER', 'kafka-cluster');
  const r = await env.conn.request(ApiKey.DescribeLogDirs, 4, { topics: null });
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.results.length, 1);
  const dir = r.results[0];
  assert.equal(dir.errorCode, ErrorCode.NONE);
  assert.equal(dir.logDir, dirname(env.broker.settings.walPath));
  assert.ok(dir.totalBytes > 0n && dir.usableBytes > 0n && dir.usableBytes <= dir.totalBytes, `${dir.usableBytes}/${dir.totalBytes}`);
  const sizes = new Map<string, bigint>(dir.topics.flatMap((t: any) => t.partitions.map((p: any) => [`${t.name}-${p.partitionIndex}`, p.partitionSize])));
  assert.deepEqual([...sizes.keys()].sort(), ['dtp-a-0', 'dtp-a-1', 'dtp-a-2', 'dtp-b-0', 'dtp-b-1', 'dtp-c-0']);
  const st = env.broker.parts.logs.get(env.broker.context.topics.byName('dtp-a')!.topicId, 0)!;
  assert.equal(sizes.get('dtp-a-0'), BigInt(st.log.retainedBytes()));
  assert.ok(sizes.get('dtp-a-0')! > 0n);
  assert.equal(sizes.get('dtp-b-0'), 0n);
  assert.ok(dir.topics.every((t: any) => t.partitions.every((p: any) => p.offsetLag === 0n && p.isFutureKey === false)));

  // A filter: only the named partitions that exist; unknown topics and partitions are left out.
  const f = await env.conn.request(ApiKey.DescribeLogDirs, 4, { topics: [{ topic: 'dtp-b', partitions: [1, 7, -1, 1] }, { topic: 'nope', partitions: [0] }] });
  assert.deepEqual(f.results[0].topics.map((t: any) => [t.name, t.partitions.map((p: any) => p.partitionIndex)]), [['dtp-b', [1]]]);
  const v0 = await env.conn.request(ApiKey.DescribeLogDirs, 0, { topics: [{ topic: 'dtp-a', partitions: [0] }] });
  assert.equal(v0.results[0].topics[0].partitions[0].partitionSize, sizes.get('dtp-a-0'));
});

test('ElectLeaders: ALTER on the cluster; one live replica is ELECTION_NOT_NEEDED; unknown partitions, bad election types', async () => {
  const body = { electionType: 0, topicPartitions: [{ topic: 'dtp-a', partitions: [0, 2, 9] }, { topic: 'nope', partitions: [0] }], timeoutMs: 1000 };
  const refused = await env.conn.request(ApiKey.ElectLeaders, 2, body);
  assert.equal(refused.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  assert.ok(refused.replicaElectionResults.every((t: any) => t.partitionResult.every((p: any) => p.errorCode === ErrorCode.CLUSTER_AUTHORIZATION_FAILED)));
  assert.equal(refused.replicaElectionResults.length, 2);

  env.grant('ALTER', 'CLUSTER', 'kafka-cluster');
  for (const electionType of [0, 1]) {
    const r = await env.conn.request(ApiKey.ElectLeaders, 2, { ...body, electionType });
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual(r.replicaElectionResults.map((t: any) => [t.topic, t.partitionResult.map((p: any) => [p.partitionId, p.errorCode])]), [
      ['dtp-a', [[0, ErrorCode.ELECTION_NOT_NEEDED], [2, ErrorCode.ELECTION_NOT_NEEDED], [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
  }
  const v0 = await env.conn.request(ApiKey.ElectLeaders, 0, { topicPartitions: [{ topic: 'dtp-c', partitions: [0] }], timeoutMs: 1000 });
  assert.equal(v0.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.ELECTION_NOT_NEEDED);
  const all = await env.conn.request(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: null, timeoutMs: 1000 });
  assert.equal(all.errorCode, ErrorCode.NONE);
  assert.deepEqual(all.replicaElectionResults, [], 'every partition is led: nothing needed an election (Kafka leaves those out of an all-partitions answer)');
  const bad = await env.conn.request(ApiKey.ElectLeaders, 2, { ...body, electionType: 7 });
  assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST);
});

test('AlterPartitionReassignments: ALTER on the cluster; a single node moves to itself only; RF 1 is kept; cancel without a move', async () => {
  const leaderBefore = env.broker.context.leadership.leaderOf(env.broker.context.topics.byName('dtp-a')!.topicId, 0);
  const alter = (partitions: object[], topic = 'dtp-a') => env.conn.request(ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 5000, topics: [{ name: topic, partitions }] });
  const refused = await alter([{ partitionIndex: 0, replicas: [self] }]);
  assert.equal(refused.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  assert.equal(refused.responses[0].partitions[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);

  env.grant('ALTER', 'CLUSTER', 'kafka-cluster');
  const r = await alter([
    { partitionIndex: 0, replicas: [self] },
    { partitionIndex: 1, replicas: [self, self + 1] },
    { partitionIndex: 1, replicas: [] },
    { partitionIndex: 2, replicas: [self + 41] },
    { partitionIndex: 2, replicas: null },
    { partitionIndex: 5, replicas: [self] },
  ]);
  assert.equal(r.errorCode, ErrorCode.NONE);
  const out = r.responses[0].partitions.map((p: any) => [p.partitionIndex, p.errorCode]);
  assert.deepEqual(out, [
    [0, ErrorCode.NONE], [1, ErrorCode.INVALID_REPLICA_ASSIGNMENT], [1, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
    [2, ErrorCode.INVALID_REPLICA_ASSIGNMENT], [2, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS], [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  ]);
  assert.match(r.responses[0].partitions[1].errorMessage, /one replica per partition/);
  assert.match(r.responses[0].partitions[3].errorMessage, /not a live broker/);
  const unknown = await alter([{ partitionIndex: 0, replicas: [self] }], 'nope');
  assert.equal(unknown.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.deepEqual(env.broker.context.leadership.leaderOf(env.broker.context.topics.byName('dtp-a')!.topicId, 0), leaderBefore, 'nothing moved');
});

test('ListPartitionReassignments: DESCRIBE on the cluster; a single node has none in progress', async () => {
  const refused = await env.conn.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 1000, topics: null });
  assert.equal(refused.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  env.grant('DESCRIBE', 'CLUSTER', 'kafka-cluster');
  const r = await env.conn.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 1000, topics: [{ name: 'dtp-a', partitionIndexes: [0] }] });
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.deepEqual(r.topics, []);
});

test('ElectLeaders, leader not live: waits for the failover (NONE once a live broker leads), else PREFERRED/ELIGIBLE_LEADERS_NOT_AVAILABLE naming the dead broker', async () => {
  // A cluster's view where broker 2 led partition 0 and is gone; partition 1 has no record yet.
  // (A real dead-but-registered broker needs a SIGKILL and a session timeout: the cluster test covers the live path.)
  const topic = { name: 'orphan', topicId: 'ab'.repeat(16), partitionCount: 2 };
  let liveLeader: number | null = null;
  const h = apiHarness('c', ALLOW_ALL, (b: BrokerContext, add) => {
    Object.assign(b, {
      now: () => Date.now(),
      topics: { list: () => [topic], byName: (n: string) => (n === topic.name ? topic : undefined), byId: () => topic },
      leadership: { ...b.leadership, clustered: true, leaderOf: (_t: string, p: number) => (p === 0 && liveLeader !== null ? { nodeId: liveLeader, epoch: 1 } : null) },
      partitionMoves: { recordedLeader: (_t: string, p: number) => (p === 0 ? 2 : null), move: null, cancel: null, list: null },
    });
    add(ApiKey.ElectLeaders, ELECT_LEADERS_VERSIONS, makeElectLeadersHandler(b));
  });
  const ask = (electionType: number, timeoutMs: number) => h.call(ApiKey.ElectLeaders, 2, { electionType, topicPartitions: [{ topic: 'orphan', partitions: [0, 1] }], timeoutMs });
  const preferred = (await ask(0, 200)).replicaElectionResults[0].partitionResult;
  assert.deepEqual(preferred.map((p: any) => p.errorCode), [ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE]);
  assert.match(preferred[0].errorMessage, /broker 2, is not live/);
  assert.match(preferred[1].errorMessage, /no leader assigned/);
  const unclean = (await ask(1, 0)).replicaElectionResults[0].partitionResult;
  assert.deepEqual(unclean.map((p: any) => p.errorCode), [ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE]);
  // The controller fails partition 0 over to broker 3 while the request waits: elected.
  setTimeout(() => { liveLeader = 3; }, 300);
  const started = Date.now();
  const r = (await ask(1, 2000)).replicaElectionResults[0].partitionResult;
  assert.deepEqual(r.map((p: any) => p.errorCode), [ErrorCode.NONE, ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE]);
  assert.ok(Date.now() - started >= 1900, 'partition 1 kept the request waiting until its timeout');
  // All partitions: the one now led is left out (nothing needed), the leaderless one answered.
  const all = await h.call(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: null, timeoutMs: 0 });
  assert.deepEqual(all.replicaElectionResults.map((t: any) => t.partitionResult.map((p: any) => [p.partitionId, p.errorCode])), [[[1, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE]]]);
});
