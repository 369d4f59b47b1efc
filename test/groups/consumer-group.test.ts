/** KIP-848 consumer groups in the GroupCoordinator: epochs, reconciliation, static members, offsets, the shared namespace. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  GroupCoordinator, ManualClock, MemoryGroupOffsetStore, type ConsumerHeartbeatParams, type ConsumerHeartbeatResult,
} from '../../src/groups/coordinator.js';
import { joinParams } from './helpers.js';

const T1 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const T2 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

async function setup(partitions = 4) {
  const clock = new ManualClock();
  const topics = [{ topicId: T1, name: 't1', partitionCount: partitions }];
  let rebalances = 0;
  const c = await GroupCoordinator.open({
    store: new MemoryGroupOffsetStore(), clock, config: { initialRebalanceDelayMs: 0 },
    consumer: { heartbeatIntervalMs: 1000, sessionTimeoutMs: 10_000 },
    topics: () => topics, onConsumerGroupRebalance: () => { rebalances++; },
  });
  return { c, clock, topics, rebalances: () => rebalances };
}

function hb(p: Partial<ConsumerHeartbeatParams> & { memberEpoch: number }): ConsumerHeartbeatParams {
  return {
    apiVersion: 0, groupId: 'g', memberId: '', instanceId: null, rackId: null, rebalanceTimeoutMs: -1,
    subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null,
    clientId: 'c', clientHost: '/127.0.0.1', ...p,
  };
}

const join = (extra: Partial<ConsumerHeartbeatParams> = {}) => hb({ memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: ['t1'], topicPartitions: [], ...extra });
const parts = (r: ConsumerHeartbeatResult) => (r.assignment?.topicPartitions ?? []).flatMap((t) => t.partitions.map((p) => `${t.topicId === T1 ? 't1' : t.topicId}-${p}`)).sort();
const owned = (r: ConsumerHeartbeatResult) => r.assignment!.topicPartitions;

test('join: the broker makes the member id (v0), epoch 1, the whole topic to the only member', async () => {
  const { c, rebalances } = await setup();
  const r = await c.consumerGroupHeartbeat(join());
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.match(r.memberId!, /^[0-9a-f-]{36}$/);
  assert.equal(r.memberEpoch, 1);
  assert.equal(r.heartbeatIntervalMs, 1000);
  assert.deepEqual(parts(r), ['t1-0', 't1-1', 't1-2', 't1-3']);
  assert.equal(rebalances(), 1);
  const again = await c.consumerGroupHeartbeat(hb({ memberId: r.memberId!, memberEpoch: 1 }));
  assert.equal(again.errorCode, ErrorCode.NONE);
  assert.equal(again.assignment, null, 'no assignment when nothing changed');
  const [d] = await c.consumerGroupDescribe(['g']);
  assert.equal(d!.groupState, 'Stable');
  assert.equal(d!.groupEpoch, 1);
  assert.equal(d!.assignorName, 'uniform');
});

test('reconciliation: a second member gets partitions only after the first revoked them', async () => {
  const { c } = await setup();
  const a = await c.consumerGroupHeartbeat(join());
  const b = await c.consumerGroupHeartbeat(join({ clientId: 'b' }));
  assert.equal(b.memberEpoch, 2);
  assert.deepEqual(parts(b), [], 'nothing free yet: all partitions are still owned by a');
  // a learns of epoch 2: it must revoke two partitions first, its epoch stays 1.
  const a2 = await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: owned(a) }));
  assert.equal(a2.memberEpoch, 1);
  assert.equal(parts(a2).length, 2);
  const [d] = await c.consumerGroupDescribe(['g']);
  assert.equal(d!.groupState, 'Reconciling');
  // b asks again: still unreleased.
  const b2 = await c.consumerGroupHeartbeat(hb({ memberId: b.memberId!, memberEpoch: 2, topicPartitions: [] }));
  assert.equal(b2.assignment, null);
  // a reports it revoked: moves to epoch 2.
  const a3 = await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: owned(a2) }));
  assert.equal(a3.memberEpoch, 2);
  const b3 = await c.consumerGroupHeartbeat(hb({ memberId: b.memberId!, memberEpoch: 2, topicPartitions: [] }));
  assert.equal(parts(b3).length, 2);
  assert.deepEqual([...parts(a2), ...parts(b3)].sort(), ['t1-0', 't1-1', 't1-2', 't1-3']);
  const [d2] = await c.consumerGroupDescribe(['g']);
  assert.equal(d2!.groupState, 'Stable');
});

test('epochs: greater -> FENCED_MEMBER_EPOCH, previous epoch with a subset accepted, unknown member -> UNKNOWN_MEMBER_ID', async () => {
  const { c } = await setup();
  const a = await c.consumerGroupHeartbeat(join());
  assert.equal((await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 5 }))).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.equal((await c.consumerGroupHeartbeat(hb({ memberId: 'nobody', memberEpoch: 1 }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await c.consumerGroupHeartbeat(hb({ groupId: 'other', memberId: 'x', memberEpoch: 3 }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const b = await c.consumerGroupHeartbeat(join());
  const a2 = await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: owned(a) }));
  const a3 = await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: owned(a2) }));
  assert.equal(a3.memberEpoch, 2);
  // The answer with epoch 2 was lost: epoch 1 with a subset of the assignment is still fine.
  const retry = await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: owned(a2) }));
  assert.equal(retry.errorCode, ErrorCode.NONE);
  // An older epoch owning more than its assignment is fenced.
  const stale = await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: owned(a) }));
  assert.equal(stale.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.ok(b.memberId);
});

test('leave (-1) reassigns; session expiry removes a member; topic growth bumps the group epoch', async () => {
  const { c, clock, topics } = await setup();
  const a = await c.consumerGroupHeartbeat(join());
  const b = await c.consumerGroupHeartbeat(join());
  const left = await c.consumerGroupHeartbeat(hb({ memberId: b.memberId!, memberEpoch: -1 }));
  assert.equal(left.memberEpoch, -1);
  const [d] = await c.consumerGroupDescribe(['g']);
  assert.equal(d!.members.length, 1);
  assert.equal(d!.groupEpoch, 3);
  topics[0] = { ...topics[0]!, partitionCount: 6 };
  const a2 = await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1 }));
  assert.equal(a2.memberEpoch, 4);
  assert.equal(parts(a2).length, 6);
  clock.advance(10_001);
  const [d2] = await c.consumerGroupDescribe(['g']);
  assert.equal(d2!.groupState, 'Empty');
});

test('a member that does not revoke within its rebalance timeout is removed', async () => {
  const { c, clock } = await setup();
  const a = await c.consumerGroupHeartbeat(join({ rebalanceTimeoutMs: 2000 }));
  const b = await c.consumerGroupHeartbeat(join());
  await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: owned(a) }));
  clock.advance(2001);
  assert.equal((await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1 }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const b2 = await c.consumerGroupHeartbeat(hb({ memberId: b.memberId!, memberEpoch: 2, topicPartitions: [] }));
  assert.equal(parts(b2).length, 4);
});

test('static member: -2 keeps its assignment, the same instance rejoins with a new id and takes it over; a second live one is refused', async () => {
  const { c } = await setup();
  const a = await c.consumerGroupHeartbeat(join({ instanceId: 'i1' }));
  assert.equal((await c.consumerGroupHeartbeat(join({ instanceId: 'i1' }))).errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
  const left = await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: -2, instanceId: 'i1' }));
  assert.equal(left.memberEpoch, -2);
  const back = await c.consumerGroupHeartbeat(join({ instanceId: 'i1' }));
  assert.equal(back.errorCode, ErrorCode.NONE);
  assert.notEqual(back.memberId, a.memberId);
  assert.equal(back.memberEpoch, 1, 'no rebalance: same epoch');
  assert.deepEqual(parts(back), parts(a));
});

test('request checks: INVALID_REQUEST, UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION, v1 needs a member id', async () => {
  const { c } = await setup();
  assert.equal((await c.consumerGroupHeartbeat(join({ rebalanceTimeoutMs: -7 }))).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal((await c.consumerGroupHeartbeat(join({ topicPartitions: [{ topicId: T1, partitions: [0] }] }))).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal((await c.consumerGroupHeartbeat(hb({ memberEpoch: -7, memberId: 'x' }))).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal((await c.consumerGroupHeartbeat(join({ serverAssignor: 'sticky' }))).errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
  assert.equal((await c.consumerGroupHeartbeat(join({ subscribedTopicNames: null, subscribedTopicRegex: '(unclosed' }))).errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
  assert.equal((await c.consumerGroupHeartbeat(join({ apiVersion: 1 }))).errorCode, ErrorCode.INVALID_REQUEST);
  const v1 = await c.consumerGroupHeartbeat(join({ apiVersion: 1, memberId: 'my-own-uuid', serverAssignor: 'range' }));
  assert.equal(v1.memberId, 'my-own-uuid');
  const [d] = await c.consumerGroupDescribe(['g']);
  assert.equal(d!.assignorName, 'range');
});

test('regex subscriptions match whole topic names; a new matching topic bumps the epoch', async () => {
  const { c, topics } = await setup();
  const a = await c.consumerGroupHeartbeat(join({ subscribedTopicNames: null, subscribedTopicRegex: 't.*' }));
  assert.equal(parts(a).length, 4);
  topics.push({ topicId: T2, name: 'tx', partitionCount: 2 }, { topicId: 'cccccccccccccccccccccccccccccccc', name: 'not-t', partitionCount: 1 });
  const a2 = await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1 }));
  assert.equal(a2.memberEpoch, 2);
  assert.equal(parts(a2).length, 6);
});

test('a deleted topic leaves the target: the member revokes its partitions, then moves to the new epoch', async () => {
  const { c, topics } = await setup();
  const a = await c.consumerGroupHeartbeat(join());
  topics.splice(0, 1);
  const a2 = await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: owned(a) }));
  assert.equal(a2.memberEpoch, 1, 'revoking first');
  assert.deepEqual(parts(a2), []);
  const a3 = await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: [] }));
  assert.equal(a3.memberEpoch, 2);
});

test('a regex only matches topics the member may describe', async () => {
  const { c, topics } = await setup();
  topics.push({ topicId: T2, name: 't-secret', partitionCount: 2 });
  const a = await c.consumerGroupHeartbeat(join({ subscribedTopicNames: null, subscribedTopicRegex: 't.*', mayDescribe: (t) => t !== 't-secret' }));
  assert.deepEqual(parts(a), ['t1-0', 't1-1', 't1-2', 't1-3']);
});

test('one namespace: classic JoinGroup on a live consumer group and vice versa -> INCONSISTENT_GROUP_PROTOCOL; empty groups convert', async () => {
  const { c } = await setup();
  // Empty classic group with offsets (a simple commit) is upgraded, offsets kept.
  await c.commitOffsets({ apiVersion: 9, groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, topics: [{ name: 't1', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: null }] }] });
  const a = await c.consumerGroupHeartbeat(join());
  assert.equal(a.errorCode, ErrorCode.NONE);
  const f = await c.fetchOffsets({ groupId: 'g', topics: [{ name: 't1', partitionIndexes: [0] }], requireStable: false });
  assert.equal(f.topics[0]!.partitions[0]!.committedOffset, 42n);
  const j = await c.joinGroup(joinParams('g'));
  assert.equal(j.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const listed = await c.listGroups({ typesFilter: ['consumer'] });
  assert.deepEqual(listed.groups.map((g) => [g.groupId, g.groupType, g.groupState]), [['g', 'consumer', 'Stable']]);
  assert.deepEqual((await c.listGroups({ typesFilter: ['classic'] })).groups, []);
  assert.equal((await c.describeGroups(['g']))[0]!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.deepEqual(await c.deleteGroups(['g']), [{ groupId: 'g', errorCode: ErrorCode.NON_EMPTY_GROUP }]);
  // Downgrade once empty.
  await c.consumerGroupHeartbeat(hb({ memberId: a.memberId!, memberEpoch: -1 }));
  const j2 = await c.joinGroup({ ...joinParams('g'), apiVersion: 3 });
  assert.equal(j2.errorCode, ErrorCode.NONE);
  const back = await c.consumerGroupHeartbeat(join());
  assert.equal(back.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  c.close();
});

test('OffsetCommit/OffsetFetch of a consumer group check member id and epoch', async () => {
  const { c } = await setup();
  const a = await c.consumerGroupHeartbeat(join());
  const commit = (memberId: string, epoch: number, apiVersion = 9) => c.commitOffsets({
    apiVersion, groupId: 'g', generationId: epoch, memberId, groupInstanceId: null,
    topics: [{ name: 't1', partitions: [{ partitionIndex: 1, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: null }] }],
  }).then((r) => r.topics[0]!.partitions[0]!.errorCode);
  assert.equal(await commit(a.memberId!, 1), ErrorCode.NONE);
  assert.equal(await commit(a.memberId!, 0), ErrorCode.STALE_MEMBER_EPOCH);
  assert.equal(await commit('nobody', 1), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(await commit('', -1), ErrorCode.UNKNOWN_MEMBER_ID, 'a simple commit needs an empty group');
  assert.equal(await commit(a.memberId!, 1, 8), ErrorCode.UNSUPPORTED_VERSION);
  const fetch = (memberId: string | null, memberEpoch: number) => c.fetchOffsets({ groupId: 'g', topics: [{ name: 't1', partitionIndexes: [1] }], requireStable: true, memberId, memberEpoch });
  assert.equal((await fetch(a.memberId!, 1)).topics[0]!.partitions[0]!.committedOffset, 7n);
  assert.equal((await fetch(a.memberId!, 3)).errorCode, ErrorCode.STALE_MEMBER_EPOCH);
  assert.equal((await fetch('nobody', 1)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await fetch(null, -1)).errorCode, ErrorCode.NONE);
  assert.deepEqual(c.groupCounts(), [{ protocol: 'consumer', state: 'Stable', count: 1 }]);
});
